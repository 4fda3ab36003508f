/**
 * The Kafka sink against a real Apache Kafka 4 broker on this host
 * (test/support/kafkaBroker.ts: mTLS, acks=all, idempotent, as in
 * production):
 *
 *   1. throughput: N synthetic spans (test/support/syntheticSpans.ts, the
 *      shape and size the pipeline builds) through QueuedSink +
 *      KafkaExporter as fast as the broker takes them: spans/s of wall time
 *      and per second of this process's CPU (the "per core" figure; the
 *      broker's JVM runs on the other core), peak RSS, and how much of the
 *      CPU the OTLP encoding alone takes.
 *   2. stall (with --stall-s S > 0): the broker is stopped for S seconds
 *      while spans keep coming at --rate; RSS and heap are sampled every
 *      5 s. With the queue full, memory must stay flat, and the drops
 *      counted must equal what never reached the topic.
 *
 *   node bench/kafkaSinkThroughput.ts [--spans N] [--batch N] [--compression gzip|lz4|zstd|snappy|none]
 *                                     [--stall-s S] [--rate R] [--json]
 */
import { kafkaUnavailableReason, startKafkaBroker, type KafkaBroker } from '../test/support/kafkaBroker.ts';
import { syntheticSpans } from '../test/support/syntheticSpans.ts';
import { readTopic } from '../test/support/kafkaTopic.ts';
import { otlpProtoUnavailableReason } from '../test/support/otlpProto.ts';
import { KafkaExporter } from '../src/sinks/kafka/kafkaExporter.ts';
import { KAFKA_COMPRESSIONS, parseBrokerAddress, type BrokerAddress, type KafkaCompression, type KafkaConnection } from '../src/sinks/kafka/kafkaConfig.ts';
import { encodeExportTraceRequest } from '../src/sinks/otlp/otlpProtobuf.ts';
import { QueuedSink, DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../src/sinks/queuedSink.ts';
import type { Span } from '../src/spans/span.ts';
import { parseArgsOrExit } from './support/options.ts';
import { fail } from './support/preflight.ts';
import { count, table } from './support/figures.ts';

const BENCH = 'bench:kafka';
const TARGET_SPANS_PER_CPU_S = 50_000;
const { values } = parseArgsOrExit(BENCH, {
  options: {
    spans: { type: 'string' }, batch: { type: 'string' }, compression: { type: 'string' },
    'stall-s': { type: 'string' }, rate: { type: 'string' }, json: { type: 'boolean' },
  },
});
const SPANS = Number(values.spans ?? 300_000);
const BATCH = Number(values.batch ?? DEFAULT_QUEUE_LIMITS.maxBatchSpans);
const COMPRESSION = (values.compression ?? 'gzip') as KafkaCompression;
const STALL_S = Number(values['stall-s'] ?? 0);
const RATE = Number(values.rate ?? 20_000);
if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(COMPRESSION)) fail(BENCH, `--compression must be one of ${KAFKA_COMPRESSIONS.join(', ')}`);
const why = kafkaUnavailableReason() ?? otlpProtoUnavailableReason();
if (why) fail(BENCH, why);

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const log = (line: string) => process.stderr.write(`  ${line}\n`);

/** Peak RSS while `run` runs, sampled every 50 ms. */
async function withPeakRss<T>(run: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 50);
  try {
    const result = await run();
    return { result, peakRssMb: mb(Math.max(peak, process.memoryUsage.rss())) };
  } finally {
    clearInterval(timer);
  }
}

/** Writes spans as fast as the sink drains them, keeping its queue under half its cap (sending, not dropping, is measured). */
async function pump(sink: QueuedSink, spans: readonly Span[], limits: QueueLimits): Promise<void> {
  for (let i = 0; i < spans.length; i += BATCH) {
    while (sink.stats().queuedSpans > limits.maxQueuedSpans / 2) await new Promise((r) => setTimeout(r, 1));
    sink.write(spans.slice(i, i + BATCH));
  }
}

/** The CPU seconds the OTLP encoding of these spans takes, grouped by trace as the exporter does. */
function encodingCpuSeconds(spans: readonly Span[]): { seconds: number; bytes: number } {
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < spans.length; i += BATCH) {
    const byTrace = new Map<string, Span[]>();
    for (const s of spans.slice(i, i + BATCH)) {
      const g = byTrace.get(s.traceId);
      if (g) g.push(s);
      else byTrace.set(s.traceId, [s]);
    }
    for (const g of byTrace.values()) bytes += encodeExportTraceRequest(g).byteLength;
  }
  const c = process.cpuUsage(c0);
  return { seconds: (c.user + c.system) / 1e6, bytes };
}

/** How many span ids arrived on the topic (each counted once) and how many arrived more than once. */
async function spansOnTopic(broker: KafkaBroker, topic: string): Promise<{ distinct: number; duplicates: number }> {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const m of await readTopic(broker, topic, 0, 120_000)) {
    for (const s of m.spans) {
      if (seen.has(s.spanId)) duplicates++;
      seen.add(s.spanId);
    }
  }
  return { distinct: seen.size, duplicates };
}

