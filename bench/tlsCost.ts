/**
 * Added cost per TLS library call (issue 5, Benchmark). Uprobes trap into
 * the kernel on every call of a probed function, in every process that maps
 * the binary: this measures what that adds to SSL_write and SSL_read
 * (libssl.so.3, bench/native/sslLoop.c) and, when the sensor probes Go's
 * crypto/tls, to tls.Conn Write and Read (bench/native/goTlsLoop), beside
 * the plain syscall cost the foundation benchmark (bench:syscall) measures,
 * taken here in the same rounds (bench/native/sendRecvLoop.c).
 *
 * Each load is a child on one loopback TCP pair, client and server in one
 * process, timing each call itself; sizes 64 B, 1 KiB and 16 KiB (one TLS
 * record). Four modes, alternated round by round so that drift on the
 * machine spreads over all of them:
 *
 *   without   no sensor loaded;
 *   syscalls  sensor filtered to the loads' pids, TLS uprobes off: the
 *             library's own socket syscalls are hooked (ciphertext);
 *   tls       the same with the TLS uprobes attached: plaintext captured
 *             and delivered, ciphertext no longer emitted;
 *   untraced  uprobes attached, sensor filtered to another pid: what every
 *             process on the node that uses the library and is not traced
 *             pays (the trap, and a BPF program that stops at the filter).
 *
 * Prints the median ns per call of each mode, the added cost (tls minus
 * without), the uprobes' share of it (tls minus syscalls) and the untraced
 * cost. A tls figure only counts if the sensor delivered every call's
 * plaintext, so each tls run's events are counted against what the load
 * made. With --bpf-stats, one more tls run per load and size with the
 * kernel's BPF statistics on tells how much of the added cost is spent in
 * the sensor's programs themselves (the rest: the trap, the return probe's
 * trampoline, caches).
 *
 * On a shared machine, --wait-others S waits up to S seconds before each
 * mode for other Hydrophone sensors (a test run, another bench) to unload,
 * and runs a mode again (up to 3 times) when one was loaded meanwhile:
 * their uprobes fire in every mode, "without" included.
 *
 * With --ssl-bio, the tls and untraced modes also have the SSL BIO probes
 * (uprobes on libcrypto's BIO_read/BIO_write(_ex), bpf/lib/sslBio.h): the
 * OpenSSL load never uses an SSL BIO, so the difference from a run without
 * the flag is what they cost every other OpenSSL program (SSL_read and
 * SSL_write each go through BIO_read/BIO_write on their socket BIO).
 *
 * usage: node bench/tlsCost.ts [--json] [--rounds N] [--iterations N] [--bpf-stats] [--wait-others S] [--ssl-bio]
 */
import os from 'node:os';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BpfSource } from '../src/source/bpf/bpfSource.ts';
import type { SensorEvent } from '../src/source/events.ts';
import { Enums } from '../src/source/bpf/eventLayout.ts';
import { nativeProgram, ReadyChild } from './support/nativeProgram.ts';
import { goProgram } from './support/goProgram.ts';
import { requireBpf, openSource, drained, fail, failWith, BenchError } from './support/preflight.ts';
import { parseArgsOrExit } from './support/options.ts';
import { median, table, sizeText, count } from './support/figures.ts';
import { otherSensors } from './support/otherSensors.ts';
import { withBpfStats, programRuns } from './support/bpfStats.ts';
import { sampleCpu, otherCores } from './support/machineLoad.ts';

const BENCH = 'bench:tls';
const SIZES = [64, 1024, 16384] as const;
const MODES = ['without', 'syscalls', 'tls', 'untraced'] as const;
type Mode = (typeof MODES)[number];
/** plain: send/recv (the foundation's load); openssl: SSL_write/SSL_read; go: tls.Conn Write/Read. */
type Load = 'plain' | 'openssl' | 'go';
/** With --wait-others: how many times a mode run disturbed by another sensor is repeated. */
const RETRIES_WHEN_DISTURBED = 3;
/** Other work above this many cores during a loop makes its figure suspect. */
const BUSY_OTHER_CORES = 0.2;

/** sendRecvLoop's line. */
interface PlainResult {
  size: number;
  iterations: number;
  warmup: number;
  nsPerSyscall: number;
  cpuSeconds: number;
}

