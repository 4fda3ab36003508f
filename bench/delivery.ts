/**
 * Kernel-to-JavaScript delivery: how many events per second and payload
 * bytes per second reach the batches a BpfSource hands to JavaScript, and
 * whether all of them do. A generator child (bench/native/firehose.c)
 * writes a fixed count of messages as fast as it can into a loopback TCP
 * connection while a thread of the same process drains it; both ends are
 * traced (one egress event per write, one ingress event per read).
 *
 *   small  64 B messages: events per second;
 *   large  16 KiB messages: MB per second of payload.
 *
 * Each scenario runs the generator once alone (what it offers untraced)
 * and once under the sensor. Rates are taken from the first to the last
 * data event received in JavaScript; the run counts as lossless only if
 * the kernel lost no record and every byte written and read arrived.
 * Alongside: what limits the figure (JavaScript main thread, the
 * generator, the CPUs), from the event loop's utilisation and each
 * side's CPU time.
 *
 * usage: node bench/delivery.ts [--json] [--ring-bytes N] [--wakeup-bytes N] [--connections N]
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import os from 'node:os';
import type { BpfSource } from '../src/source/bpf/bpfSource.ts';
import type { SensorEvent } from '../src/source/events.ts';
import { Enums, Sizes } from '../src/source/bpf/eventLayout.ts';
import { nativeProgram, ReadyChild } from './support/nativeProgram.ts';
import { requireBpf, openSource, drained, fail, failWith } from './support/preflight.ts';
import { parseArgsOrExit } from './support/options.ts';
import { table, count, sizeText } from './support/figures.ts';
import { otherSensors } from './support/otherSensors.ts';
import { sampleCpu, coresBetween, type CpuSample } from './support/machineLoad.ts';

const BENCH = 'bench:delivery';
const TARGET_EVENTS_PER_S = 300_000;
const TARGET_MB_PER_S = 500;
/** Bytes a data record of `payload` bytes takes in the ring buffer (8-byte header, 8-byte aligned). */
const ringRecordBytes = (payload: number) => 8 + Math.ceil((Sizes.hp_data_event + payload) / 8) * 8;

interface Scenario {
  name: 'small' | 'large';
  size: number;
  count: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'small', size: 64, count: 1_000_000 },
  { name: 'large', size: 16384, count: 65_536 },
];

interface GeneratorResult {
  size: number;
  count: number;
  connections: number;
  writes: number;
  reads: number;
  bytesWritten: number;
  bytesRead: number;
  seconds: number;
  cpuSeconds: number;
}

/** Everything the JavaScript side saw of one traced run. */
class Receiver {
  egressEvents = 0;
  ingressEvents = 0;
  egressPayload = 0;
  ingressPayload = 0;
  egressLen = 0;
  ingressLen = 0;
  afterLoss = 0;
  lostRecords = 0;
  gapBytes = 0;
  batches = 0;
  firstMs = 0;
  lastMs = 0;
  private firstElu: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  private firstCpu: NodeJS.CpuUsage | undefined;
  lastElu: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  lastCpu: NodeJS.CpuUsage | undefined;

  readonly sink = (batch: readonly SensorEvent[]): void => {
    let data = false;
    for (const ev of batch) {
      if (ev.type === 'data') {
        data = true;
        if (ev.direction === 'egress') {
          this.egressEvents++;
          this.egressPayload += ev.payload.length;
          this.egressLen += ev.len;
        } else {
          this.ingressEvents++;
          this.ingressPayload += ev.payload.length;
          this.ingressLen += ev.len;
        }
        if (ev.afterLoss) this.afterLoss++;
      } else if (ev.type === 'lost') {
        if (ev.reason === 'ringbuf') this.lostRecords += ev.records ?? 0;
        else this.gapBytes += ev.bytes ?? 0;
      }
    }
    if (!data) return;
    this.batches++;
    const now = performance.now();
    if (!this.firstMs) {
      this.firstMs = now;
      this.firstElu = performance.eventLoopUtilization();
      this.firstCpu = process.cpuUsage();
    }
    this.lastMs = now;
    // Sampled per batch (cheap): the figures stop at the last data event, not at the drain check.
    this.lastElu = performance.eventLoopUtilization();
    this.lastCpu = process.cpuUsage();
  };