// The full JIT for the broker: a throughput figure should not be limited by a C1-only JVM.
const broker = await startKafkaBroker({ heap: '1g', extraJvmArgs: ['-XX:TieredStopAtLevel=4'] });
try {
  const connection: KafkaConnection = {
    brokers: [parseBrokerAddress(broker.bootstrap) as BrokerAddress],
    topic: 'bench-spans',
    tls: { ca: broker.caPem, cert: broker.clientCertPem, key: broker.clientKeyPem },
    compression: COMPRESSION,
    sensorId: 'bench-node',
  };
  await broker.createTopic(connection.topic, 6);

  // 1. Throughput. Spans are made first so that making them is not measured;
  // a warm-up batch opens the connection and the producer id first.
  const spans = syntheticSpans(SPANS, { seed: 7 });
  const limits: QueueLimits = { ...DEFAULT_QUEUE_LIMITS, maxBatchSpans: BATCH };
  const sink = new QueuedSink(new KafkaExporter(connection), limits, log);
  sink.write(syntheticSpans(BATCH, { seed: 1 }));
  while (sink.stats().sent < BATCH) await new Promise((r) => setTimeout(r, 5));
  const sentBefore = sink.stats().sent;
  const rssBeforeMb = mb(process.memoryUsage.rss());
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { peakRssMb } = await withPeakRss(async () => {
    await pump(sink, spans, limits);
    await sink.close(120_000);
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const st = sink.stats();
  const sent = st.sent - sentBefore;
  const encoding = encodingCpuSeconds(spans);
  const throughput = {
    spans: SPANS,
    sent,
    dropped: SPANS - sent,
    batch: BATCH,
    compression: COMPRESSION,
    seconds: +seconds.toFixed(2),
    spansPerSec: Math.round(sent / seconds),
    cpuSeconds: +cpuSeconds.toFixed(2),
    spansPerCpuSec: Math.round(sent / cpuSeconds),
    encodingCpuSeconds: +encoding.seconds.toFixed(2),
    otlpBytesPerSpan: Math.round(encoding.bytes / SPANS),
    rssBeforeMb,
    peakRssMb,
  };
  console.error(`\n${BENCH}: ${count(SPANS)} spans (${throughput.otlpBytesPerSpan} B of OTLP each), batches of ${BATCH}, ${COMPRESSION}, mTLS, acks=all, idempotent, 6 partitions`);
  console.error(table([
    ['', 'value'],
    ['spans sent', count(sent)],
    ['wall time', `${throughput.seconds} s`],
    ['spans/s (wall)', count(throughput.spansPerSec)],
    ['sensor CPU', `${throughput.cpuSeconds} s`],
    ['spans per CPU-second', `${count(throughput.spansPerCpuSec)} (target ${count(TARGET_SPANS_PER_CPU_S)})`],
    ['of which OTLP encoding', `${throughput.encodingCpuSeconds} s`],
    ['RSS before sending', `${rssBeforeMb} MB (the ${count(SPANS)} spans made up front included)`],
    ['peak RSS while sending', `${peakRssMb} MB`],
  ]));
  const onTopic = await spansOnTopic(broker, connection.topic);
  console.error(`on the topic: ${count(onTopic.distinct)} distinct spans (warm-up included), ${onTopic.duplicates} duplicates`);

  // 2. Stall: the broker stopped while spans keep coming.
  let stall: unknown;
  if (STALL_S > 0) {
    const stallTopic = 'bench-stall';
    await broker.createTopic(stallTopic, 6);
    const stallSink = new QueuedSink(new KafkaExporter({ ...connection, topic: stallTopic }), DEFAULT_QUEUE_LIMITS, log);
    const samples: { s: number; rssMb: number; heapMb: number; queued: number; dropped: number }[] = [];
    const sample = (s: number) => {
      // After a full GC (node --expose-gc): what is held, not garbage V8 has not collected yet.
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      const x = stallSink.stats();
      samples.push({ s, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), queued: x.queuedSpans, dropped: x.dropped.queueFull });
    };
    await broker.halt();
    const stallStart = performance.now();
    let written = 0;
    let nextSample = 0;
    while (performance.now() - stallStart < STALL_S * 1000) {
      const elapsed = (performance.now() - stallStart) / 1000;
      if (elapsed >= nextSample) {
        sample(Math.round(elapsed));
        nextSample += 5;
      }
      const due = Math.floor(elapsed * RATE) - written;
      if (due > 0) {
        const n = Math.min(due, RATE);
        stallSink.write(syntheticSpans(n, { seed: 100 + written }));
        written += n;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    sample(STALL_S);
    await broker.start();
    await stallSink.close(120_000);
    const fin = stallSink.stats();
    const dropped = fin.dropped.queueFull + fin.dropped.expired + fin.dropped.shutdown + fin.dropped.rejected;
    const arrived = await spansOnTopic(broker, stallTopic);
    stall = { seconds: STALL_S, rate: RATE, written, sent: fin.sent, dropped, arrived, queueCap: DEFAULT_QUEUE_LIMITS.maxQueuedSpans, samples };
    console.error(`\nstall: broker stopped ${STALL_S} s while ${count(RATE)} spans/s arrive (queue cap ${count(DEFAULT_QUEUE_LIMITS.maxQueuedSpans)} spans)`);
    console.error(table([['s', 'rss MB', 'heap MB', 'queued', 'dropped'], ...samples.map((x) => [String(x.s), String(x.rssMb), String(x.heapMb), count(x.queued), count(x.dropped)])]));
    console.error(`after: ${count(written)} written, ${count(fin.sent)} sent, ${count(arrived.distinct)} on the topic (${arrived.duplicates} duplicates), ` +
      `${count(dropped)} dropped (counted); written - dropped = ${count(written - dropped)}`);
  }
  if (values.json) console.log(JSON.stringify({ throughput, onTopic, stall }));
} finally {
  await broker.stop();
}
