/**
 * The OTLP/gRPC sink against a real OpenTelemetry Collector on this host
 * (test/peers/otelcol; mTLS, basic auth, gzip, as in production):
 *
 *   1. throughput: N spans through QueuedSink + OtlpGrpcExporter, as fast as
 *      the collector takes them; spans/s of wall time and per second of this
 *      process's CPU (the "per core" figure; the collector runs on the other
 *      core).
 *   2. stall: the collector is frozen (SIGSTOP: connections hang, requests
 *      time out) for --stall-s seconds while spans keep coming at --rate;
 *      RSS and heap are sampled every 5 s. With the queue full, memory must
 *      stay flat and the drops must equal what never arrived.
 *
 *   node --expose-gc bench/otlpSinkThroughput.ts [--spans N] [--batch N] [--rate R] [--stall-s S] [--json]
 *
 * Memory is sampled after a full GC, so it shows what is held, not garbage
 * not yet collected.
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { otelCollectorUnavailableReason, startOtelCollector } from '../test/support/otelCollector.ts';
import { syntheticSpans } from '../test/support/syntheticSpans.ts';
import { OtlpGrpcExporter } from '../src/sinks/otlp/otlpGrpcExporter.ts';
import { QueuedSink, DEFAULT_QUEUE_LIMITS } from '../src/sinks/queuedSink.ts';

const { values } = parseArgs({
  options: { spans: { type: 'string' }, batch: { type: 'string' }, rate: { type: 'string' }, 'stall-s': { type: 'string' }, json: { type: 'boolean' } },
});
const SPANS = Number(values.spans ?? 200_000);
const BATCH = Number(values.batch ?? DEFAULT_QUEUE_LIMITS.maxBatchSpans);
const RATE = Number(values.rate ?? 20_000);
const STALL_S = Number(values['stall-s'] ?? 60);
const why = otelCollectorUnavailableReason();
const gc = (globalThis as { gc?: () => void }).gc;
if (why || !gc) {
  console.error(`otlpSinkThroughput: ${why ?? 'run with node --expose-gc'}`);
  process.exit(why ? 0 : 2);
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const collector = await startOtelCollector();
const dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-otlp-bench-'));
try {
  const file = async (name: string, text: string) => {
    const f = path.join(dir, name);
    await writeFile(f, text, { mode: 0o600 });
    return f;
  };
  const config = {
    endpoint: collector.endpoint,
    allowPlaintext: false,
    tls: { caFile: await file('ca', collector.caPem), certFile: await file('cert', collector.clientCertPem), keyFile: await file('key', collector.clientKeyPem) },
    auth: { kind: 'basic' as const, username: collector.user, passwordFile: await file('password', collector.password) },
    compression: 'gzip' as const,
    timeoutMs: 5_000,
  };
  const log = (line: string) => process.stderr.write(`  ${line}\n`);

  // 1. Throughput. Spans are made first so that making them is not measured.
  const throughput = await measureThroughput();
  async function measureThroughput() {
  const spans = syntheticSpans(SPANS, { seed: 7 });
  const limits = { ...DEFAULT_QUEUE_LIMITS, maxBatchSpans: BATCH };
  const sink = new QueuedSink(new OtlpGrpcExporter(config, log), limits, log);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < spans.length; i += BATCH) {
    // Keep the queue below its cap: this measures sending, not dropping.
    while (sink.stats().queuedSpans > limits.maxQueuedSpans / 2) await new Promise((r) => setTimeout(r, 1));
    sink.write(spans.slice(i, i + BATCH));
  }
  await sink.close(60_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const st = sink.stats();
  return {
    spans: SPANS,
    sent: st.sent,
    dropped: SPANS - st.sent,
    seconds: +seconds.toFixed(2),
    spansPerSec: Math.round(st.sent / seconds),
    cpuSeconds: +cpuSeconds.toFixed(2),
    spansPerCpuSec: Math.round(st.sent / cpuSeconds),
    batch: BATCH,
  };
  }
  console.error(`throughput: ${throughput.sent} spans in ${throughput.seconds} s = ${throughput.spansPerSec} spans/s; ` +
    `${throughput.cpuSeconds} s of sensor CPU = ${throughput.spansPerCpuSec} spans per CPU-second (batch ${BATCH}, gzip, mTLS)`);

  // 2. Stall: the collector frozen while spans keep coming.
  // What the collector acknowledged so far; its file is read only at the end, so that parsing it
  // (in this process) does not blur the memory figures.
  const before = throughput.sent;
  gc();
  const baseline = process.memoryUsage();
  console.error(`before the stall: rss ${mb(baseline.rss)} MB, heap ${mb(baseline.heapUsed)} MB`);
  const stallSink = new QueuedSink(new OtlpGrpcExporter(config, log), DEFAULT_QUEUE_LIMITS, log);
  const samples: { s: number; rssMb: number; heapMb: number; queued: number; dropped: number }[] = [];
  const sample = (s: number) => {
    gc();
    const m = process.memoryUsage();
    const x = stallSink.stats();
    samples.push({ s, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), queued: x.queuedSpans, dropped: x.dropped.queueFull });
  };
  const pid = collector.pid();
  if (pid === undefined) throw new Error('the collector is not running');
  process.kill(pid, 'SIGSTOP');
  const stallStart = performance.now();
  let written = 0;
  const perTick = Math.max(1, Math.round(RATE / 100));
  let nextSample = 0;
  while (performance.now() - stallStart < STALL_S * 1000) {
    const elapsed = (performance.now() - stallStart) / 1000;
    if (elapsed >= nextSample) {
      sample(Math.round(elapsed));
      nextSample += 5;
    }
    const due = Math.floor(elapsed * RATE) - written;
    if (due > 0) {
      const n = Math.min(due, perTick * 10);
      stallSink.write(syntheticSpans(n, { seed: 100 + written }));
      written += n;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  sample(STALL_S);
  process.kill(pid, 'SIGCONT');
  await stallSink.close(60_000);
  const fin = stallSink.stats();
  const arrived = (await collector.waitForSpans(before + fin.sent, 60_000).catch(async () => collector.readSpans())).length - before;
  const dropped = fin.dropped.queueFull + fin.dropped.expired + fin.dropped.shutdown + fin.dropped.rejected;
  const stall = { seconds: STALL_S, rate: RATE, written, sent: fin.sent, arrived, dropped, queueCap: DEFAULT_QUEUE_LIMITS.maxQueuedSpans, samples };
  console.error(`stall: collector frozen ${STALL_S} s while ${RATE} spans/s arrive (queue cap ${stall.queueCap} spans)`);
  console.error('   s   rss MB  heap MB   queued  dropped');
  for (const x of samples) console.error(`${String(x.s).padStart(4)} ${String(x.rssMb).padStart(8)} ${String(x.heapMb).padStart(8)} ${String(x.queued).padStart(8)} ${String(x.dropped).padStart(8)}`);
  console.error(`after: ${written} written, ${fin.sent} sent, ${arrived} arrived at the collector, ${dropped} dropped (counted); written - dropped = ${written - dropped}`);
  if (values.json) console.log(JSON.stringify({ throughput, stall }));
} finally {
  await collector.stop();
  await rm(dir, { recursive: true, force: true });
}

