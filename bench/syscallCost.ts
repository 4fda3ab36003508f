/**
 * Added cost per hooked syscall. A child process runs send + recv over a
 * loopback TCP pair (bench/native/sendRecvLoop.c) and times itself, for
 * 64 B, 1 KiB and 16 KiB messages, in three modes, alternated round by
 * round so that drift on the machine spreads over all of them:
 *
 *   without   no sensor loaded;
 *   traced    sensor attached and filtered to the loop's pid, so every
 *             send and recv is captured (default capture, 16 KiB) and
 *             delivered to JavaScript;
 *   untraced  sensor attached but filtered to another pid: what every
 *             process on the node that is not traced pays.
 *
 * Prints the median ns/syscall of each mode and the difference, beside the
 * target (at most 500 ns added per hooked syscall at the default capture).
 * A traced figure only counts if the sensor really delivered every event,
 * so each traced run's data events are counted against what the loop made.
 *
 * With --bpf-stats, one more traced run per size with the kernel's BPF
 * run-time statistics on tells how much of the added cost is spent inside
 * the sensor's send/recv programs themselves.
 *
 * usage: node bench/syscallCost.ts [--json] [--rounds N] [--iterations N] [--wakeup-bytes N] [--bpf-stats]
 */
import os from 'node:os';
import { spawn } from 'node:child_process';
import type { BpfSource } from '../src/source/bpf/bpfSource.ts';
import type { SensorEvent } from '../src/source/events.ts';
import { Enums } from '../src/source/bpf/eventLayout.ts';
import { nativeProgram, ReadyChild } from './support/nativeProgram.ts';
import { requireBpf, openSource, drained, fail, failWith, BenchError } from './support/preflight.ts';
import { parseArgsOrExit } from './support/options.ts';
import { median, table, sizeText, count } from './support/figures.ts';
import { otherSensors } from './support/otherSensors.ts';
import { withBpfStats, programRuns } from './support/bpfStats.ts';
import { sampleCpu, otherCores } from './support/machineLoad.ts';

const BENCH = 'bench:syscall';
const SIZES = [64, 1024, 16384] as const;
const MODES = ['without', 'traced', 'untraced'] as const;
type Mode = (typeof MODES)[number];

/** From the issue: added cost per hooked syscall at the default capture size. */
const TARGET_ADDED_NS = 500;
const DEEPFLOW_ADDED = '+460 to +1480 ns';
/** Other work above this many cores during a loop makes its figure suspect. */
const BUSY_OTHER_CORES = 0.2;

interface LoopResult {
  size: number;
  iterations: number;
  warmup: number;
  nsPerSyscall: number;
  cpuSeconds: number;
}

/** What the sensor delivered for one traced loop, against what it should have. */
interface Delivery {
  expectedEvents: number;
  dataEvents: number;
  expectedPayloadBytes: number;
  payloadBytes: number;
  ringbufLost: bigint;
  lostEvents: number;
}

interface RoundResult {
  /** How the sensor attached (tracepoint or kprobe); '' without a sensor. */
  attach: string;
  nsPerSyscall: Map<number, number>;
  delivery: Map<number, Delivery>;
  /** Most other sensors seen loaded around this mode's loops (undefined: could not tell). */
  otherSensors: number | undefined;
  /** Cores other workloads kept busy during each loop (machine busy minus the loop and this process). */
  otherCores: Map<number, number>;
}

const { values: args } = parseArgsOrExit(BENCH, {
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '50000' },
    'wakeup-bytes': { type: 'string', default: String(256 * 1024) },
    'bpf-stats': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const iterations = Number(args.iterations);
const warmup = Math.ceil(iterations / 10);
const SENSOR = { captureBytes: Enums.HP_CAPTURE_DEFAULT, ringBufferBytes: 64 << 20, wakeupBytes: Number(args['wakeup-bytes']) };
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(iterations) || iterations < 1) {
  fail(BENCH, '--rounds and --iterations take positive integers');
}
if (!Number.isInteger(SENSOR.wakeupBytes) || SENSOR.wakeupBytes < 0) fail(BENCH, '--wakeup-bytes takes a non-negative integer');

function progress(text: string): void {
  if (!args.json) process.stderr.write(text);
}

/** Counts data events and payload bytes per pid. */
class DataCounter {
  readonly events = new Map<number, number>();
  readonly bytes = new Map<number, number>();
  lostEvents = 0;

  readonly sink = (batch: readonly SensorEvent[]): void => {
    for (const ev of batch) {
      if (ev.type === 'data') {
        this.events.set(ev.pid, (this.events.get(ev.pid) ?? 0) + 1);
        this.bytes.set(ev.pid, (this.bytes.get(ev.pid) ?? 0) + ev.payload.length);
      } else if (ev.type === 'lost') {
        this.lostEvents++;
      }
    }
  };