/** sslLoop's and goTlsLoop's line. */
interface CallResult {
  size: number;
  iterations: number;
  warmup: number;
  writeNs: number;
  readNs: number;
  writeCalls: number;
  readCalls: number;
  cipher: string;
  library: string;
  cpuSeconds: number;
}

/** One loop's figures: ns per write-side and read-side call (plain: both are ns/syscall). */
interface LoopFigures {
  writeNs: number;
  readNs: number;
  /** Calls the load made, warm-up included: what a traced run must deliver. */
  calls: number;
  bytes: number;
  cpuSeconds: number;
  cipher?: string;
  library?: string;
}

/** What the sensor delivered for one traced loop. */
interface Delivery {
  expectedEvents: number;
  events: number;
  expectedBytes: number;
  bytes: number;
  /** Data events of the socket (ciphertext for a TLS load); 0 expected in tls mode. */
  socketEvents: number;
  ringbufLost: bigint;
  lostEvents: number;
}

const { values: args } = parseArgsOrExit(BENCH, {
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '20000' },
    'bpf-stats': { type: 'boolean', default: false },
    'wait-others': { type: 'string', default: '0' },
    'ssl-bio': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const iterations = Number(args.iterations);
const warmup = Math.ceil(iterations / 10);
const waitOthersS = Number(args['wait-others']);
const SENSOR = { captureBytes: Enums.HP_CAPTURE_DEFAULT, ringBufferBytes: 64 << 20, wakeupBytes: 256 * 1024 };
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(iterations) || iterations < 1) {
  fail(BENCH, '--rounds and --iterations take positive integers');
}
if (!Number.isFinite(waitOthersS) || waitOthersS < 0) fail(BENCH, '--wait-others takes a number of seconds');

function progress(text: string): void {
  if (!args.json) process.stderr.write(text);
}

/** The command lines of each load, built once. */
interface Loads {
  plain: string;
  openssl: { bin: string; cert: string; key: string };
  /** Set only when the sensor attaches Go crypto/tls uprobes to it. */
  go?: string;
}

function child(loads: Loads, load: Load, size: number): ReadyChild<PlainResult | CallResult> {
  const n = [String(size), String(iterations), String(warmup)];
  switch (load) {
    case 'plain': return new ReadyChild(loads.plain, n);
    case 'openssl': return new ReadyChild(loads.openssl.bin, [loads.openssl.cert, loads.openssl.key, ...n]);
    case 'go': return new ReadyChild(loads.go!, n);
  }
}

function figuresOf(load: Load, r: PlainResult | CallResult): LoopFigures {
  const all = r.iterations + r.warmup;
  if (load === 'plain') {
    const p = r as PlainResult;
    return { writeNs: p.nsPerSyscall, readNs: p.nsPerSyscall, calls: 2 * all, bytes: 2 * all * p.size, cpuSeconds: p.cpuSeconds };
  }
  const c = r as CallResult;
  return { writeNs: c.writeNs, readNs: c.readNs, calls: c.writeCalls + c.readCalls, bytes: 2 * all * c.size, cpuSeconds: c.cpuSeconds, cipher: c.cipher, library: c.library };
}

/** Counts data events per pid: TLS plaintext and socket bytes apart. */
class DataCounter {
  readonly tls = new Map<number, { events: number; bytes: number }>();
  readonly socket = new Map<number, { events: number; bytes: number }>();
  lostEvents = 0;

  readonly sink = (batch: readonly SensorEvent[]): void => {
    for (const ev of batch) {
      if (ev.type === 'data') {
        const m = ev.tls ? this.tls : this.socket;
        const c = m.get(ev.pid) ?? { events: 0, bytes: 0 };
        c.events++;
        c.bytes += ev.payload.length;
        m.set(ev.pid, c);
      } else if (ev.type === 'lost') {
        this.lostEvents++;
      }
    }
  };

  total(): number {
    let n = 0;
    for (const m of [this.tls, this.socket]) for (const c of m.values()) n += c.events;
    return n;
  }
}

interface ModeResult {
  attach: string;
  figures: Map<string, LoopFigures>;
  delivery: Map<string, Delivery>;
  otherSensors: number | undefined;
  otherCores: number[];
}

const key = (load: Load, size: number) => `${load}/${size}`;

