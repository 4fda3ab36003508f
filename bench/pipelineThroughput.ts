/**
 * Pipeline throughput, events -> spans with no export, on one core: small
 * HTTP/1.1 keep-alive exchanges as the live source delivers them (one
 * data event per syscall, batches of 1024 events). In the same run, on the
 * same bytes, our HTTP/1 parser alone and Node's native parser (llhttp)
 * as the reference. Prints figures; the targets are printed beside them.
 *
 *   node bench/pipelineThroughput.ts [--exchanges N] [--json]
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import type { SensorEvent, DataEvent, ConnOpenEvent } from '../src/source/events.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { http1Protocol } from '../src/protocols/http1/index.ts';
import { http2Protocol } from '../src/protocols/http2/index.ts';
import { recordUnaryCalls } from './support/grpcUnaryRecording.ts';

const { values } = parseArgs({ options: { exchanges: { type: 'string' }, json: { type: 'boolean' }, connections: { type: 'string' }, 'grpc-calls': { type: 'string' } } });
const GRPC_CALLS = Number(values['grpc-calls'] ?? 100_000);
const EXCHANGES = Number(values.exchanges ?? 300_000);
const CONNECTIONS = Number(values.connections ?? 64);

// What curl sends and nginx answers, byte for byte in shape.
const request = (i: number) =>
  Buffer.from(`GET /api/items/${i} HTTP/1.1\r\nHost: catalog.shop.svc:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n`);
const BODY = '{"id":123,"name":"widget","price":9.99}\n';
const response = Buffer.from(
  `HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 08:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: keep-alive\r\n\r\n${BODY}`,
);

function workload(): { batches: SensorEvent[][]; bytes: number; requests: Buffer[] } {
  const events: SensorEvent[] = [];
  const requests: Buffer[] = [];
  const pos = new Map<string, [number, number]>();
  let ts = 1_700_000_000_000_000_000n;
  for (let c = 0; c < CONNECTIONS; c++) {
    const conn = `1000-${c + 10}-${c}`;
    const open: ConnOpenEvent = {
      type: 'open', tsNs: ts, pid: 1000, tid: 1000, conn, fd: c + 10, comm: 'nginx', role: 'server', origin: 'accept',
      family: 'ipv4', local: { address: '10.0.0.1', port: 8080 }, remote: { address: '10.0.0.2', port: 40000 + c }, cgroupId: 1n,
    };
    events.push(open);
    pos.set(conn, [0, 0]);
  }
  let bytes = 0;
  for (let i = 0; i < EXCHANGES; i++) {
    const c = i % CONNECTIONS;
    const conn = `1000-${c + 10}-${c}`;
    const p = pos.get(conn)!;
    const req = request(i);
    requests.push(req);
    const data = (direction: 'ingress' | 'egress', payload: Buffer): DataEvent => {
      const d = direction === 'egress' ? 0 : 1;
      const ev: DataEvent = {
        type: 'data', tsNs: (ts += 1000n), pid: 1000, tid: 1000, conn, direction, pos: p[d]!, len: payload.length, payload,
        syscall: direction === 'egress' ? 'writev' : 'recvfrom', afterLoss: false, lengthOnly: false, tls: false,
      };
      p[d]! += payload.length;
      return ev;
    };
    events.push(data('ingress', req), data('egress', response));
    bytes += req.length + response.length;
  }
  const batches: SensorEvent[][] = [];
  for (let i = 0; i < events.length; i += 1024) batches.push(events.slice(i, i + 1024));
  return { batches, bytes, requests };
}

function timeIt(fn: () => number): { seconds: number; count: number } {
  const t0 = process.hrtime.bigint();
  const count = fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, count };
}

const { batches, bytes, requests } = workload();

// Warm up the JIT on a slice, then measure the whole.
for (let r = 0; r < 2; r++) {
  const warm = new Pipeline({ write() {}, close: async () => {} });
  for (const b of batches.slice(0, 200)) warm.accept(b);
}
const pipelineRun = timeIt(() => {
  let spans = 0;
  const p = new Pipeline({ write: (s) => { spans += s.length; }, close: async () => {} }, { protocols: [http1Protocol] });
  for (const b of batches) p.accept(b);
  return spans;
});

// Parsers alone, same bytes, one call per message as syscalls deliver
// them: ours (through the connection parser contract) and llhttp.
const parsedBytes = requests.reduce((n, r) => n + r.length + response.length, 0);
const oursRun = timeIt(() => {
  let n = 0;
  for (let w = 0; w < 2; w++) {
    n = 0;
    const parser = http1Protocol.createParser(() => n++, { fromStart: true });
    for (const req of requests) {
      parser.onData('request', req, 1n);
      parser.onData('response', response, 2n);
    }
  }
  return n;
});
const nativeRun = timeIt(() => {
  const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: any };
  let n = 0;
  for (let w = 0; w < 2; w++) {
    n = 0;
    const req = new HTTPParser();
    req.initialize(HTTPParser.REQUEST, {});
    req[HTTPParser.kOnHeadersComplete] = () => 0;
    req[HTTPParser.kOnMessageComplete] = () => {};
    const res = new HTTPParser();
    res.initialize(HTTPParser.RESPONSE, {});
    res[HTTPParser.kOnHeadersComplete] = () => 0;
    res[HTTPParser.kOnMessageComplete] = () => { n++; };
    res[HTTPParser.kOnBody] = () => {};
    for (const r of requests) {
      req.execute(r);
      res.execute(response);
    }
  }
  return n;
});
// gRPC unary: 500 real calls recorded once, replayed on as many fresh
// connections (fresh HPACK state each) as it takes to reach GRPC_CALLS.
const recorded = await recordUnaryCalls(500);
const grpcBatches: SensorEvent[][] = [];
let grpcBytes = 0;
{
  const events: SensorEvent[] = [];
  const copies = Math.ceil(GRPC_CALLS / 500);
  for (let c = 0; c < copies; c++) {
    const conn = `2000-${c}-${c}`;
    events.push({
      type: 'open', tsNs: 1n, pid: 2000, tid: 2000, conn, fd: c, comm: 'server', role: 'server', origin: 'accept',
      family: 'ipv4', local: { address: '10.0.0.1', port: 50051 }, remote: { address: '10.0.0.2', port: 30000 + c }, cgroupId: 1n,
    });
    const pos = [0, 0];
    for (const ch of recorded) {
      const d = ch.side === 'request' ? 1 : 0; // the server reads requests
      events.push({
        type: 'data', tsNs: ch.tsNs, pid: 2000, tid: 2000, conn, direction: d === 1 ? 'ingress' : 'egress', pos: pos[d]!, len: ch.bytes.length,
        payload: ch.bytes, syscall: 'read', afterLoss: false, lengthOnly: false, tls: false,
      });
      pos[d]! += ch.bytes.length;
      grpcBytes += ch.bytes.length;
    }
    events.push({ type: 'close', tsNs: 2n, pid: 2000, tid: 2000, conn, egressBytes: pos[0]!, ingressBytes: pos[1]! });
  }
  for (let i = 0; i < events.length; i += 1024) grpcBatches.push(events.slice(i, i + 1024));
}
const grpcRun = timeIt(() => {
  let spans = 0;
  const p = new Pipeline({ write: (s) => { spans += s.filter((x) => x.attributes['rpc.system'] === 'grpc').length; }, close: async () => {} }, { protocols: [http2Protocol] });
  for (const b of grpcBatches) p.accept(b);
  void p.close();
  return spans;
});

// Both parser runs did two passes (the first warms up); count one pass's time.
const oursSec = oursRun.seconds / 2;
const nativeSec = nativeRun.seconds / 2;

const figures = {
  exchanges: EXCHANGES,
  connections: CONNECTIONS,
  pipeline: {
    spans: pipelineRun.count,
    seconds: +pipelineRun.seconds.toFixed(3),
    spansPerSec: Math.round(pipelineRun.count / pipelineRun.seconds),
    mbPerSec: +(bytes / 1e6 / pipelineRun.seconds).toFixed(1),
  },
  http1ParserOnly: { exchanges: oursRun.count, mbPerSec: +(parsedBytes / 1e6 / oursSec).toFixed(1), exchangesPerSec: Math.round(oursRun.count / oursSec) },
  nodeNativeParser: { exchanges: nativeRun.count, mbPerSec: +(parsedBytes / 1e6 / nativeSec).toFixed(1), exchangesPerSec: Math.round(nativeRun.count / nativeSec) },
  oursVsNative: +(nativeSec / oursSec).toFixed(2),
  grpcUnary: {
    calls: grpcRun.count,
    seconds: +grpcRun.seconds.toFixed(3),
    spansPerSec: Math.round(grpcRun.count / grpcRun.seconds),
    mbPerSec: +(grpcBytes / 1e6 / grpcRun.seconds).toFixed(1),
  },
  peakRssMb: Math.round(process.memoryUsage().rss / 1e6),
};

if (values.json) {
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  const f = figures;
  process.stdout.write(`pipeline throughput, HTTP/1.1 keep-alive, ${f.exchanges} exchanges on ${f.connections} connections, one core
  events -> spans      ${f.pipeline.spansPerSec.toLocaleString()} spans/s, ${f.pipeline.mbPerSec} MB/s   (target: >= 100,000 spans/s per core)
  our HTTP/1 parser    ${f.http1ParserOnly.exchangesPerSec.toLocaleString()} exchanges/s, ${f.http1ParserOnly.mbPerSec} MB/s
  node's llhttp        ${f.nodeNativeParser.exchangesPerSec.toLocaleString()} exchanges/s, ${f.nodeNativeParser.mbPerSec} MB/s
  ours / native        ${f.oursVsNative}x   (target: >= 0.5x)
  gRPC unary calls     ${f.grpcUnary.spansPerSec.toLocaleString()} spans/s, ${f.grpcUnary.mbPerSec} MB/s (${f.grpcUnary.calls} calls, grpc-js recording)
  peak RSS             ${f.peakRssMb} MB
`);
}
if (grpcRun.count < GRPC_CALLS || pipelineRun.count !== EXCHANGES || oursRun.count !== EXCHANGES || nativeRun.count !== EXCHANGES) {
  process.stderr.write(`bench: span counts disagree with the workload (${pipelineRun.count}, ${oursRun.count}, ${nativeRun.count} for ${EXCHANGES})\n`);
  process.exitCode = 1;
}
