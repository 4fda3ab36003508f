/** Assertions on client/server span pairs seen by a live sensor. */
import { expect } from 'vitest';
import type { Span } from '../../src/spans/span.ts';

export const SERVER = 2;
export const CLIENT = 3;

export interface SpanPair {
  client: Span;
  server: Span;
}

/** Each client span of clientPid with the server span of serverPid that names it as parent. */
export function pairUp(spans: Span[], clientPid: number, serverPid: number): SpanPair[] {
  const clients = spans.filter((s) => s.resource['process.pid'] === clientPid && s.kind === CLIENT);
  return clients.map((client) => {
    const server = spans.find((s) => s.resource['process.pid'] === serverPid && s.kind === SERVER && s.parentSpanId === client.spanId);
    expect(server?.parentSpanId, `server span for ${client.name}`).toBe(client.spanId);
    return { client, server: server! };
  });
}

/** One trace, the server span inside the client span's time. */
export function expectNested({ client, server }: SpanPair): void {
  expect(server.traceId).toBe(client.traceId);
  expect(server.parentSpanId).toBe(client.spanId);
  expect(client.startTimeUnixNano).toBeLessThanOrEqual(server.startTimeUnixNano);
  expect(server.endTimeUnixNano).toBeLessThanOrEqual(client.endTimeUnixNano);
  expect(server.startTimeUnixNano).toBeLessThanOrEqual(server.endTimeUnixNano);
}