  total(): number {
    let n = 0;
    for (const v of this.events.values()) n += v;
    return n;
  }
}

/**
 * One mode of one round: a loop per size, one after the other, under one
 * sensor (or none). Untraced, the pid allow-list holds only `idlePid`, a
 * process that does no socket I/O, so nothing is captured at all.
 */
async function runMode(mode: Mode, bin: string, idlePid: number): Promise<RoundResult> {
  const children = SIZES.map((size) => new ReadyChild<LoopResult>(bin, [String(size), String(iterations), String(warmup)]));
  let source: BpfSource | undefined;
  try {
    const pids = await Promise.all(children.map((c) => c.ready()));
    const counter = new DataCounter();
    if (mode !== 'without') {
      source = openSource({ ...SENSOR, pids: mode === 'traced' ? pids : [idlePid] });
      source.start(counter.sink);
    }
    const result: RoundResult = { attach: source?.attach ?? '', nsPerSyscall: new Map(), delivery: new Map(), otherSensors: undefined, otherCores: new Map() };
    const checkOthers = (): void => {
      const n = otherSensors(source ? 1 : 0);
      if (n !== undefined) result.otherSensors = Math.max(result.otherSensors ?? 0, n);
    };
    checkOthers();
    for (const [i, child] of children.entries()) {
      const size = SIZES[i]!;
      const lostBefore = source?.kernelCounters().ringbufLost ?? 0n;
      const lostEventsBefore = counter.lostEvents;
      const cpuBefore = sampleCpu();
      const ownBefore = process.cpuUsage();
      const loop = await child.go();
      const own = process.cpuUsage(ownBefore);
      result.otherCores.set(size, otherCores(cpuBefore, sampleCpu(), loop.cpuSeconds + (own.user + own.system) / 1e6));
      result.nsPerSyscall.set(size, loop.nsPerSyscall);
      checkOthers();
      if (!source) continue;
      await drained(source, `${mode}, ${sizeText(size)}`);
      if (mode === 'traced') {
        const expectedEvents = 2 * (loop.iterations + loop.warmup);
        result.delivery.set(size, {
          expectedEvents,
          dataEvents: counter.events.get(pids[i]!) ?? 0,
          expectedPayloadBytes: expectedEvents * size,
          payloadBytes: counter.bytes.get(pids[i]!) ?? 0,
          ringbufLost: source.kernelCounters().ringbufLost - lostBefore,
          lostEvents: counter.lostEvents - lostEventsBefore,
        });
      }
    }
    if (mode === 'untraced' && counter.total() > 0) {
      throw new BenchError(`the sensor filtered to pid ${idlePid} delivered ${counter.total()} data events (pids ${[...counter.events.keys()].join(', ')}): the pid filter does not work, the untraced figure would be wrong`);
    }
    return result;
  } finally {
    for (const c of children) c.kill();
    source?.close();
  }
}

/** Time inside the sensor's programs per traced syscall (entry and exit program). */
interface ProgramCost {
  entryNs: number;
  exitNs: number;
  totalNs: number;
}

/**
 * One extra traced run per size with BPF statistics on. The programs are
 * those of sendto and recvfrom; their runs by other processes during the
 * loop (which stop at the pid filter) are included, a small overcount.
 */
async function programCost(bin: string): Promise<Map<number, ProgramCost>> {
  return withBpfStats(async () => {
    const costs = new Map<number, ProgramCost>();
    for (const size of SIZES) {
      const child = new ReadyChild<LoopResult>(bin, [String(size), String(iterations), String(warmup)]);
      let source: BpfSource | undefined;
      try {
        const pid = await child.ready();
        source = openSource({ ...SENSOR, pids: [pid] });
        source.start(() => {});
        const programs = source.programs().filter((p) => p.attached && /_(sendto|recvfrom)$/.test(p.name));
        const ids = programs.map((p) => p.id);
        const before = programRuns(ids);
        const loop = await child.go();
        const after = programRuns(ids);
        const syscalls = 2 * (loop.iterations + loop.warmup);
        let entry = 0;
        let exit = 0;
        for (const p of programs) {
          const ns = (after.get(p.id)?.runTimeNs ?? 0) - (before.get(p.id)?.runTimeNs ?? 0);
          if (p.name.includes('_in_')) entry += ns;
          else exit += ns;
        }
        costs.set(size, { entryNs: entry / syscalls, exitNs: exit / syscalls, totalNs: (entry + exit) / syscalls });
        await drained(source, `BPF statistics, ${sizeText(size)}`);
      } finally {
        child.kill();
        source?.close();
      }
    }
    return costs;
  });
}