function sensorOptions(mode: Mode, pids: number[], idlePid: number) {
  return { ...SENSOR, pids: mode === 'untraced' ? [idlePid] : pids, tls: mode !== 'syscalls', sslBio: args['ssl-bio'] && mode !== 'syscalls' };
}

/**
 * One mode of one round: every load and size started and connected (TLS
 * handshakes done) first, then the sensor, then the loops one after the
 * other. Uprobes reach processes that mapped the binary before they were
 * attached, so attaching after the handshakes is what a running node sees.
 */
async function runMode(mode: Mode, loads: Loads, list: readonly Load[], idlePid: number): Promise<ModeResult> {
  const runs = list.flatMap((load) => SIZES.map((size) => ({ load, size, child: child(loads, load, size) })));
  let source: BpfSource | undefined;
  try {
    const pids = await Promise.all(runs.map((r) => r.child.ready()));
    const counter = new DataCounter();
    if (mode !== 'without') {
      source = openSource(sensorOptions(mode, pids, idlePid));
      source.start(counter.sink);
      if (mode !== 'syscalls') expectAttached(source, loads, list);
    }
    const result: ModeResult = { attach: source?.attach ?? '', figures: new Map(), delivery: new Map(), otherSensors: undefined, otherCores: [] };
    const checkOthers = (): void => {
      const n = otherSensors(source ? 1 : 0);
      if (n !== undefined) result.otherSensors = Math.max(result.otherSensors ?? 0, n);
    };
    checkOthers();
    for (const [i, { load, size, child: c }] of runs.entries()) {
      const lostBefore = source?.kernelCounters().ringbufLost ?? 0n;
      const lostEventsBefore = counter.lostEvents;
      const cpuBefore = sampleCpu();
      const ownBefore = process.cpuUsage();
      const f = figuresOf(load, await c.go());
      const own = process.cpuUsage(ownBefore);
      result.otherCores.push(otherCores(cpuBefore, sampleCpu(), f.cpuSeconds + (own.user + own.system) / 1e6));
      result.figures.set(key(load, size), f);
      checkOthers();
      if (!source) continue;
      await drained(source, `${mode}, ${load}, ${sizeText(size)}`);
      if (mode === 'untraced') continue;
      const pid = pids[i]!;
      // Plaintext for a TLS load with uprobes; socket bytes otherwise.
      const plaintext = mode === 'tls' && load !== 'plain';
      const got = (plaintext ? counter.tls : counter.socket).get(pid) ?? { events: 0, bytes: 0 };
      result.delivery.set(key(load, size), {
        // Only the uprobes' calls are known exactly: a library read may take two syscalls (record header, body).
        expectedEvents: plaintext || load === 'plain' ? f.calls : got.events,
        events: got.events,
        expectedBytes: plaintext || load === 'plain' ? f.bytes : got.bytes,
        bytes: got.bytes,
        socketEvents: counter.socket.get(pid)?.events ?? 0,
        ringbufLost: source.kernelCounters().ringbufLost - lostBefore,
        lostEvents: counter.lostEvents - lostEventsBefore,
      });
    }
    if (mode === 'untraced' && counter.total() > 0) {
      throw new BenchError(`the sensor filtered to pid ${idlePid} delivered ${counter.total()} data events: the pid filter does not work, the untraced figure would be wrong`);
    }
    return result;
  } finally {
    for (const r of runs) r.child.kill();
    source?.close();
  }
}

/** With uprobes on, libssl.so.3 (and the Go load, when measured) must be among the probed binaries. */
function expectAttached(source: BpfSource, loads: Loads, list: readonly Load[]): void {
  const attached = source.tls().attached;
  if (!attached.some((b) => path.basename(b.path) === 'libssl.so.3')) {
    throw new BenchError(`the sensor attached no uprobes to libssl.so.3 (${source.tls().summary}): the TLS figures would be those of an unprobed library`);
  }
  if (args['ssl-bio'] && !attached.some((b) => b.kind === 'libcrypto' && path.basename(b.path) === 'libcrypto.so.3')) {
    throw new BenchError(`--ssl-bio: the sensor attached no SSL BIO uprobes to libcrypto.so.3 (${source.tls().summary})`);
  }
  if (list.includes('go') && !attached.some((b) => b.path === loads.go)) {
    throw new BenchError(`the sensor attached no uprobes to ${loads.go} this time (${source.tls().summary})`);
  }
}

