/**
 * The bytes the tracker reports as held (stats().buffered, the
 * hydrophone_stream_buffered_bytes gauge): they rise while a stream waits
 * for a hole, inference for more bytes or a parser for the rest of a
 * message, and fall back to zero once those bytes are delivered, parsed,
 * or their connection ends or is evicted. Real parsers, no stubs.
 */
import { describe, expect, it } from 'vitest';
import type { ConnOpenEvent, DataEvent, SensorEvent } from '../source/events.ts';
import { PROTOCOLS } from '../protocols/registry.ts';
import { ConnectionTracker, type BufferedBytes } from './connectionTracker.ts';

const open = (conn: string, tsNs = 1n): ConnOpenEvent => ({
  type: 'open', tsNs, pid: 10, tid: 10, conn, fd: 3, comm: 'curl', role: 'client', origin: 'connect', family: 'ipv4',
  local: { address: '127.0.0.1', port: 50000 }, remote: { address: '127.0.0.1', port: 80 }, cgroupId: 1n,
});
const data = (conn: string, direction: 'egress' | 'ingress', pos: number, text: string, tsNs = 2n): DataEvent => {
  const payload = Buffer.from(text, 'latin1');
  return { type: 'data', tsNs, pid: 10, tid: 10, conn, direction, pos, len: payload.length, payload, syscall: 'write', afterLoss: false, lengthOnly: false, tls: false };
};

const head = 'GET /cart HTTP/1.1\r\nHost: shop\r\n'; // no blank line yet: the head is incomplete
const request = `${head}\r\n`;
const response = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const none: BufferedBytes = { reorder: 0, inference: 0, parsers: 0 };

const close = (conn: string, tsNs: bigint): SensorEvent => ({ type: 'close', tsNs, pid: 10, tid: 10, conn, egressBytes: 0, ingressBytes: 0 });

type Step = { readonly events: readonly SensorEvent[]; readonly flush?: boolean; readonly held: Partial<BufferedBytes> };

describe('ConnectionTracker buffered bytes', () => {
  it.each<[string, Step[]]>([
    ['a parser holds an incomplete head until the rest comes', [
      { events: [open('a'), data('a', 'egress', 0, head)], flush: true, held: { ...none, parsers: head.length } },
      { events: [data('a', 'egress', head.length, '\r\n'), data('a', 'ingress', 0, response)], flush: true, held: none },
    ]],
    // Bodies are counted as they pass, never kept: only the head waits.
    ['a parser holds a response head split across reads, not its body', [
      { events: [open('a'), data('a', 'egress', 0, request), data('a', 'ingress', 0, response.slice(0, 20))], flush: true, held: { ...none, parsers: 20 } },
      { events: [data('a', 'ingress', 20, response.slice(20, -3))], flush: true, held: none },
      { events: [data('a', 'ingress', response.length - 3, response.slice(-3))], flush: true, held: none },
    ]],
    // HTTP/2's ByteQueue: an empty SETTINGS frame whose 9-byte header comes in two reads.
    ['the HTTP/2 parser holds a frame header cut in two', [
      { events: [open('a'), data('a', 'egress', 0, `${PREFACE}\x00\x00\x00\x04\x00`)], flush: true, held: { ...none, parsers: 5 } },
      { events: [data('a', 'egress', PREFACE.length + 5, '\x00\x00\x00\x00')], flush: true, held: none },
    ]],
    ['inference keeps first bytes that could still be a protocol', [
      { events: [open('a'), data('a', 'egress', 0, 'GE')], flush: true, held: { ...none, inference: 2 } },
      { events: [data('a', 'egress', 2, request.slice(2))], flush: true, held: none },
    ]],
    ['an event after a hole is held until the batch ends', [
      { events: [open('a'), data('a', 'egress', 0, request), data('a', 'ingress', 10, response.slice(10))], held: { ...none, reorder: response.length - 10 } },
      // The hole becomes a gap at the flush; what the parser keeps of the tail while it resynchronises goes with the connection.
      { events: [], flush: true, held: { reorder: 0, inference: 0 } },
      { events: [close('a', 3n)], flush: true, held: none },
    ]],
    ['a closed connection holds nothing', [
      { events: [open('a'), data('a', 'egress', 0, head), open('b'), data('b', 'egress', 0, 'GE')], flush: true, held: { ...none, parsers: head.length, inference: 2 } },
      { events: [close('a', 3n)], flush: true, held: { ...none, inference: 2 } },
      { events: [{ type: 'exit', tsNs: 4n, pid: 10, tid: 10, ppid: 1, comm: 'curl', cgroupId: 1n }], flush: true, held: none },
    ]],
  ])('%s', (_name, steps) => {
    const t = new ConnectionTracker(PROTOCOLS, () => {});
    for (const step of steps) {
      for (const ev of step.events) t.handle(ev);
      if (step.flush) t.flush();
      expect(t.stats().buffered).toMatchObject(step.held);
    }
  });

  it('an evicted connection holds nothing: least recently active, and idle', () => {
    const t = new ConnectionTracker(PROTOCOLS, () => {}, { maxConnections: 2, idleTimeoutNs: 1_000n, inferenceBytes: 4096 });
    t.handle(open('a', 1n));
    t.handle(data('a', 'egress', 0, head, 2n));
    t.handle(open('b', 3n));
    t.handle(data('b', 'egress', 0, head, 4n));
    t.flush();
    expect(t.stats().buffered).toEqual({ ...none, parsers: 2 * head.length });
    t.handle(open('c', 5n)); // over the cap: 'a' goes
    t.flush();
    expect(t.stats()).toMatchObject({ evictedLru: 1, buffered: { ...none, parsers: head.length } });
    t.handle(data('c', 'egress', 0, 'GE', 2_000n)); // 'b' idle for longer than the timeout
    t.flush();
    expect(t.stats()).toMatchObject({ evictedIdle: 1, buffered: { ...none, inference: 2 } });
    t.closeAll();
    expect(t.stats().buffered).toEqual(none);
  });
});
