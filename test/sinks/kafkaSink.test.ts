/**
 * The Kafka sink (QueuedSink + KafkaExporter) against a real Apache Kafka 4
 * broker over mTLS (test/support/kafkaBroker.ts), read back by a real
 * consumer and decoded with the official OTLP .proto files
 * (test/support/otlpProto.ts), not with the serializer that encoded them.
 * Skipped, with the reason printed, when the broker's jars or the .proto
 * files are not fetched (sh scripts/bootstrap.sh --test-peers does both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatibilityPartitioner } from '@platformatic/kafka';
import { kafkaUnavailableReason, startKafkaBroker, type KafkaBroker } from '../support/kafkaBroker.ts';
import { otlpProtoUnavailableReason, type DecodedSpan } from '../support/otlpProto.ts';
import { readTopic, type TopicMessage } from '../support/kafkaTopic.ts';
import { KafkaExporter, type KafkaProducerTuning } from '../../src/sinks/kafka/kafkaExporter.ts';
import { parseBrokerAddress, type BrokerAddress, type KafkaConnection } from '../../src/sinks/kafka/kafkaConfig.ts';
import { QueuedSink, DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../../src/sinks/queuedSink.ts';
import { SENSOR_NAME, SENSOR_VERSION } from '../../src/sensorIdentity.ts';
import type { Span } from '../../src/spans/span.ts';

const skipReason = kafkaUnavailableReason() ?? otlpProtoUnavailableReason();

/** Short waits everywhere: the broker is local, and the machine is shared. */
const TUNING: Partial<KafkaProducerTuning> = { retryDelayMs: 50, retryDelayMaxMs: 300, requestTimeoutMs: 3_000, connectTimeoutMs: 1_000, probeTimeoutMs: 1_000 };
const LIMITS: QueueLimits = {
  ...DEFAULT_QUEUE_LIMITS,
  maxQueuedSpans: 20_000,
  maxBatchSpans: 40,
  batchTimeoutMs: 20,
  // Longer than the broker's restart in the outage test: within one send the producer
  // retries with the same producer id, so the broker drops what it already has.
  sendTimeoutMs: 15_000,
  retryInitialMs: 50,
  retryMultiplier: 1.5,
  retryMaxMs: 300,
  retryMaxElapsedMs: 120_000,
  dropLogIntervalMs: 600_000,
};
const SENSOR_ID = 'node-a.test';

// ---- spans: several workloads, traces of 1 to 4 spans, realistic attributes ----

const WORKLOADS = ['checkout', 'cart', 'payments'].map((name, i) => ({
  'service.name': name,
  'k8s.namespace.name': 'shop',
  'k8s.pod.name': `${name}-7d9f8c6b5-x${i}q2z`,
  'k8s.node.name': 'node-a',
  'host.name': 'node-a',
}));

let traceCounter = 0;
/** `traces` traces of 1, 2, 3, 4, 1, ... spans (a client span and its server children), ids unique in the run. */
function makeTraces(traces: number): Span[] {
  const spans: Span[] = [];
  for (let t = 0; t < traces; t++) {
    const traceNo = ++traceCounter;
    const traceId = `4bf92f3577b34da6${traceNo.toString(16).padStart(16, '0')}`;
    const n = 1 + (t % 4);
    const start = 1_700_000_000_000_000_000n + BigInt(traceNo) * 1_000_000n;
    let root = '';
    for (let k = 0; k < n; k++) {
      const spanId = `${(traceNo * 8 + k).toString(16).padStart(12, '0')}a0b0`;
      spans.push({
        traceId,
        spanId,
        parentSpanId: root,
        name: k === 0 ? 'GET /api/cart/{id}' : `POST /internal/step${k}`,
        kind: k === 0 ? 3 : 2,
        startTimeUnixNano: start + BigInt(k) * 1_000n,
        endTimeUnixNano: start + BigInt(k) * 1_000n + 734_211n,
        attributes: {
          'http.request.method': k === 0 ? 'GET' : 'POST',
          'url.path': `/api/cart/${traceNo}`,
          'http.response.status_code': k === 2 ? 503 : 200,
          'server.address': '10.42.0.17',
          'server.port': 8080,
          'network.protocol.version': '1.1',
          'hydrophone.tls': k % 2 === 1,
          'hydrophone.latency_ratio': 0.25 + k,
        },
        status: k === 2 ? { code: 2, message: 'upstream unavailable' } : { code: 0 },
        resource: WORKLOADS[(traceNo + k) % WORKLOADS.length]!,
      });
      if (k === 0) root = spanId;
    }
  }
  return spans;
}

