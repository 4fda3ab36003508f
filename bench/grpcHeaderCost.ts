/**
 * Added cost per gRPC call of the Go HTTP/2 header uprobes (issue 5):
 * grpc-go's transport functions that hold header blocks in plaintext
 * (bpf/lib/goH2.h) are probed in the Go echo peer of test/peers, client
 * and server, beside its crypto/tls uprobes. A unary call over TLS fires
 * the header probes six times: the client's request block (written) and
 * the response's headers and trailers (read), the server's request block
 * (read) and its headers and trailers (written).
 *
 * One server and one client connection, opened before any sensor (the
 * case the probes are for); the client times each of N unary calls of 64
 * bytes and reports their median. Three modes, alternated round by round
 * so that drift on the machine spreads over all of them:
 *
 *   without   no sensor loaded;
 *   tls       sensor filtered to the two pids, Go crypto/tls uprobes only;
 *   headers   the same with the header uprobes too.
 *
 * Prints the median ns per call of each mode (the median of the rounds'
 * medians), and the header probes' share (headers minus tls). A headers
 * round counts only if the sensor delivered six header blocks per call.
 *
 * With --bpf-stats, one more headers run with the kernel's BPF statistics
 * on tells how long the header programs themselves run (the rest of the
 * added cost: the traps into the kernel, and delivering the events).
 *
 * --stack nethttp measures net/http's HTTP/2 instead (the peer's HTTPS
 * client and server, ALPN h2, one connection opened before any sensor):
 * N GET requests, four blocks per request (the client's request written
 * and response read, the server's request read and response written).
 * Its written blocks are gathered field by field: each request also fires
 * a start probe and one probe per field on both sides (hp_up_go_h2_start,
 * hp_up_go_h2_field), all in the figure.
 *
 * usage: node bench/grpcHeaderCost.ts [--json] [--rounds N] [--calls N] [--bpf-stats] [--stack grpc|nethttp]
 */
import type { SensorEvent } from '../src/source/events.ts';
import { requireBpf, openSource, drained, failWith, BenchError } from './support/preflight.ts';
import { parseArgsOrExit } from './support/options.ts';
import { median, table, count } from './support/figures.ts';
import { otherSensors } from './support/otherSensors.ts';
import { programRuns, withBpfStats } from './support/bpfStats.ts';
import { goPeerBinaries, GrpcSession, HttpsClient, httpsServerArgs } from '../test/support/goPeers.ts';
import { freePort, startServer } from '../test/support/peers.ts';

const BENCH = 'bench:grpc-headers';
const MODES = ['without', 'tls', 'headers'] as const;
type Mode = (typeof MODES)[number];
/** Header blocks per call (see above), by stack. */
const BLOCKS_PER_CALL = { grpc: 6, nethttp: 4 } as const;
type Stack = keyof typeof BLOCKS_PER_CALL;
/** What the peer's client is told to time `n` calls (both answer {"calls","medianNs","failed"}). */
const BENCH_COMMAND: Record<Stack, (n: number) => string> = { grpc: (n) => `Bench ${n}`, nethttp: (n) => `BENCH ${n}` };

interface BenchLine {
  calls: number;
  medianNs: number;
  failed: number;
}

/** The header program's run time per run, when `stats` asks for it. */
interface ProgramCost {
  runs: number;
  nsPerRun: number;
  nsPerCall: number;
}