  get events(): number {
    return this.egressEvents + this.ingressEvents;
  }

  get payload(): number {
    return this.egressPayload + this.ingressPayload;
  }

  /** Main-thread utilisation and this process's CPU (all threads) between the first and last data event. */
  usage(): { elu: number; activeMs: number; cores: number } {
    if (!this.firstElu || !this.lastElu || !this.firstCpu || !this.lastCpu) return { elu: 0, activeMs: 0, cores: 0 };
    const elu = performance.eventLoopUtilization(this.lastElu, this.firstElu);
    const cpuUs = this.lastCpu.user + this.lastCpu.system - this.firstCpu.user - this.firstCpu.system;
    const spanMs = this.lastMs - this.firstMs;
    return { elu: elu.utilization, activeMs: elu.active, cores: spanMs > 0 ? cpuUs / 1000 / spanMs : 0 };
  }
}

interface MachineFigures {
  /** Cores busy on the whole machine while the generator ran (all processes, interrupts included). */
  busyCores: number;
  stealCores: number;
  generatorCores: number;
  benchCores: number;
  /** busy minus the generator and this process: other workloads, and softirq work not charged to a task. */
  otherCores: number;
}

interface ScenarioFigures {
  name: string;
  size: number;
  count: number;
  connections: number;
  untraced: { seconds: number; eventsPerS: number; mbPerS: number; machine: MachineFigures };
  traced: {
    generator: GeneratorResult & { eventsPerS: number; mbPerS: number };
    expectedEvents: number;
    expectedPayloadBytes: number;
    events: number;
    egressEvents: number;
    ingressEvents: number;
    payloadBytes: number;
    streamBytes: number;
    spanS: number;
    wallS: number;
    tailMs: number;
    eventsPerS: number;
    mbPerS: number;
    batches: number;
    ringbufLost: number;
    bytesLost: number;
    lostEvents: { ringbufRecords: number; gapBytes: number; afterLoss: number };
    complete: boolean;
    waitsForJs: number;
    jsMainThreadUtilization: number;
    jsMainThreadUsPerEvent: number;
    benchCpuCoresWhileReceiving: number;
    gc: { count: number; totalMs: number; maxMs: number };
    machine: MachineFigures;
    otherSensors: number | undefined;
  };
  target: { metric: 'eventsPerS' | 'mbPerS'; value: number; met: boolean };
  limit: string;
}

const { values: args } = parseArgsOrExit(BENCH, {
  options: {
    json: { type: 'boolean', default: false },
    'ring-bytes': { type: 'string', default: String(64 << 20) },
    'wakeup-bytes': { type: 'string', default: String(256 * 1024) },
    connections: { type: 'string', default: '1' },
  },
});
const SENSOR = {
  captureBytes: Enums.HP_CAPTURE_DEFAULT,
  ringBufferBytes: Number(args['ring-bytes']),
  wakeupBytes: Number(args['wakeup-bytes']),
};
const connections = Number(args.connections);
if (!Number.isInteger(connections) || connections < 1 || connections > 16) fail(BENCH, '--connections takes 1 to 16');
if (!Number.isInteger(SENSOR.wakeupBytes) || SENSOR.wakeupBytes < 0) fail(BENCH, '--wakeup-bytes takes a non-negative integer');

function progress(text: string): void {
  if (!args.json) process.stderr.write(text);
}

/** A run of the generator, with how busy the machine and this process were while it ran. */
interface GeneratorRun {
  gen: GeneratorResult;
  goMs: number;
  doneMs: number;
  /** Cores busy on the whole machine, and stolen by the hypervisor, from go to done. */
  machine: { busy: number; steal: number };
  /** Cores this process (all threads: JS, poll thread, V8) used from go to done. */
  benchCores: number;
}

async function runGenerator(child: ReadyChild<GeneratorResult>): Promise<GeneratorRun> {
  const cpu: CpuSample = sampleCpu();
  const own = process.cpuUsage();
  const goMs = performance.now();
  const gen = await child.go();
  const doneMs = performance.now();
  const used = process.cpuUsage(own);
  return {
    gen, goMs, doneMs,
    machine: coresBetween(cpu, sampleCpu()),
    benchCores: (used.user + used.system) / 1000 / (doneMs - goMs),
  };
}

function generatorArgs(s: Scenario): string[] {
  return [String(s.size), String(s.count), String(connections)];
}