interface SizeFigures {
  size: number;
  withoutNs: number;
  tracedNs: number;
  addedNs: number;
  untracedNs: number;
  untracedAddedNs: number;
  targetAddedNs: number;
  targetMet: boolean;
  rounds: Record<Mode, number[]>;
  /** With --bpf-stats only. */
  bpfPrograms?: ProgramCost;
  delivery: {
    expectedEvents: number;
    dataEvents: number;
    expectedPayloadBytes: number;
    payloadBytes: number;
    ringbufLost: number;
    /** Loss events the source emitted (ring buffer losses, position gaps). */
    lostEvents: number;
    complete: boolean;
  };
}

async function main(): Promise<void> {
  requireBpf(BENCH);
  const bin = nativeProgram('sendRecvLoop');
  const samples = new Map<number, Record<Mode, number[]>>(SIZES.map((s) => [s, { without: [], traced: [], untraced: [] }]));
  const others: number[] = [];
  const deliveries = new Map<number, Delivery[]>(SIZES.map((s) => [s, []]));
  let attach = '';
  let disturbedModes = 0;
  let othersUnknown = false;
  const started = performance.now();
  // The untraced mode's allow-list entry: a process that exists and never touches a socket.
  const idle = spawn('sleep', ['3600'], { stdio: 'ignore' });
  idle.on('error', () => {}); // no pid then: reported below
  try {
    if (idle.pid === undefined) throw new BenchError('cannot start sleep(1) for the untraced mode');
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round: no mode always runs first, or right after a sensor was closed.
      const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
      progress(`round ${r + 1}/${rounds}:`);
      for (const mode of order) {
        progress(` ${mode}`);
        const result = await runMode(mode, bin, idle.pid);
        attach ||= result.attach;
        if (result.otherSensors === undefined) othersUnknown = true;
        else if (result.otherSensors > 0) disturbedModes++;
        for (const [size, ns] of result.nsPerSyscall) samples.get(size)![mode].push(ns);
        others.push(...result.otherCores.values());
        for (const [size, d] of result.delivery) deliveries.get(size)!.push(d);
      }
      progress('\n');
    }
  } finally {
    idle.kill();
  }

  let programs: Map<number, ProgramCost> | undefined;
  if (args['bpf-stats']) {
    progress('BPF program time: one traced run per size with kernel.bpf_stats_enabled\n');
    programs = await programCost(bin);
  }

  const figures: SizeFigures[] = SIZES.map((size) => {
    const s = samples.get(size)!;
    const d = deliveries.get(size)!;
    const withoutNs = median(s.without);
    const tracedNs = median(s.traced);
    const untracedNs = median(s.untraced);
    const sum = (f: (x: Delivery) => number) => d.reduce((n, x) => n + f(x), 0);
    const delivery = {
      expectedEvents: sum((x) => x.expectedEvents),
      dataEvents: sum((x) => x.dataEvents),
      expectedPayloadBytes: sum((x) => x.expectedPayloadBytes),
      payloadBytes: sum((x) => x.payloadBytes),
      ringbufLost: sum((x) => Number(x.ringbufLost)),
      lostEvents: sum((x) => x.lostEvents),
      complete: false,
    };
    delivery.complete = delivery.dataEvents === delivery.expectedEvents && delivery.payloadBytes === delivery.expectedPayloadBytes
      && delivery.ringbufLost === 0 && delivery.lostEvents === 0;
    return {
      size,
      withoutNs,
      tracedNs,
      addedNs: tracedNs - withoutNs,
      untracedNs,
      untracedAddedNs: untracedNs - withoutNs,
      targetAddedNs: TARGET_ADDED_NS,
      targetMet: tracedNs - withoutNs <= TARGET_ADDED_NS,
      rounds: s,
      ...(programs?.has(size) ? { bpfPrograms: programs.get(size)! } : {}),
      delivery,
    };
  });
  const elapsedS = (performance.now() - started) / 1000;

  if (args.json) {
    process.stdout.write(`${JSON.stringify({
      bench: 'syscallCost',
      kernel: os.release(),
      cpus: os.availableParallelism(),
      attach,
      sensor: SENSOR,
      rounds,
      iterations,
      warmup,
      statistic: 'median',
      targetAddedNs: TARGET_ADDED_NS,
      sizes: figures,
      otherSensors: othersUnknown ? null : { disturbedRuns: disturbedModes, runs: rounds * MODES.length },
      otherLoadCores: { median: median(others), max: Math.max(...others), loopsAbove: { cores: BUSY_OTHER_CORES, loops: others.filter((c) => c > BUSY_OTHER_CORES).length, of: others.length } },
      elapsedS,
    }, null, 2)}\n`);
    return;
  }
  report(figures, attach, elapsedS, othersUnknown ? undefined : disturbedModes, others);
}