async function round(stack: Stack, session: HttpsClient, mode: Mode, pids: number[], calls: number, stats?: ProgramCost[]): Promise<number> {
  const source = mode === 'without' ? undefined : openSource({ pids, tls: true, goHeaders: mode === 'headers' ? 'all' : 'off' });
  let blocks = 0;
  const ids = source?.programs().filter((p) => p.name.startsWith('hp_up_go_h2')).map((p) => p.id) ?? [];
  const before = stats && ids.length ? programRuns(ids) : undefined;
  const perCall = BLOCKS_PER_CALL[stack];
  try {
    source?.start((events: readonly SensorEvent[]) => {
      for (const e of events) if (e.type === 'headers') blocks++;
    });
    const line = JSON.parse(await session.send(BENCH_COMMAND[stack](calls), 120_000)) as BenchLine;
    if (line.failed) throw new BenchError(`${line.failed} of ${line.calls} calls failed in mode ${mode}`);
    if (source) await drained(source, mode);
    if (mode === 'headers' && blocks < perCall * calls) {
      throw new BenchError(`the sensor delivered ${blocks} header blocks for ${calls} calls (expected ${perCall} per call): ${source!.tls().summary}`);
    }
    if (mode !== 'headers' && blocks) throw new BenchError(`mode ${mode} delivered ${blocks} header blocks: the header probes were not off`);
    if (stats && before) {
      const after = programRuns(ids);
      let runs = 0;
      let ns = 0;
      for (const id of ids) {
        runs += after.get(id)!.runCount - before.get(id)!.runCount;
        ns += after.get(id)!.runTimeNs - before.get(id)!.runTimeNs;
      }
      stats.push({ runs, nsPerRun: runs ? ns / runs : 0, nsPerCall: ns / calls });
    }
    return line.medianNs;
  } finally {
    source?.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgsOrExit(BENCH, {
    options: {
      json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '2000' },
      'bpf-stats': { type: 'boolean', default: false }, stack: { type: 'string', default: 'grpc' },
    },
  });
  if (!(values.stack in BLOCKS_PER_CALL)) throw new BenchError(`--stack must be grpc or nethttp, got '${values.stack}'`);
  const stack = values.stack as Stack;
  const rounds = Number(values.rounds);
  const calls = Number(values.calls);
  requireBpf(BENCH);
  const others = otherSensors(0);
  if (others) process.stderr.write(`${BENCH}: warning: ${others} other Hydrophone sensor(s) loaded: their uprobes fire in every mode\n`);
  const peers = await goPeerBinaries();
  const port = await freePort();
  const server = await startServer(peers.go, stack === 'grpc' ? ['server', String(port), 'tls'] : httpsServerArgs(port), port);
  const session = stack === 'grpc' ? new GrpcSession(peers.go, `127.0.0.1:${port}`, true) : new HttpsClient(peers.go, `https://127.0.0.1:${port}`, 'h2');
  const results: Record<Mode, number[]> = { without: [], tls: [], headers: [] };
  const programCost: ProgramCost[] = [];
  try {
    await session.send(BENCH_COMMAND[stack](Math.min(calls, 500)), 120_000); // warm: connection, HPACK tables, the Go runtime
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        results[mode].push(await round(stack, session, mode, [server.pid, session.pid], calls));
        process.stderr.write('.');
      }
    }
    process.stderr.write('\n');
    if (values['bpf-stats']) await withBpfStats(() => round(stack, session, 'headers', [server.pid, session.pid], calls, programCost));
  } finally {
    await session.end();
    await server.stop();
  }
  const m = Object.fromEntries(MODES.map((mode) => [mode, median(results[mode])])) as Record<Mode, number>;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ stack, rounds, calls, medianNsPerCall: m, roundsNs: results, headerProbesNs: m.headers - m.tls, tlsProbesNs: m.tls - m.without, headerProgram: programCost[0] })}\n`);
    return;
  }
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} us`;
  const what = stack === 'grpc' ? 'gRPC unary call over TLS (grpc-go, 64 B)' : 'HTTP/2 GET over TLS (net/http, ALPN h2)';
  const perCall = BLOCKS_PER_CALL[stack];
  process.stdout.write(`${what}, ${count(calls)} calls x ${rounds} rounds, median per call:\n`);
  process.stdout.write(`${table([
    ['mode', 'per call', 'added'],
    ['without', us(m.without), ''],
    ['tls', us(m.tls), `+${us(m.tls - m.without)} (crypto/tls probes)`],
    ['headers', us(m.headers), `+${us(m.headers - m.tls)} (header probes, ${perCall} blocks per call)`],
  ])}\n`);
  const p = programCost[0];
  if (p) process.stdout.write(`header programs (BPF statistics): ${count(p.runs)} runs, ${(p.nsPerRun / 1000).toFixed(1)} us per run (${(p.nsPerCall / 1000).toFixed(1)} us per call)\n`);
}

main().catch(failWith(BENCH));