/**
 * Whether the sensor puts Go crypto/tls uprobes on the Go load: a sensor
 * with TLS on, pointed at one started copy, says which binaries it probed
 * and which it skipped and why.
 */
async function goSupport(): Promise<{ bin: string; goVersion: string } | { reason: string }> {
  const built = goProgram('goTlsLoop');
  if (!built.ok) return { reason: built.reason };
  const bin = realpathSync(built.bin);
  const c = new ReadyChild<CallResult>(bin, ['64', '1', '0']);
  let source: BpfSource | undefined;
  try {
    const pid = await c.ready();
    source = openSource({ ...SENSOR, pids: [pid], tls: true });
    const tls = source.tls();
    if (tls.attached.some((b) => b.path === bin)) return { bin, goVersion: built.goVersion };
    const skipped = tls.skipped.find((s) => s.path.startsWith(bin));
    if (skipped) return { reason: `the sensor does not trace ${path.basename(bin)} (${built.goVersion}): ${skipped.reason}` };
    return { reason: `the sensor attached no uprobes to a ${built.goVersion} crypto/tls program and named no reason: Go crypto/tls probes (src/source/bpf/tlsAttach.ts, src/source/golang) are not in this build yet` };
  } finally {
    c.kill();
    source?.close();
  }
}

/** Waits (up to --wait-others seconds) until no other Hydrophone sensor is loaded. */
async function othersGone(): Promise<void> {
  const deadline = performance.now() + waitOthersS * 1000;
  while ((otherSensors(0) ?? 0) > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 500));
}

/** Time inside the sensor's programs per call: the uprobes, and the socket syscalls' programs. */
interface ProgramCost {
  uprobeNs: number;
  syscallNs: number;
}

/**
 * One extra tls run per TLS load and size with BPF statistics on. Runs of
 * the same programs by other processes during the loop (which stop at the
 * pid filter) are included, a small overcount.
 */
async function programCost(loads: Loads, list: readonly Load[], idlePid: number): Promise<Map<string, ProgramCost>> {
  return withBpfStats(async () => {
    const costs = new Map<string, ProgramCost>();
    for (const load of list.filter((l) => l !== 'plain')) {
      for (const size of SIZES) {
        const c = child(loads, load, size);
        let source: BpfSource | undefined;
        try {
          const pid = await c.ready();
          source = openSource(sensorOptions('tls', [pid], idlePid));
          source.start(() => {});
          const programs = source.programs().filter((p) => p.attached);
          const uprobes = programs.filter((p) => /^uprobe|^uretprobe/.test(p.section)).map((p) => p.id);
          const syscalls = programs.filter((p) => /_(read|write)$/.test(p.name)).map((p) => p.id);
          const before = programRuns([...uprobes, ...syscalls]);
          const f = figuresOf(load, await c.go());
          const after = programRuns([...uprobes, ...syscalls]);
          const ns = (ids: number[]) => ids.reduce((n, id) => n + (after.get(id)?.runTimeNs ?? 0) - (before.get(id)?.runTimeNs ?? 0), 0);
          costs.set(key(load, size), { uprobeNs: ns(uprobes) / f.calls, syscallNs: ns(syscalls) / f.calls });
          await drained(source, `BPF statistics, ${load}, ${sizeText(size)}`);
        } finally {
          c.kill();
          source?.close();
        }
      }
    }
    return costs;
  });
}

