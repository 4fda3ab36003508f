/**
 * Added cost per gRPC call of the TLS uprobes on grpcio's own BoringSSL
 * (issue 5): PyPI's wheel links it statically and strips it; the sensor
 * finds SSL_read and SSL_write by their error-site fingerprints
 * (src/source/bpf/boringsslFunctions.ts) and probes them, entry and
 * return. Every SSL_read and SSL_write of every grpcio process on the node
 * then traps into the kernel, traced or not.
 *
 * The Python echo peer of test/peers, server and client, over TLS; one
 * channel opened before any sensor (handshake done); the client times each
 * of N unary calls of 64 bytes and reports their median. Three modes,
 * alternated round by round so that drift on the machine spreads over all
 * of them:
 *
 *   without   no sensor loaded;
 *   tls       sensor filtered to the two pids, TLS uprobes on: plaintext
 *             captured and delivered;
 *   untraced  the same uprobes, sensor filtered to another pid: what every
 *             grpcio process that is not traced pays.
 *
 * Prints the median ns per call of each mode (the median of the rounds'
 * medians) and the plaintext events per call the tls mode delivered. A
 * tls round counts only if every call's plaintext arrived: at least four
 * events per call (client write and read, server read and write).
 *
 * With --bpf-stats, one more tls round with the kernel's BPF statistics on
 * counts the probe hits per call (entry programs of SSL_read and
 * SSL_write: grpc core calls SSL_read until it has nothing more, so some
 * hits return no bytes) and the time the programs themselves run.
 *
 * usage: node bench/grpcioTlsCost.ts [--json] [--rounds N] [--calls N] [--bpf-stats]
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
import { freePort, startServer } from '../test/support/peers.ts';
import { selfSigned } from '../test/support/pythonHttps.ts';

const BENCH = 'bench:grpcio-tls';
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

async function round(session: HttpsClient, mode: Mode, pids: number[], idlePid: number, calls: number, stats?: ProbeCost[]): Promise<{ ns: number; events: number }> {
  const source = mode === 'without' ? undefined : openSource({ pids: mode === 'tls' ? pids : [idlePid], tls: true });
  let events = 0;
  const entries = source?.programs().filter((p) => p.name === 'hp_up_ssl_read' || p.name === 'hp_up_ssl_write').map((p) => p.id) ?? [];
  const all = source?.programs().filter((p) => p.name.startsWith('hp_up_ssl') || p.name.startsWith('hp_urp_ssl')).map((p) => p.id) ?? [];
  const before = stats ? programRuns(all) : undefined;
  try {
    if (source && !source.tls().attached.some((b) => b.foundBy)) {
      throw new BenchError(`grpcio's BoringSSL was not probed: ${source.tls().summary}; ${source.tls().skipped.map((s) => `${s.path}: ${s.reason}`).join('; ')}`);
    }
    source?.start((batch: readonly SensorEvent[]) => {
      for (const e of batch) if (e.type === 'data' && e.tls && pids.includes(e.pid)) events++;
    });
    const line = JSON.parse(await session.send(`Bench ${calls}`, 300_000)) as BenchLine;
    if (line.failed) throw new BenchError(`${line.failed} of ${line.calls} calls failed in mode ${mode}`);
    if (source) await drained(source, mode);
    if (mode === 'tls' && events < MIN_EVENTS_PER_CALL * calls) {
      throw new BenchError(`the sensor delivered ${events} plaintext events for ${calls} calls (at least ${MIN_EVENTS_PER_CALL} per call expected)`);
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
      json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '2000' },
      'bpf-stats': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const calls = Number(values.calls);
  requireBpf(BENCH);
  const others = otherSensors(0);
  if (others) process.stderr.write(`${BENCH}: warning: ${others} other Hydrophone sensor(s) loaded: their uprobes fire in every mode\n`);
  const python = (await preparedPeerPaths()).get('python');
  if (!python) throw new BenchError('test/peers/prepare.sh printed no python= line');
  const echo = path.join(peersDir, 'python/echo.py');
  const dir = mkdtempSync(path.join(tmpdir(), 'hp-bench-grpcio-'));
  const cert = selfSigned(dir);
  const port = await freePort();
  const server = await startServer(python, [echo, 'server', String(port), 'tls', cert.cert, cert.key], port);
  const session = new HttpsClient(python, '', 'h2', [echo, 'session', `127.0.0.1:${port}`, 'tls', cert.cert]);
  const idle = spawn('sleep', ['3600'], { stdio: 'ignore' });
  const results: Record<Mode, number[]> = { without: [], tls: [], untraced: [] };
  const eventsPerCall: number[] = [];
  const probeCost: ProbeCost[] = [];
  try {
    await session.send(`Bench ${Math.min(calls, 500)}`, 300_000); // warm: the channel, its handshake, the interpreter
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const { ns, events } = await round(session, mode, [server.pid, session.pid], idle.pid!, calls);
        results[mode].push(ns);
        if (mode === 'tls') eventsPerCall.push(events / calls);
        process.stderr.write('.');
      }
    }
    process.stderr.write('\n');
    if (values['bpf-stats']) await withBpfStats(() => round(session, 'tls', [server.pid, session.pid], idle.pid!, calls, probeCost));
  } finally {
    idle.kill();
    await session.end();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const m = Object.fromEntries(MODES.map((mode) => [mode, median(results[mode])])) as Record<Mode, number>;
  const perCall = median(eventsPerCall);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ rounds, calls, medianNsPerCall: m, roundsNs: results, tlsProbesNs: m.tls - m.without, untracedNs: m.untraced - m.without, eventsPerCall: perCall, probes: probeCost[0] })}\n`);
    return;
  }
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} us`;
  process.stdout.write(`gRPC unary call over TLS (grpcio client and server, stripped BoringSSL, 64 B), ${count(calls)} calls x ${rounds} rounds, median per call:\n`);
  process.stdout.write(`${table([
    ['mode', 'per call', 'added'],
    ['without', us(m.without), ''],
    ['tls', us(m.tls), `+${us(m.tls - m.without)} (${perCall.toFixed(1)} plaintext events per call)`],
    ['untraced', us(m.untraced), `+${us(m.untraced - m.without)} (probes hit, nothing traced)`],
  ])}\n`);
  const p = probeCost[0];
  if (p) process.stdout.write(`probes (BPF statistics, one more tls round): ${p.hitsPerCall.toFixed(1)} SSL_read/SSL_write calls per gRPC call, ${us(p.nsPerCall)} in the programs per call\n`);
}

main().catch(failWith(BENCH));