function ns(n: number): string {
  return `${n.toFixed(0)} ns`;
}

function added(n: number): string {
  return `${n >= 0 ? '+' : ''}${n.toFixed(0)} ns`;
}

function spread(values: readonly number[]): string {
  return `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}`;
}

function report(figures: readonly SizeFigures[], attach: string, elapsedS: number, disturbedRuns: number | undefined, others: readonly number[]): void {
  const out: string[] = [];
  out.push('Hydrophone: added cost per hooked syscall');
  out.push(`  load: send + recv(MSG_WAITALL) over one loopback TCP pair in one process, 2 hooked syscalls per iteration`);
  out.push(`  ${rounds} rounds x ${count(iterations)} iterations (+${count(warmup)} warm-up) per size and mode, modes alternated; median shown`);
  out.push(`  kernel ${os.release()}, ${os.availableParallelism()} CPUs, attach: ${attach}, capture ${SENSOR.captureBytes} B, ring ${SENSOR.ringBufferBytes >> 20} MiB, wakeup ${SENSOR.wakeupBytes} B`);
  out.push('');
  out.push(table([
    ['size', 'without', 'traced', 'added', `target (<= +${TARGET_ADDED_NS} ns)`, 'untraced pid', 'added (untraced)'],
    ...figures.map((f) => [
      sizeText(f.size),
      ns(f.withoutNs),
      ns(f.tracedNs),
      added(f.addedNs),
      f.targetMet ? 'met' : `MISSED by ${(f.addedNs - TARGET_ADDED_NS).toFixed(0)} ns`,
      ns(f.untracedNs),
      added(f.untracedAddedNs),
    ]),
  ]));
  out.push('');
  out.push(`  ns/syscall, medians; untraced pid: sensor attached, pid filter on another (idle) process. DeepFlow measured ${DEEPFLOW_ADDED} per hooked syscall.`);
  out.push('  per-round range (min-max ns/syscall):');
  for (const f of figures) {
    out.push(`    ${sizeText(f.size).padEnd(7)} without ${spread(f.rounds.without)}, traced ${spread(f.rounds.traced)}, untraced ${spread(f.rounds.untraced)}`);
  }
  out.push('');
  out.push('Delivery while traced (every send and recv must reach JavaScript, or the traced figure is the cheaper drop path):');
  for (const f of figures) {
    const d = f.delivery;
    out.push(`  ${sizeText(f.size).padEnd(7)} data events ${count(d.dataEvents)}/${count(d.expectedEvents)}, payload bytes ${count(d.payloadBytes)}/${count(d.expectedPayloadBytes)}, ringbufLost ${count(d.ringbufLost)}, loss events ${count(d.lostEvents)}: ${d.complete ? 'complete' : 'INCOMPLETE'}`);
  }
  if (figures.some((f) => f.bpfPrograms)) {
    out.push('');
    out.push('Time inside the sensor\'s send/recv programs per traced syscall (kernel BPF statistics, one extra traced run):');
    for (const f of figures) {
      const p = f.bpfPrograms;
      if (p) out.push(`  ${sizeText(f.size).padEnd(7)} entry ${ns(p.entryNs)} + exit ${ns(p.exitNs)} = ${ns(p.totalNs)} of the ${added(f.addedNs)} added`);
    }
  }
  const missed = figures.filter((f) => !f.targetMet);
  out.push('');
  out.push(missed.length
    ? `Target +${TARGET_ADDED_NS} ns/syscall at the default capture: MISSED for ${missed.map((f) => sizeText(f.size)).join(', ')}.`
    : `Target +${TARGET_ADDED_NS} ns/syscall at the default capture: met for every size.`);
  if (disturbedRuns === undefined) out.push('Could not check for other Hydrophone sensors (bpftool missing?): if any ran, they inflate every figure.');
  else if (disturbedRuns > 0) out.push(`WARNING: other Hydrophone sensors were loaded during ${disturbedRuns} of ${rounds * MODES.length} mode runs; they hook the same syscalls and inflate the figures. Rerun on a quiet machine.`);
  else out.push('No other Hydrophone sensor was loaded during the runs.');
  const noisy = others.filter((c) => c > BUSY_OTHER_CORES).length;
  out.push(`Other load on the machine during the loops: median ${median(others).toFixed(2)} cores, max ${Math.max(...others).toFixed(2)}`
    + (noisy ? `; ${noisy} of ${others.length} loops ran beside more than ${BUSY_OTHER_CORES} cores of other work: WARNING, those figures are noisy, rerun on a quiet machine.` : ' (quiet).'));
  out.push(`(${elapsedS.toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch(failWith(BENCH));