async function runUntraced(bin: string, s: Scenario): Promise<GeneratorRun> {
  const child = new ReadyChild<GeneratorResult>(bin, generatorArgs(s));
  try {
    await child.ready();
    return await runGenerator(child);
  } finally {
    child.kill();
  }
}

interface TracedRun extends GeneratorRun {
  rx: Receiver;
  counters: ReturnType<BpfSource['kernelCounters']>;
  stats: ReturnType<BpfSource['deliveryStats']>;
  gc: { count: number; totalMs: number; maxMs: number };
  others: number | undefined;
}

async function runTraced(bin: string, s: Scenario): Promise<TracedRun> {
  const child = new ReadyChild<GeneratorResult>(bin, generatorArgs(s));
  let source: BpfSource | undefined;
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
    }
  });
  try {
    const pid = await child.ready();
    source = openSource({ ...SENSOR, pids: [pid] });
    const before = otherSensors(1);
    const rx = new Receiver();
    source.start(rx.sink);
    gcObserver.observe({ entryTypes: ['gc'] });
    const run = await runGenerator(child);
    await drained(source, s.name);
    gcObserver.disconnect();
    const after = otherSensors(1);
    return {
      ...run, rx, gc,
      counters: source.kernelCounters(),
      stats: source.deliveryStats(),
      others: before === undefined || after === undefined ? undefined : Math.max(before, after),
    };
  } finally {
    gcObserver.disconnect();
    child.kill();
    source?.close();
  }
}

function perS(n: number, seconds: number): number {
  return seconds > 0 ? n / seconds : 0;
}

function machineFigures(run: GeneratorRun): ScenarioFigures['untraced']['machine'] {
  const genCores = run.gen.cpuSeconds / run.gen.seconds;
  return {
    busyCores: run.machine.busy,
    stealCores: run.machine.steal,
    generatorCores: genCores,
    benchCores: run.benchCores,
    otherCores: Math.max(0, run.machine.busy - genCores - run.benchCores),
  };
}

async function runScenario(bin: string, s: Scenario): Promise<ScenarioFigures> {
  progress(`${s.name}: generator alone`);
  const alone = await runUntraced(bin, s);
  progress(', under the sensor');
  const traced = await runTraced(bin, s);
  progress('\n');
  const { gen, rx, counters, stats } = traced;

  const { elu, activeMs, cores } = rx.usage();
  const spanS = (rx.lastMs - rx.firstMs) / 1000;
  const expectedEvents = gen.writes + gen.reads;
  const expectedPayloadBytes = gen.bytesWritten + gen.bytesRead;
  const ringbufLost = Number(counters.ringbufLost);
  const complete = ringbufLost === 0 && rx.events === expectedEvents && rx.payload === expectedPayloadBytes
    && rx.egressLen === gen.bytesWritten && rx.ingressLen === gen.bytesRead && rx.gapBytes === 0;
  const eventsPerS = perS(rx.events, spanS);
  const mbPerS = perS(rx.payload, spanS) / 1e6;
  const genCores = gen.cpuSeconds / gen.seconds;
  const target = s.name === 'small'
    ? { metric: 'eventsPerS' as const, value: TARGET_EVENTS_PER_S, met: eventsPerS >= TARGET_EVENTS_PER_S && complete }
    : { metric: 'mbPerS' as const, value: TARGET_MB_PER_S, met: mbPerS >= TARGET_MB_PER_S && complete };
  const tailMs = rx.lastMs - traced.doneMs;
  const machine = machineFigures(traced);

  return {
    name: s.name,
    size: s.size,
    count: s.count,
    connections,
    untraced: {
      seconds: alone.gen.seconds,
      eventsPerS: perS(alone.gen.writes + alone.gen.reads, alone.gen.seconds),
      mbPerS: perS(alone.gen.bytesWritten + alone.gen.bytesRead, alone.gen.seconds) / 1e6,
      machine: machineFigures(alone),
    },
    traced: {
      generator: { ...gen, eventsPerS: perS(gen.writes + gen.reads, gen.seconds), mbPerS: perS(gen.bytesWritten + gen.bytesRead, gen.seconds) / 1e6 },
      expectedEvents,
      expectedPayloadBytes,
      events: rx.events,
      egressEvents: rx.egressEvents,
      ingressEvents: rx.ingressEvents,
      payloadBytes: rx.payload,
      streamBytes: rx.egressLen + rx.ingressLen,
      spanS,
      wallS: (rx.lastMs - traced.goMs) / 1000,
      tailMs,
      eventsPerS,
      mbPerS,
      batches: rx.batches,
      ringbufLost,
      bytesLost: Number(counters.bytesLost),
      lostEvents: { ringbufRecords: rx.lostRecords, gapBytes: rx.gapBytes, afterLoss: rx.afterLoss },
      complete,
      waitsForJs: stats.waitsForJs,
      jsMainThreadUtilization: elu,
      jsMainThreadUsPerEvent: rx.events ? (activeMs * 1000) / rx.events : 0,
      benchCpuCoresWhileReceiving: cores,
      gc: traced.gc,
      machine,
      otherSensors: traced.others,
    },
    target,
    limit: diagnose({ ringbufLost, elu, tailMs, machine }),
  };
}