/** A self-signed certificate for the OpenSSL load, made with the openssl CLI. */
function certificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
      '-days', '1', '-keyout', keyFile, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new BenchError(`openssl req failed (is the openssl CLI installed? apt-get install openssl): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
  return { cert, key: keyFile };
}

interface CallFigures {
  /** write: SSL_write / tls.Conn.Write / send; read: SSL_read / tls.Conn.Read / recv. */
  call: string;
  load: Load;
  size: number;
  withoutNs: number;
  syscallsNs: number;
  tlsNs: number;
  untracedNs: number;
  /** tls - without: all the sensor adds to a traced call. */
  addedNs: number;
  /** tls - syscalls: what the uprobes add on top of the socket hooks. */
  uprobesNs: number;
  /** untraced - without. */
  untracedAddedNs: number;
  rounds: Record<Mode, number[]>;
}

/** One label for both calls of a load. */
const LOAD_NAMES: Record<Load, string> = { plain: 'send/recv', openssl: 'SSL_write+read', go: 'tls.Conn W+R' };
const CALL_NAMES: Record<Load, [string, string]> = {
  plain: ['send/recv', 'send/recv'],
  openssl: ['SSL_write', 'SSL_read'],
  go: ['tls.Conn.Write', 'tls.Conn.Read'],
};

async function main(): Promise<void> {
  requireBpf(BENCH);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hp-bench-tls-'));
  const idle = spawn('sleep', ['3600'], { stdio: 'ignore' });
  idle.on('error', () => {}); // no pid then: reported below
  try {
    if (idle.pid === undefined) throw new BenchError('cannot start sleep(1) for the untraced mode');
    const loads: Loads = {
      plain: nativeProgram('sendRecvLoop'),
      // compileC puts flags before the source: without --no-as-needed the linker drops libraries no earlier object needs.
      openssl: { bin: nativeProgram('sslLoop', ['-Wl,--no-as-needed', '-lssl', '-lcrypto']), ...certificate(dir) },
    };
    progress('Go crypto/tls: ');
    const go = await goSupport();
    let goVersion = '';
    if ('bin' in go) {
      loads.go = go.bin;
      goVersion = go.goVersion;
      progress(`probed (${go.goVersion})\n`);
    } else {
      progress(`not measured: ${go.reason}\n`);
    }
    const list: Load[] = loads.go ? ['plain', 'openssl', 'go'] : ['plain', 'openssl'];
    await measure(loads, list, idle.pid, 'reason' in go ? go.reason : undefined, goVersion);
  } finally {
    idle.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(loads: Loads, list: readonly Load[], idlePid: number, goMissing: string | undefined, goVersion: string): Promise<void> {
  const samples = new Map<string, Record<Mode, LoopFigures[]>>();
  for (const load of list) for (const size of SIZES) samples.set(key(load, size), { without: [], syscalls: [], tls: [], untraced: [] });
  const deliveries = new Map<string, { mode: Mode; d: Delivery }[]>();
  const others: number[] = [];
  let attach = '';
  let disturbedModes = 0;
  let othersUnknown = false;
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
    progress(`round ${r + 1}/${rounds}:`);
    for (const mode of order) {
      progress(` ${mode}`);
      let result: ModeResult;
      for (let attempt = 1; ; attempt++) {
        await othersGone();
        result = await runMode(mode, loads, list, idlePid);
        if (!waitOthersS || !result.otherSensors || attempt === RETRIES_WHEN_DISTURBED + 1) break;
        progress(' (another sensor was loaded: again)');
      }
      attach ||= result.attach;
      if (result.otherSensors === undefined) othersUnknown = true;
      else if (result.otherSensors > 0) disturbedModes++;
      for (const [k, f] of result.figures) samples.get(k)![mode].push(f);
      for (const [k, d] of result.delivery) deliveries.set(k, [...(deliveries.get(k) ?? []), { mode, d }]);
      others.push(...result.otherCores);
    }
    progress('\n');
  }
  let programs: Map<string, ProgramCost> | undefined;
  if (args['bpf-stats']) {
    progress('BPF program time: one tls run per TLS load and size with kernel.bpf_stats_enabled\n');
    programs = await programCost(loads, list, idlePid);
  }

  const calls: CallFigures[] = [];
  for (const load of list) {
    for (const side of ['write', 'read'] as const) {
      if (load === 'plain' && side === 'read') continue; // one figure: ns per syscall, send and recv averaged
      for (const size of SIZES) {
        const s = samples.get(key(load, size))!;
        const pick = (m: Mode) => s[m].map((f) => (side === 'write' ? f.writeNs : f.readNs));
        const med = (m: Mode) => median(pick(m));
        calls.push({
          call: CALL_NAMES[load][side === 'write' ? 0 : 1],
          load,
          size,
          withoutNs: med('without'),
          syscallsNs: med('syscalls'),
          tlsNs: med('tls'),
          untracedNs: med('untraced'),
          addedNs: med('tls') - med('without'),
          uprobesNs: med('tls') - med('syscalls'),
          untracedAddedNs: med('untraced') - med('without'),
          rounds: { without: pick('without'), syscalls: pick('syscalls'), tls: pick('tls'), untraced: pick('untraced') },
        });
      }
    }
  }
  const delivery = [...deliveries].map(([k, list]) => {
    const [load, size] = k.split('/') as [Load, string];
    // The plain load's traced figure is the syscalls mode; a TLS load's is the tls mode.
    const mode: Mode = load === 'plain' ? 'syscalls' : 'tls';
    const ds = list.filter((x) => x.mode === mode).map((x) => x.d);
    const sum = (f: (d: Delivery) => number) => ds.reduce((n, d) => n + f(d), 0);
    const d = {
      load, size: Number(size), mode,
      expectedEvents: sum((x) => x.expectedEvents), events: sum((x) => x.events),
      expectedBytes: sum((x) => x.expectedBytes), bytes: sum((x) => x.bytes),
      socketEvents: sum((x) => x.socketEvents),
      ringbufLost: sum((x) => Number(x.ringbufLost)), lostEvents: sum((x) => x.lostEvents),
      // Lost records in the other traced mode spoil nothing here, but say the machine was overrun.
      lostElsewhere: list.filter((x) => x.mode !== mode).reduce((n, x) => n + Number(x.d.ringbufLost) + x.d.lostEvents, 0),
      complete: false,
    };
    d.complete = d.events === d.expectedEvents && d.bytes === d.expectedBytes && d.ringbufLost === 0 && d.lostEvents === 0
      && (load === 'plain' || d.socketEvents === 0);
    return d;
  });
  const first = (load: Load) => samples.get(key(load, SIZES[0]))!.without[0];
  const elapsedS = (performance.now() - started) / 1000;
  const context = {
    kernel: os.release(),
    cpus: os.availableParallelism(),
    attach,
    sensor: SENSOR,
    sslBio: args['ssl-bio'],
    rounds,
    iterations,
    warmup,
    openssl: { library: first('openssl')?.library, cipher: first('openssl')?.cipher },
    go: goMissing ? { measured: false, reason: goMissing } : { measured: true, version: goVersion, cipher: first('go')?.cipher },
    otherSensors: othersUnknown ? null : { disturbedRuns: disturbedModes, runs: rounds * MODES.length },
    otherLoadCores: { median: median(others), max: Math.max(...others), loopsAbove: { cores: BUSY_OTHER_CORES, loops: others.filter((c) => c > BUSY_OTHER_CORES).length, of: others.length } },
    elapsedS,
  };
  if (args.json) {
    const withPrograms = calls.map((c) => ({ ...c, ...(programs?.has(key(c.load, c.size)) && c.load !== 'plain' ? { bpfProgramsPerCall: programs.get(key(c.load, c.size)) } : {}) }));
    process.stdout.write(`${JSON.stringify({ bench: 'tlsCost', statistic: 'median', ...context, calls: withPrograms, delivery }, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push('Hydrophone: added cost per TLS library call (uprobes), beside the plain syscall');
  out.push('  loads: one loopback TCP pair per process, client and server in one thread, each call timed on its own:');
  out.push('    send/recv        send + recv(MSG_WAITALL) (the bench:syscall load), ns per syscall');
  out.push(`    SSL_write/read   ${context.openssl.library}, ${context.openssl.cipher}, socket BIO`);
  out.push(goMissing ? `    tls.Conn         not measured: ${goMissing}` : `    tls.Conn         ${goVersion} crypto/tls, ${context.go.cipher ?? ''}`);
  out.push(`  ${rounds} rounds x ${count(iterations)} iterations (+${count(warmup)} warm-up) per load, size and mode, modes alternated; median shown`);
  out.push(`  kernel ${os.release()}, ${os.availableParallelism()} CPUs, attach: ${attach}, capture ${SENSOR.captureBytes} B, ring ${SENSOR.ringBufferBytes >> 20} MiB, wakeup ${SENSOR.wakeupBytes} B`);
  if (args['ssl-bio']) out.push('  --ssl-bio: tls and untraced modes with the SSL BIO uprobes on libcrypto too (BIO_read/BIO_write(_ex))');
  out.push('');
  const ns = (n: number) => `${n.toFixed(0)} ns`;
  const added = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(0)} ns`;
  out.push(table([
    ['call', 'size', 'without', 'socket hooks', 'hooks + uprobes', 'added', 'of which uprobes', 'untraced pid', 'added (untraced)'],
    ...calls.map((c) => [
      c.call, sizeText(c.size), ns(c.withoutNs), ns(c.syscallsNs),
      c.load === 'plain' ? '-' : ns(c.tlsNs), c.load === 'plain' ? added(c.syscallsNs - c.withoutNs) : added(c.addedNs),
      c.load === 'plain' ? '-' : added(c.uprobesNs), ns(c.untracedNs), added(c.untracedAddedNs),
    ]),
  ]));
  out.push('');
  out.push('  ns per call, medians. socket hooks: sensor traced the pid, TLS uprobes off (what bench:syscall calls traced);');
  out.push('  hooks + uprobes: TLS uprobes on as well; added = hooks + uprobes - without (send/recv: socket hooks - without);');
  out.push('  of which uprobes = hooks + uprobes - socket hooks; untraced pid: uprobes attached, pid filter on another process.');
  out.push('  per-round range (min-max ns per call): without / socket hooks / hooks + uprobes / untraced');
  const spread = (v: readonly number[]) => `${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)}`;
  for (const c of calls) {
    out.push(`    ${c.call.padEnd(15)} ${sizeText(c.size).padEnd(7)} ${spread(c.rounds.without)} / ${spread(c.rounds.syscalls)} / ${c.load === 'plain' ? '-' : spread(c.rounds.tls)} / ${spread(c.rounds.untraced)}`);
  }
  out.push('');
  out.push('Delivery while traced (every call\'s bytes must reach JavaScript, or the figure is the cheaper drop path):');
  for (const d of delivery) {
    const what = d.load === 'plain' ? 'data events' : 'plaintext events';
    out.push(`  ${LOAD_NAMES[d.load].padEnd(15)} ${sizeText(d.size).padEnd(7)} ${what} ${count(d.events)}/${count(d.expectedEvents)}, bytes ${count(d.bytes)}/${count(d.expectedBytes)}`
      + `${d.load === 'plain' ? '' : `, ciphertext events ${count(d.socketEvents)}`}, ringbufLost ${count(d.ringbufLost)}, loss events ${count(d.lostEvents)}: ${d.complete ? 'complete' : 'INCOMPLETE'}`);
  }
  if (programs?.size) {
    out.push('');
    out.push('Time inside the sensor\'s programs per call, write and read calls averaged (kernel BPF statistics, one extra tls run):');
    for (const load of list.filter((l) => l !== 'plain')) {
      for (const size of SIZES) {
        const p = programs.get(key(load, size));
        const both = calls.filter((c) => c.load === load && c.size === size).map((c) => added(c.addedNs));
        if (p) out.push(`  ${LOAD_NAMES[load].padEnd(15)} ${sizeText(size).padEnd(7)} uprobe programs ${ns(p.uprobeNs)} + socket read/write programs ${ns(p.syscallNs)}, of the ${both.join(' / ')} added`);
      }
    }
  }
  out.push('');
  if (othersUnknown) out.push('Could not check for other Hydrophone sensors (bpftool missing?): if any ran, they inflate every figure.');
  else if (disturbedModes > 0) out.push(`WARNING: other Hydrophone sensors were loaded during ${disturbedModes} of ${rounds * MODES.length} mode runs; they hook the same syscalls and libraries and inflate the figures. Rerun on a quiet machine.`);
  else out.push('No other Hydrophone sensor was loaded during the runs.');
  const noisy = others.filter((c) => c > BUSY_OTHER_CORES).length;
  out.push(`Other load on the machine during the loops: median ${median(others).toFixed(2)} cores, max ${Math.max(...others).toFixed(2)}`
    + (noisy ? `; ${noisy} of ${others.length} loops ran beside more than ${BUSY_OTHER_CORES} cores of other work: WARNING, those figures are noisy, rerun on a quiet machine.` : ' (quiet).'));
  if (goMissing) out.push(`Go tls.Conn figure: not available yet: ${goMissing}.`);
  out.push(`(${elapsedS.toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch(failWith(BENCH));
