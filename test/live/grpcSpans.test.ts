/**
 * gRPC spans from live traffic: the echo peers of test/peers (grpc-go,
 * grpcio, grpc-js) as servers and clients, each with its own client and
 * across implementations, through the real sensor and pipeline. Every
 * client runs the same script (README in test/peers); asserts count, kind,
 * rpc.* attributes, status codes, message counts, span status, timing
 * order and parentage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../src/spans/span.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { freePort, run, startServer, type RunResult, type Server } from '../support/peers.ts';
import { grpcPeers, type GrpcClientSummary, type GrpcImplementation } from '../support/grpcPeers.ts';

const skipReason = bpfUnavailableReason();
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const SERVICE = 'hydrophone.test.Echo';

/** What each client's script does, in order, and what the spans must say about it. */
const SCRIPT = [
  { method: 'Unary', calls: 2, code: 0, requests: 1, responses: 1 },
  { method: 'ServerStream', calls: 1, code: 0, requests: 1, responses: 5 },
  { method: 'ClientStream', calls: 1, code: 0, requests: 4, responses: 1 },
  { method: 'Bidi', calls: 1, code: 0, requests: 3, responses: 3 },
  // "5:no such echo": the server answers NOT_FOUND, percent-encoded on the wire.
  { method: 'Fail', calls: 1, code: 5, requests: 1, responses: 0 },
  // 1000 ms of sleep against a 200 ms deadline. Who ends the stream differs:
  // a grpc-go server resets it (RST_STREAM CANCEL) at its copy of the deadline,
  // a grpc-js server answers grpc-status 4 itself, a grpcio server says
  // nothing and the client resets it. Both ends are DEADLINE_EXCEEDED.
  { method: 'Slow', calls: 1, code: 4, requests: 1, responses: 0 },
] as const;
const CALLS = SCRIPT.reduce((n, s) => n + s.calls, 0);

/** OpenTelemetry's gRPC conventions: these codes are a server's own error; any non-zero code is a client's. */
const SERVER_ERROR_CODES = new Set([2, 4, 12, 13, 14, 15]);

/** Each implementation with its own client, and crosses (both address families meet in those with Python). */
const PAIRS: Array<{ client: GrpcImplementation; server: GrpcImplementation }> = [
  { client: 'go', server: 'go' },
  { client: 'python', server: 'python' },
  { client: 'node', server: 'node' },
  { client: 'go', server: 'python' },
  { client: 'node', server: 'go' },
  { client: 'python', server: 'node' },
];

const methodOf = (s: Span) => s.attributes['rpc.method'];
const byStart = (a: Span, b: Span) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0);

/** Client and server span of each call, matched by method and order (parentage is asserted on its own). */
function callsOf(clients: Span[], servers: Span[]): Array<{ method: string; client: Span; server: Span }> {
  return SCRIPT.flatMap(({ method }) => {
    const c = clients.filter((s) => methodOf(s) === method).sort(byStart);
    const s = servers.filter((x) => methodOf(x) === method).sort(byStart);
    return c.map((client, i) => ({ method, client, server: s[i]! })).filter((x) => x.server);
  });
}

