/**
 * Added cost per request of the TLS uprobes on the stacks found without
 * OpenSSL's exported API (issue 5), client and server of one stack on one
 * connection opened before any sensor (handshake done); the client times
 * each of N requests and reports their median:
 *
 *   --stack grpcio        grpcio's own BoringSSL, linked statically and
 *                         stripped (PyPI's wheel): SSL_read and SSL_write
 *                         found by their error-site fingerprints
 *                         (src/source/bpf/boringsslFunctions.ts); N unary
 *                         calls of 64 bytes (test/peers/python/echo.py);
 *   --stack rustls        rustls on std::net (StreamOwned: Writer::write,
 *                         Reader::read), N `GET /bench` (test/peers/rust);
 *   --stack rustls-tokio  rustls through tokio-rustls (write_vectored,
 *                         into_first_chunk, consume), the same requests.
 *
 * Every probed call of every process that maps the binary traps into the
 * kernel, traced or not. Three modes, alternated round by round so that
 * drift on the machine spreads over all of them:
 *
 *   without   no sensor loaded;
 *   tls       sensor filtered to the two pids, TLS uprobes on: plaintext
 *             captured and delivered;
 *   untraced  the same uprobes, sensor filtered to another pid: what every
 *             grpcio process that is not traced pays.
 *
 * Prints the median ns per request of each mode (the median of the rounds'
 * medians) and the plaintext events per request the tls mode delivered. A
 * tls round counts only if every request's plaintext arrived: at least
 * four events each (client write and read, server read and write).
 *
 * With --bpf-stats, one more tls round with the kernel's BPF statistics on
 * counts the probe hits per request (entry programs: grpc core calls
 * SSL_read until it has nothing more, tokio-rustls asks for a chunk when
 * there is none, so some hits carry no bytes) and the time the programs
 * themselves run.
 *
 * usage: node bench/tlsStackCost.ts [--stack grpcio|rustls|rustls-tokio] [--json] [--rounds N] [--calls N] [--bpf-stats]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SensorEvent } from '../src/source/events.ts';
import { requireBpf, openSource, drained, failWith, BenchError } from './support/preflight.ts';
import { parseArgsOrExit } from './support/options.ts';
import { median, table, count } from './support/figures.ts';
import { otherSensors } from './support/otherSensors.ts';
import { programRuns, withBpfStats } from './support/bpfStats.ts';
import { HttpsClient } from '../test/support/goPeers.ts';
import { peersDir, preparedPeerPaths } from '../test/support/grpcPeers.ts';
import { freePort, startServer, type Server } from '../test/support/peers.ts';
import { leafCertificate, selfSigned } from '../test/support/pythonHttps.ts';

const BENCH = 'bench:tls-stacks';
const STACKS = ['grpcio', 'rustls', 'rustls-tokio'] as const;
type Stack = (typeof STACKS)[number];
const MODES = ['without', 'tls', 'untraced'] as const;
type Mode = (typeof MODES)[number];
/** Plaintext events a unary call makes at least: the client's write and read, the server's read and write. */
const MIN_EVENTS_PER_CALL = 4;

interface BenchLine {
  calls: number;
  medianNs: number;
  failed: number;
}

/** Probe hits and BPF run time per call, from the kernel's statistics. */
interface ProbeCost {
  hitsPerCall: number;
  nsPerCall: number;
}

/** The load: its server and a client session on one connection, and how it is asked to time n requests. */
interface Load {
  server: Server;
  session: HttpsClient;
  bench: (n: number) => string;
  /** The probed binary, as the attacher lists it. */
  probed: (b: { path: string; functions: readonly string[]; foundBy?: string }) => boolean;
  /** Entry programs: one run per probe hit. */
  entries: readonly string[];
  /** Every program of the stack's probes. */
  programs: (name: string) => boolean;
}

async function startLoad(stack: Stack, dir: string): Promise<Load> {
  const paths = await preparedPeerPaths();
  const port = await freePort();
  if (stack === 'grpcio') {
    const python = paths.get('python');
    if (!python) throw new BenchError('test/peers/prepare.sh printed no python= line');
    const echo = path.join(peersDir, 'python/echo.py');
    const cert = selfSigned(dir);
    const server = await startServer(python, [echo, 'server', String(port), 'tls', cert.cert, cert.key], port);
    return {
      server,
      session: new HttpsClient(python, '', 'h2', [echo, 'session', `127.0.0.1:${port}`, 'tls', cert.cert]),
      bench: (n) => `Bench ${n}`,
      probed: (b) => !!b.foundBy,
      entries: ['hp_up_ssl_read', 'hp_up_ssl_write'],
      programs: (name) => name.startsWith('hp_up_ssl') || name.startsWith('hp_urp_ssl'),
    };
  }
  const peer = paths.get('rustls');
  if (!peer) throw new BenchError('test/peers/prepare.sh printed no rustls= line');
  const cert = leafCertificate(dir);
  const mode = stack === 'rustls-tokio' ? 'tokio-' : '';
  const server = await startServer(peer, [`${mode}https-server`, String(port), cert.cert, cert.key], port);
  return {
    server,
    session: new HttpsClient(peer, '', 'h1', [`${mode}https-client`, String(port), cert.cert]),
    bench: (n) => `BENCH ${n}`,
    probed: (b) => b.path === peer && b.functions.some((f) => f.startsWith('rustls')),
    entries: ['hp_up_rustls_write', 'hp_up_rustls_writev', 'hp_up_rustls_read', 'hp_up_rustls_chunk', 'hp_up_rustls_consume'],
    programs: (name) => name.includes('_rustls'),
  };
}