/**
 * Names what bounds the figure, from measurements: a consumer that falls
 * behind shows a tail after the generator finished (and, past the ring's
 * capacity, losses); a consumer that keeps up leaves the generator as the
 * bound; and on this machine both share the same CPUs.
 */
function diagnose(m: { ringbufLost: number; elu: number; tailMs: number; machine: MachineFigures }): string {
  const cpus = os.availableParallelism();
  const parts: string[] = [];
  if (m.ringbufLost > 0 || m.tailMs > 50) {
    parts.push(`JavaScript falls behind the generator (${m.tailMs.toFixed(0)} ms of events still arriving after it finished${m.ringbufLost ? `, ${count(m.ringbufLost)} records lost` : ''})`);
    parts.push(m.elu > 0.9
      ? `the main thread is saturated (event loop ${(m.elu * 100).toFixed(0)}% busy): decoding and the sink bound delivery`
      : `the main thread is ${(m.elu * 100).toFixed(0)}% busy on average, so it falls behind in bursts (GC pauses, CPU shared with the generator) while the poll thread waits for it`);
  } else {
    parts.push(`JavaScript keeps up (event loop ${(m.elu * 100).toFixed(0)}% busy, last event ${m.tailMs >= 0 ? `${m.tailMs.toFixed(0)} ms after` : `${(-m.tailMs).toFixed(0)} ms before`} the generator reported it had finished): the figure is the traced generator's own rate, which the probes slow down`);
  }
  const c = m.machine;
  const split = `generator ${c.generatorCores.toFixed(2)}, sensor process ${c.benchCores.toFixed(2)}, rest ${c.otherCores.toFixed(2)}, steal ${c.stealCores.toFixed(2)}`;
  parts.push(c.busyCores + c.stealCores >= cpus * 0.85
    ? `CPU-bound: ${c.busyCores.toFixed(2)} of ${cpus} cores busy (${split}), no idle core left`
    : `CPU: ${c.busyCores.toFixed(2)} of ${cpus} cores busy (${split})`);
  return parts.join('; ');
}

async function main(): Promise<void> {
  requireBpf(BENCH);
  const bin = nativeProgram('firehose', ['-pthread']);
  const started = performance.now();
  const figures: ScenarioFigures[] = [];
  for (const s of SCENARIOS) figures.push(await runScenario(bin, s));
  const elapsedS = (performance.now() - started) / 1000;

  if (args.json) {
    process.stdout.write(`${JSON.stringify({
      bench: 'delivery',
      kernel: os.release(),
      cpus: os.availableParallelism(),
      sensor: SENSOR,
      targets: { eventsPerS: TARGET_EVENTS_PER_S, mbPerS: TARGET_MB_PER_S, drops: 0 },
      scenarios: figures,
      elapsedS,
    }, null, 2)}\n`);
    return;
  }
  report(figures, elapsedS);
}

function rate(n: number): string {
  return `${count(Math.round(n))}/s`;
}

