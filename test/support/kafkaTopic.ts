/**
 * Reads back what the Kafka sink wrote: a real consumer (@platformatic/kafka,
 * mTLS with the test broker's client certificate) from the earliest offset,
 * every message's value decoded as an OTLP ExportTraceServiceRequest with the
 * official .proto files (otlpProto.ts).
 */
import { Consumer, MessagesStreamModes, type Message } from '@platformatic/kafka';
import type { KafkaBroker } from './kafkaBroker.ts';
import { decodeExportTraceRequest, type DecodedSpan } from './otlpProto.ts';

export interface TopicMessage {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly spans: DecodedSpan[];
}

/** One span with the message that carried it. */
export interface TopicSpan {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly span: DecodedSpan;
}

/**
 * Every message of the topic, up to the end offsets it has when called,
 * and on until at least `minSpans` spans have come (for a writer still
 * finishing). Rejects after `timeoutMs`, saying what was missing.
 */
export async function readTopic(broker: KafkaBroker, topic: string, minSpans = 0, timeoutMs = 30_000): Promise<TopicMessage[]> {
  const consumer = new Consumer({
    clientId: 'hydrophone-test-consumer',
    groupId: `hydrophone-test-${topic}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    bootstrapBrokers: [broker.bootstrap],
    tls: { ca: broker.caPem, cert: broker.clientCertPem, key: broker.clientKeyPem },
  });
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const behind = new Map<number, bigint>();
    ends.forEach((end, partition) => { if (end > 0n) behind.set(partition, end); });
    const out: TopicMessage[] = [];
    let spans = 0;
    if (behind.size === 0 && minSpans === 0) return out;
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${topic}: after ${timeoutMs} ms, ${spans} spans of at least ${minSpans} read, partitions ${[...behind.keys()].join(', ') || 'none'} not read to their end`)), timeoutMs);
        stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of m.headers) headers[k.toString()] = v.toString();
          const decoded = decodeExportTraceRequest(m.value);
          spans += decoded.length;
          out.push({ partition: m.partition, offset: m.offset, key: m.key.toString(), headers, spans: decoded });
          if (m.offset + 1n >= (behind.get(m.partition) ?? 0n)) behind.delete(m.partition);
          if (behind.size === 0 && spans >= minSpans) {
            clearTimeout(timer);
            resolve();
          }
        });
        stream.once('error', (e: Error) => {
          clearTimeout(timer);
          reject(e);
        });
      });
    } finally {
      await stream.close();
    }
    return out;
  } finally {
    await consumer.close(true);
  }
}

/** readTopic, one entry per span. */
export async function readTopicSpans(broker: KafkaBroker, topic: string, minSpans = 0, timeoutMs = 30_000): Promise<TopicSpan[]> {
  const messages = await readTopic(broker, topic, minSpans, timeoutMs);
  return messages.flatMap((m) => m.spans.map((span) => ({ partition: m.partition, offset: m.offset, key: m.key, headers: m.headers, span })));
}