async function round(load: Load, mode: Mode, idlePid: number, calls: number, stats?: ProbeCost[]): Promise<{ ns: number; events: number }> {
  const pids = [load.server.pid, load.session.pid];
  const source = mode === 'without' ? undefined : openSource({ pids: mode === 'tls' ? pids : [idlePid], tls: true });
  let events = 0;
  const entries = source?.programs().filter((p) => load.entries.includes(p.name)).map((p) => p.id) ?? [];
  const all = source?.programs().filter((p) => load.programs(p.name)).map((p) => p.id) ?? [];
  const before = stats ? programRuns(all) : undefined;
  try {
    if (source && !source.tls().attached.some(load.probed)) {
      throw new BenchError(`the stack's TLS library was not probed: ${source.tls().summary}; ${source.tls().skipped.map((s) => `${s.path}: ${s.reason}`).join('; ')}`);
    }
    source?.start((batch: readonly SensorEvent[]) => {
      for (const e of batch) if (e.type === 'data' && e.tls && pids.includes(e.pid)) events++;
    });
    const line = JSON.parse(await load.session.send(load.bench(calls), 300_000)) as BenchLine;
    if (line.failed) throw new BenchError(`${line.failed} of ${line.calls} calls failed in mode ${mode}`);
    if (source) await drained(source, mode);
    if (mode === 'tls' && events < MIN_EVENTS_PER_CALL * calls) {
      throw new BenchError(`the sensor delivered ${events} plaintext events for ${calls} requests (at least ${MIN_EVENTS_PER_CALL} each expected)`);
    }
    if (mode !== 'tls' && events) throw new BenchError(`mode ${mode} delivered ${events} plaintext events of the load`);
    if (stats && before) {
      const after = programRuns(all);
      const delta = (id: number, k: 'runCount' | 'runTimeNs') => (after.get(id)?.[k] ?? 0) - (before.get(id)?.[k] ?? 0);
      const hits = entries.reduce((n, id) => n + delta(id, 'runCount'), 0);
      const ns = all.reduce((n, id) => n + delta(id, 'runTimeNs'), 0);
      stats.push({ hitsPerCall: hits / calls, nsPerCall: ns / calls });
    }
    return { ns: line.medianNs, events };
  } finally {
    source?.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgsOrExit(BENCH, {
    options: {
      stack: { type: 'string', default: 'grpcio' }, json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '5' },
      calls: { type: 'string', default: '2000' }, 'bpf-stats': { type: 'boolean', default: false },
    },
  });
  if (!(STACKS as readonly string[]).includes(values.stack)) throw new BenchError(`--stack must be one of ${STACKS.join(', ')}, got '${values.stack}'`);
  const stack = values.stack as Stack;
  const rounds = Number(values.rounds);
  const calls = Number(values.calls);
  requireBpf(BENCH);
  const others = otherSensors(0);
  if (others) process.stderr.write(`${BENCH}: warning: ${others} other Hydrophone sensor(s) loaded: their uprobes fire in every mode\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'hp-bench-tls-stack-'));
  const idle = spawn('sleep', ['3600'], { stdio: 'ignore' });
  const results: Record<Mode, number[]> = { without: [], tls: [], untraced: [] };
  const eventsPerCall: number[] = [];
  const probeCost: ProbeCost[] = [];
  let load: Load | undefined;
  try {
    load = await startLoad(stack, dir);
    await load.session.send(load.bench(Math.min(calls, 500)), 300_000); // warm: the connection, its handshake, the runtime
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const { ns, events } = await round(load, mode, idle.pid!, calls);
        results[mode].push(ns);
        if (mode === 'tls') eventsPerCall.push(events / calls);
        process.stderr.write('.');
      }
    }
    process.stderr.write('\n');
    if (values['bpf-stats']) await withBpfStats(() => round(load!, 'tls', idle.pid!, calls, probeCost));
  } finally {
    idle.kill();
    await load?.session.end();
    await load?.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const m = Object.fromEntries(MODES.map((mode) => [mode, median(results[mode])])) as Record<Mode, number>;
  const perCall = median(eventsPerCall);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ stack, rounds, calls, medianNsPerCall: m, roundsNs: results, tlsProbesNs: m.tls - m.without, untracedNs: m.untraced - m.without, eventsPerCall: perCall, probes: probeCost[0] })}\n`);
    return;
  }
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} us`;
  const what = {
    grpcio: 'gRPC unary call over TLS (grpcio client and server, stripped BoringSSL, 64 B)',
    rustls: 'HTTP/1.1 GET over rustls (std::net, StreamOwned, client and server)',
    'rustls-tokio': 'HTTP/1.1 GET over rustls (tokio-rustls, client and server)',
  }[stack];
  process.stdout.write(`${what}, ${count(calls)} requests x ${rounds} rounds, median per request:\n`);
  process.stdout.write(`${table([
    ['mode', 'per request', 'added'],
    ['without', us(m.without), ''],
    ['tls', us(m.tls), `+${us(m.tls - m.without)} (${perCall.toFixed(1)} plaintext events per request)`],
    ['untraced', us(m.untraced), `+${us(m.untraced - m.without)} (probes hit, nothing traced)`],
  ])}\n`);
  const p = probeCost[0];
  if (p) process.stdout.write(`probes (BPF statistics, one more tls round): ${p.hitsPerCall.toFixed(1)} probed calls per request, ${us(p.nsPerCall)} in the programs per request\n`);
}

main().catch(failWith(BENCH));