describe.skipIf(skipReason)('gRPC spans from live traffic', () => {
  describe.each(PAIRS)('$client client -> $server server', ({ client: clientImpl, server: serverImpl }) => {
    let server: Server | undefined;
    let port: number;
    let result: RunResult;
    let summary: GrpcClientSummary | undefined;
    let clients: Span[] = [];
    let servers: Span[] = [];
    let spans: Span[] = [];
    let waited = '';

    beforeAll(async () => {
      const peers = await grpcPeers();
      port = await freePort();
      const srv = peers.server(serverImpl, port);
      server = await startServer(srv.cmd, srv.args, port);
      const live = new LiveSpans({ ports: [port] });
      try {
        const cl = peers.client(clientImpl, `127.0.0.1:${port}`);
        result = await run(cl.cmd, cl.args);
        try {
          summary = JSON.parse(result.stdout) as GrpcClientSummary;
        } catch {
          summary = undefined;
        }
        await live
          .until((s) => s.length >= 2 * CALLS, `${CALLS} client and ${CALLS} server spans`)
          .catch((err: Error) => { waited = err.message; });
        await new Promise((r) => setTimeout(r, 300)); // nothing more should come
      } finally {
        await live.close();
      }
      spans = live.spans;
      clients = spans.filter((s) => s.resource['process.pid'] === result.pid);
      servers = spans.filter((s) => s.resource['process.pid'] === server!.pid);
    });
    afterAll(async () => server?.stop());

    it('the client ran its script: the codes it saw', () => {
      expect(result.code, result.stderr).toBe(0);
      expect(summary?.client).toBe(clientImpl);
      // Slow's deadline is a race between the two ends' timers: a server that
      // resets the stream first (grpc-go) leaves a grpc-js client reporting
      // CANCELLED instead, seen on a loaded machine. The client's own word, not the sensor's.
      const seen = summary?.calls.map((c) => [c.method, c.method === 'Slow' && c.code === 1 ? 4 : c.code, c.responses]);
      expect(seen).toEqual(
        SCRIPT.flatMap(({ method, calls, code, responses }) => Array.from({ length: calls }, () => [method, code, responses])),
      );
      expect(summary?.calls.find((c) => c.method === 'Fail')?.message).toBe('no such echo');
    });

    it('one client span and one server span per call, named service/method', () => {
      expect(waited).toBe('');
      expect(spans).toHaveLength(2 * CALLS);
      expect(clients.every((s) => s.kind === CLIENT)).toBe(true);
      expect(servers.every((s) => s.kind === SERVER)).toBe(true);
      const count = (list: Span[]) => Object.fromEntries(SCRIPT.map(({ method }) => [method, list.filter((s) => s.name === `${SERVICE}/${method}`).length]));
      const expected = Object.fromEntries(SCRIPT.map(({ method, calls }) => [method, calls]));
      expect(count(clients)).toEqual(expected);
      expect(count(servers)).toEqual(expected);
    });

    it('rpc.* attributes, status codes and message counts', () => {
      for (const { method, code, requests, responses } of SCRIPT) {
        for (const span of [...clients, ...servers].filter((s) => methodOf(s) === method)) {
          expect(span.attributes, `${span.kind === CLIENT ? 'client' : 'server'} ${method}`).toMatchObject({
            'rpc.system': 'grpc',
            'rpc.service': SERVICE,
            'rpc.method': method,
            'rpc.grpc.status_code': code,
            'rpc.grpc.request.message_count': requests,
            'rpc.grpc.response.message_count': responses,
            'server.port': port,
            'network.protocol.version': '2',
          });
        }
      }
      // Bytes as on the wire, 5-byte prefixes excluded: "ClientStream-1".."-4" in, their concatenation out.
      const cs = clients.find((s) => methodOf(s) === 'ClientStream');
      expect(cs?.attributes['rpc.grpc.request.body.size']).toBe(4 * 'ClientStream-1'.length);
      expect(cs?.attributes['rpc.grpc.response.body.size']).toBe(4 * 'ClientStream-1'.length);
    });

    it('span status: error on the client for every non-zero code, on the server only for server errors', () => {
      expect(clients.length + servers.length).toBeGreaterThan(0);
      for (const span of [...clients, ...servers]) {
        const code = span.attributes['rpc.grpc.status_code'] as number;
        const failed = span.kind === CLIENT ? code !== 0 : SERVER_ERROR_CODES.has(code);
        expect(span.status.code, `${span.kind === CLIENT ? 'client' : 'server'} ${span.name} (code ${code})`).toBe(failed ? ERROR : 0);
      }
      const fail = clients.find((s) => methodOf(s) === 'Fail');
      expect(fail?.status).toEqual({ code: ERROR, message: 'no such echo' });
      const slow = clients.find((s) => methodOf(s) === 'Slow');
      expect(slow?.status.code).toBe(ERROR);
    });

    it('server spans lie within their client spans', () => {
      const calls = callsOf(clients, servers);
      expect(calls).toHaveLength(CALLS);
      for (const { method, client, server: srv } of calls) {
        expect(client.startTimeUnixNano, `${method}: the server span starts ${srv.startTimeUnixNano - client.startTimeUnixNano} ns after the client span`).toBeLessThanOrEqual(srv.startTimeUnixNano);
        expect(srv.startTimeUnixNano).toBeLessThanOrEqual(srv.endTimeUnixNano);
        if (method === 'Slow') {
          // Both ends hold a timer for the same deadline, and either may reset the
          // stream first (or both): the order of the two ends is a race, not a fact.
          const apart = srv.endTimeUnixNano - client.endTimeUnixNano;
          expect(apart < 0n ? -apart : apart, `${method} ends`).toBeLessThan(50_000_000n);
        } else {
          expect(srv.endTimeUnixNano, `${method}: the server span ends ${client.endTimeUnixNano - srv.endTimeUnixNano} ns before the client span`).toBeLessThanOrEqual(client.endTimeUnixNano);
        }
      }
      const slow = calls.find((c) => c.method === 'Slow')!;
      const ms = Number(slow.client.endTimeUnixNano - slow.client.startTimeUnixNano) / 1e6;
      expect(ms).toBeGreaterThanOrEqual(195);
      expect(ms).toBeLessThan(900); // ended by the deadline, not by the server's 1000 ms sleep
    });

    it('each server span is the child of its client span, in the same trace', () => {
      expect(clients).toHaveLength(CALLS);
      const children = clients.map((c) => {
        const s = servers.find((x) => x.parentSpanId === c.spanId);
        return s ? { name: s.name, traceId: s.traceId } : { name: `no server span has parent ${c.spanId} (${c.name})`, traceId: '' };
      });
      expect(children).toEqual(clients.map((c) => ({ name: c.name, traceId: c.traceId })));
      expect(new Set(clients.map((c) => c.traceId)).size).toBe(CALLS); // one trace per call
    });
  });
});