/** What the decoded OTLP must say about a span we sent. */
function expectedDecoded(s: Span): DecodedSpan {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano.toString(),
    endTimeUnixNano: s.endTimeUnixNano.toString(),
    attributes: { ...s.attributes },
    status: s.status.message === undefined ? { code: s.status.code } : { code: s.status.code, message: s.status.message },
    resource: { ...s.resource },
    scope: { name: SENSOR_NAME, version: SENSOR_VERSION },
  };
}

const until = async (what: string, cond: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(skipReason)('the Kafka sink against a real broker', () => {
  let broker: KafkaBroker;
  let brokers: BrokerAddress[];
  beforeAll(async () => {
    broker = await startKafkaBroker();
    brokers = [parseBrokerAddress(broker.bootstrap) as BrokerAddress];
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const mtls = (topic: string, over: Partial<KafkaConnection> = {}): KafkaConnection => ({
    brokers,
    topic,
    tls: { ca: broker.caPem, cert: broker.clientCertPem, key: broker.clientKeyPem },
    compression: 'gzip',
    sensorId: SENSOR_ID,
    sources: { ca: 'kafka.caFile /test/ca.pem', cert: 'kafka.certFile /test/client.pem' },
    ...over,
  });

  /** How many times each span id arrived. */
  const arrivals = (messages: readonly TopicMessage[]) => {
    const n = new Map<string, number>();
    for (const m of messages) for (const s of m.spans) n.set(s.spanId, (n.get(s.spanId) ?? 0) + 1);
    return n;
  };

  it('delivers every span as OTLP, one message per trace keyed by its trace id', async () => {
    const topic = 'spans-delivery';
    await broker.createTopic(topic, 3);
    // Traces of 1, 2, 3, 4 spans repeat every 10 spans, so a batch of 37 always ends inside a trace.
    const sink = new QueuedSink(new KafkaExporter(mtls(topic), TUNING), { ...LIMITS, maxBatchSpans: 37 }, () => {});
    const sent = makeTraces(120);
    for (let i = 0; i < sent.length; i += 50) sink.write(sent.slice(i, i + 50));
    await sink.close(20_000);
    expect(sink.stats()).toMatchObject({ received: sent.length, sent: sent.length, dropped: { queueFull: 0, rejected: 0, expired: 0, shutdown: 0 } });

    const messages = await readTopic(broker, topic);
    const decoded = messages.flatMap((m) => m.spans);
    // Exactly the spans sent, each once, every field as the OTLP protos decode it.
    expect(decoded.length).toBe(sent.length);
    const bySpanId = new Map(decoded.map((s) => [s.spanId, s]));
    for (const s of sent) expect(bySpanId.get(s.spanId), s.spanId).toEqual(expectedDecoded(s));

    const partitionOfTrace = new Map<string, number>();
    for (const m of messages) {
      expect(m.headers).toEqual({
        'content-type': 'application/x-protobuf',
        'otlp-schema': 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
        'schema-version': '1',
        'sensor-id': SENSOR_ID,
      });
      // One trace per message, and the key is its id.
      expect(new Set(m.spans.map((s) => s.traceId))).toEqual(new Set([m.key]));
      // A trace split over two batches is two messages: both on one partition,
      // the one Java's partitioner picks for the key.
      expect(partitionOfTrace.get(m.key) ?? m.partition).toBe(m.partition);
      partitionOfTrace.set(m.key, m.partition);
      expect(compatibilityPartitioner({ topic, value: Buffer.alloc(0) }, Buffer.from(m.key)) % 3).toBe(m.partition);
    }
    expect(partitionOfTrace.size).toBe(new Set(sent.map((s) => s.traceId)).size);
    // Some traces did straddle two batches, so the check above had something to check.
    expect(messages.length).toBeGreaterThan(partitionOfTrace.size);
    // The keys spread over the partitions (120 traces on 3 partitions: all get some).
    expect(new Set(messages.map((m) => m.partition)).size).toBe(3);
  });

  it('delivers over SASL/SCRAM on TLS', async () => {
    const topic = 'spans-scram';
    await broker.createTopic(topic, 1);
    const exporter = new KafkaExporter(mtls(topic, {
      brokers: [parseBrokerAddress(broker.saslBootstrap) as BrokerAddress],
      tls: { ca: broker.caPem },
      sasl: broker.scram,
      sources: { ca: 'kafka.caFile /test/ca.pem' },
    }), TUNING);
    try {
      const spans = makeTraces(3);
      expect(await exporter.send(spans, Date.now() + 10_000)).toEqual({ kind: 'sent' });
      expect((await readTopic(broker, topic)).flatMap((m) => m.spans.map((s) => s.spanId)).sort()).toEqual(spans.map((s) => s.spanId).sort());
    } finally {
      await exporter.close();
    }
  });

  it('says a client certificate from another CA was refused, and keeps running', async () => {
    const topic = 'spans-foreign';
    await broker.createTopic(topic, 1);
    const exporter = new KafkaExporter(mtls(topic, { tls: { ca: broker.caPem, cert: broker.foreignClient.certPem, key: broker.foreignClient.keyPem } }), TUNING);
    const logged: string[] = [];
    const sink = new QueuedSink(exporter, LIMITS, (line) => logged.push(line));
    // Java refuses a chain it cannot build with certificate_unknown; TLS 1.3 delivers it after our handshake.
    const refused = /^TLS: the broker refused our client certificate from kafka\.certFile \/test\/client\.pem \(127\.0\.0\.1:\d+ refused our client certificate \(TLS alert (certificate_unknown|bad_certificate|unknown_ca)\): .*\): have it issued by a CA in the broker's ssl\.truststore, or add its CA there$/;
    expect(await exporter.checkBroker()).toMatch(refused);
    const spans = makeTraces(5);
    sink.write(spans);
    await until('the batch is refused', () => sink.stats().dropped.rejected === spans.length);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^kafka: the backend refused \d+ spans for good: TLS: the broker refused our client certificate/);
    // The sink still takes spans (and refuses them the same way): nothing crashed.
    sink.write(makeTraces(2));
    await until('the second batch is refused', () => sink.stats().queuedSpans === 0);
    await sink.close(5_000);
    expect(sink.stats().sent).toBe(0);
  });

  it('takes a new client certificate without a restart (rotation)', async () => {
    const topic = 'spans-rotation';
    await broker.createTopic(topic, 1);
    const exporter = new KafkaExporter(mtls(topic, { tls: { ca: broker.caPem, cert: broker.foreignClient.certPem, key: broker.foreignClient.keyPem } }), TUNING);
    try {
      expect(await exporter.send(makeTraces(1), Date.now() + 10_000)).toMatchObject({ kind: 'permanent', reason: expect.stringMatching(/refused our client certificate/) });
      exporter.useConnection(mtls(topic));
      const spans = makeTraces(2);
      expect(await exporter.send(spans, Date.now() + 10_000)).toEqual({ kind: 'sent' });
      expect((await readTopic(broker, topic)).flatMap((m) => m.spans.map((s) => s.spanId)).sort()).toEqual(spans.map((s) => s.spanId).sort());
    } finally {
      await exporter.close();
    }
  });

  it('reports a wrong SCRAM password as an authentication failure', async () => {
    const exporter = new KafkaExporter(mtls('spans-scram', {
      brokers: [parseBrokerAddress(broker.saslBootstrap) as BrokerAddress],
      tls: { ca: broker.caPem },
      sasl: { ...broker.scram, password: 'not-the-password' },
    }), TUNING);
    try {
      const outcome = await exporter.send(makeTraces(2), Date.now() + 10_000);
      // The broker's own words come along in parentheses.
      expect(outcome).toEqual({
        kind: 'permanent',
        reason: `authentication failed: the broker refused the SCRAM-SHA-512 login of user "${broker.scram.username}" (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512): check kafka.sasl.username and the password in kafka.sasl.passwordFile, and that the user exists for this mechanism on the broker`,
      });
    } finally {
      await exporter.close();
    }
  });

  it('says when the topic does not exist', async () => {
    const exporter = new KafkaExporter(mtls('no-such-topic'), TUNING);
    try {
      expect(await exporter.send(makeTraces(1), Date.now() + 10_000)).toEqual({
        kind: 'permanent',
        reason: 'topic "no-such-topic" does not exist on the cluster: create it, or fix kafka.topic (the sensor does not create topics)',
      });
    } finally {
      await exporter.close();
    }
  });

  /** Writes `traces` traces every `everyMs` until `stop()` is called; returns every span written. */
  function steadyWriter(sink: QueuedSink, traces: number, everyMs: number) {
    const written: Span[] = [];
    const timer = setInterval(() => {
      const spans = makeTraces(traces);
      written.push(...spans);
      sink.write(spans);
    }, everyMs);
    return { written, stop: () => clearInterval(timer) };
  }

  it('loses nothing and duplicates nothing when the broker stops while spans flow and comes back', async () => {
    const topic = 'spans-outage';
    await broker.createTopic(topic, 3);
    const sink = new QueuedSink(new KafkaExporter(mtls(topic), TUNING), LIMITS, () => {});
    const writer = steadyWriter(sink, 10, 20);
    try {
      await until('spans flow', () => sink.stats().sent > 200);
      await broker.halt();
      const sentAtHalt = sink.stats().sent;
      await new Promise((r) => setTimeout(r, 1_000));
      // Nothing went out while the broker was away; the spans waited in the queue.
      expect(sink.stats().sent).toBe(sentAtHalt);
      expect(sink.stats().queuedSpans).toBeGreaterThan(200);
      await broker.start();
      await until('spans flow again', () => sink.stats().sent > sentAtHalt + 200);
    } finally {
      writer.stop();
    }
    await sink.close(30_000);
    const stats = sink.stats();
    expect(stats).toMatchObject({ received: writer.written.length, sent: writer.written.length, dropped: { queueFull: 0, rejected: 0, expired: 0, shutdown: 0 } });
    const seen = arrivals(await readTopic(broker, topic));
    expect([...seen.values()].filter((n) => n > 1), 'spans that arrived twice').toEqual([]);
    expect(writer.written.filter((s) => !seen.has(s.spanId)).length, 'spans missing').toBe(0);
    expect(seen.size).toBe(writer.written.length);
  });

  it('counts as dropped exactly the spans missing after an outage longer than the queue holds', async () => {
    const topic = 'spans-overflow';
    await broker.createTopic(topic, 3);
    const limits = { ...LIMITS, maxQueuedSpans: 200, maxBatchSpans: 50 };
    const sink = new QueuedSink(new KafkaExporter(mtls(topic), TUNING), limits, () => {});
    const writer = steadyWriter(sink, 10, 20);
    try {
      await until('spans flow', () => sink.stats().sent > 100);
      await broker.halt();
      // ~10 spans every 20 ms for 1.5 s: far more than the 200 the queue holds.
      await until('the queue overflows', () => sink.stats().dropped.queueFull > 300);
      await broker.start();
      const sentAfterRestart = sink.stats().sent;
      await until('spans flow again', () => sink.stats().sent > sentAfterRestart + 100);
    } finally {
      writer.stop();
    }
    await sink.close(30_000);
    const stats = sink.stats();
    expect(stats.dropped).toMatchObject({ rejected: 0, expired: 0, shutdown: 0 });
    expect(stats.sent + stats.dropped.queueFull).toBe(writer.written.length);
    const seen = arrivals(await readTopic(broker, topic));
    expect([...seen.values()].filter((n) => n > 1), 'spans that arrived twice').toEqual([]);
    const missing = writer.written.filter((s) => !seen.has(s.spanId)).length;
    expect(missing).toBe(stats.dropped.queueFull);
    expect(seen.size).toBe(stats.sent);
  });
});