function report(figures: readonly ScenarioFigures[], elapsedS: number): void {
  const out: string[] = [];
  out.push('Hydrophone: kernel-to-JavaScript delivery');
  out.push(`  load: one process writes N messages into ${connections === 1 ? 'a loopback TCP connection' : `${connections} loopback TCP connections`} as fast as it can; a thread of it reads the other end (<= 16 KiB per read)`);
  out.push('  both ends traced: one egress event per write, one ingress event per read; MB = 10^6 bytes of captured payload, both directions');
  out.push(`  kernel ${os.release()}, ${os.availableParallelism()} CPUs; sensor: capture ${SENSOR.captureBytes} B, ring ${SENSOR.ringBufferBytes >> 20} MiB, wakeup ${SENSOR.wakeupBytes} B; rates from the first to the last data event received in JS`);
  for (const f of figures) {
    const t = f.traced;
    const ringMiB = (f.count * ringRecordBytes(Math.min(f.size, SENSOR.captureBytes))) / (1 << 20);
    out.push('');
    out.push(`${f.name}: ${count(f.count)} x ${sizeText(f.size)} (egress records alone: ${ringMiB.toFixed(0)} MiB of ring buffer, ${(ringMiB / (SENSOR.ringBufferBytes >> 20)).toFixed(1)}x its size)`);
    out.push(table([
      ['', 'events/s', 'MB/s', 'seconds'],
      ['generator alone (offered)', rate(f.untraced.eventsPerS), f.untraced.mbPerS.toFixed(0), f.untraced.seconds.toFixed(3)],
      ['generator under the sensor', rate(t.generator.eventsPerS), t.generator.mbPerS.toFixed(0), t.generator.seconds.toFixed(3)],
      ['received in JavaScript', rate(t.eventsPerS), t.mbPerS.toFixed(0), t.spanS.toFixed(3)],
    ].map((r) => r.map(String))));
    out.push(`  wall time from start to the last event in JS: ${t.wallS.toFixed(3)} s; ${count(t.batches)} batches with data`);
    out.push(`  data events ${count(t.events)}/${count(t.expectedEvents)} (egress ${count(t.egressEvents)}/${count(t.generator.writes)} writes, ingress ${count(t.ingressEvents)}/${count(t.generator.reads)} reads)`);
    out.push(`  payload bytes ${count(t.payloadBytes)}/${count(t.expectedPayloadBytes)}, stream bytes covered ${count(t.streamBytes)}/${count(t.expectedPayloadBytes)}`);
    out.push(`  drops: ringbufLost ${count(t.ringbufLost)}, bytesLost ${count(t.bytesLost)}, gap bytes ${count(t.lostEvents.gapBytes)}, events after a loss ${count(t.lostEvents.afterLoss)}: ${t.complete ? 'none, every byte arrived' : 'INCOMPLETE'}`);
    out.push(`  JS main thread ${(t.jsMainThreadUtilization * 100).toFixed(0)}% busy while receiving, ${t.jsMainThreadUsPerEvent.toFixed(2)} us of it per event; GC ${count(t.gc.count)} pauses, ${t.gc.totalMs.toFixed(0)} ms in all, longest ${t.gc.maxMs.toFixed(1)} ms; poll thread waited for JS ${count(t.waitsForJs)} times`);
    const cores = (m: MachineFigures) => `${m.busyCores.toFixed(2)} busy (generator ${m.generatorCores.toFixed(2)}, sensor process ${m.benchCores.toFixed(2)}, rest ${m.otherCores.toFixed(2)}), steal ${m.stealCores.toFixed(2)}`;
    out.push(`  cores of ${os.availableParallelism()}: generator alone ${cores(f.untraced.machine)}; under the sensor ${cores(t.machine)}`);
    const unit = f.target.metric === 'eventsPerS' ? `${count(f.target.value)} events/s` : `${f.target.value} MB/s`;
    const got = f.target.metric === 'eventsPerS' ? `${count(Math.round(t.eventsPerS))} events/s` : `${t.mbPerS.toFixed(0)} MB/s`;
    out.push(`  target >= ${unit} with zero drops: ${f.target.met ? 'MET' : 'MISSED'} (${got}, ${t.complete ? 'zero drops' : 'with drops'})`);
    out.push(`  limited by: ${f.limit}`);
    if (t.otherSensors === undefined) out.push('  could not check for other Hydrophone sensors (bpftool missing?)');
    else if (t.otherSensors > 0) out.push(`  WARNING: ${t.otherSensors} other Hydrophone sensor(s) were loaded during this run: they share the CPUs and hook the same syscalls`);
  }
  out.push('');
  out.push(`(${elapsedS.toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch(failWith(BENCH));
