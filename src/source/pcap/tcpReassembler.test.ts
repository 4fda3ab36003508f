/**
 * TCP reassembly into the event model: positions from sequence numbers
 * (wrap-around, mid-connection starts), retransmissions, reordering, holes
 * that become gaps, connection ends and reuse, roles and perspective.
 */
import { describe, expect, it } from 'vitest';
import type { ConnOpenEvent, DataEvent, SensorEvent } from '../events.ts';
import { Pipeline } from '../../pipeline/pipeline.ts';
import type { Span } from '../../spans/span.ts';
import { serverSideByPorts } from './tcpReassembler.ts';
import { Conversation, dataOf, pcapFile, readAll, tcpPacket, timed } from './testing/captureBuilder.ts';

async function run(ips: Buffer[], options = {}) {
  const r = await readAll(pcapFile(timed(ips)), options);
  expect(r.error).toBeUndefined();
  return r;
}

const opens = (events: readonly SensorEvent[]) => events.filter((e): e is ConnOpenEvent => e.type === 'open');
const datas = (events: readonly SensorEvent[]) => events.filter((e): e is DataEvent => e.type === 'data');

describe('positions', () => {
  it('unwrap the 32-bit sequence number', async () => {
    const conv = new Conversation({ cIsn: 0xffffff00, sIsn: 0xfffffffe });
    const a = 'a'.repeat(200);
    const ips = [...conv.handshake(), conv.c(a), conv.c(a), conv.s('b'.repeat(10)), conv.c(a)];
    const { events } = await run(ips);
    expect(dataOf(events).map(([, dir, pos, len]) => [dir, pos, len])).toEqual([
      ['ingress', 0, 200], ['ingress', 200, 200], ['egress', 0, 10], ['ingress', 400, 200],
    ]);
  });

  it('keep the first copy of retransmitted and overlapping bytes', async () => {
    const conv = new Conversation();
    const ips = [...conv.handshake()];
    const first = conv.c('0123456789');
    const isn = conv.cSeq - 10;
    ips.push(first, first, tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: isn + 5, flags: 'PA', payload: 'XXXXXabcde' }));
    const { events, stats } = await run(ips);
    expect(dataOf(events)).toEqual([
      ['pcap-1', 'ingress', 0, 10, '0123456789'],
      ['pcap-1', 'ingress', 10, 5, 'abcde'],
    ]);
    expect(stats?.retransmittedBytes).toBe(15);
  });

  it('put out-of-order segments back in order, without a gap', async () => {
    const conv = new Conversation();
    const hs = conv.handshake();
    const s1 = conv.c('aaaa');
    const s2 = conv.c('bbbb');
    const s3 = conv.c('cccc');
    const { events, stats } = await run([...hs, s1, s3, s2, s3]);
    expect(dataOf(events)).toEqual([
      ['pcap-1', 'ingress', 0, 4, 'aaaa'],
      ['pcap-1', 'ingress', 4, 4, 'bbbb'],
      ['pcap-1', 'ingress', 8, 4, 'cccc'],
    ]);
    expect(stats).toMatchObject({ outOfOrder: 1, gaps: 0, retransmittedBytes: 4 });
  });

  it('a missing segment: the later data at its true position once the peer acknowledges past the hole', async () => {
    const conv = new Conversation();
    const hs = conv.handshake();
    const s1 = conv.c('aaaa');
    conv.c('bbbb'); // never captured
    const s3 = conv.c('cccc');
    const ack = conv.s('HTTP/1.1 200 OK\r\n'); // acknowledges all 12 bytes
    const { events, stats, batches } = await run([...hs, s1, s3, ack]);
    expect(dataOf(events).map(([, dir, pos, len]) => [dir, pos, len])).toEqual([
      ['ingress', 0, 4], ['ingress', 8, 4], ['egress', 0, 17],
    ]);
    const later = datas(events)[1]!;
    expect(later.afterLoss).toBe(true);
    expect(stats).toMatchObject({ gaps: 1, gapBytes: 4 });
    // The batch ends at the jump, so the pipeline reports the gap before the response.
    expect(batches).toBe(2);
  });

  it('a hole nobody acknowledges is given up after holdSegments more segments', async () => {
    const conv = new Conversation();
    const hs = conv.handshake();
    const s1 = conv.c('a');
    conv.c('b'); // lost
    const rest = Array.from({ length: 5 }, (_, i) => conv.c(String(i)));
    const held = await run([...hs, s1, ...rest.slice(0, 3)], { holdSegments: 3 });
    expect(dataOf(held.events).map((d) => d[2])).toEqual([0, 2, 3, 4]); // given up at the end of the capture
    const { events } = await readAll(pcapFile(timed([...hs, s1, ...rest])), { holdSegments: 3 });
    expect(dataOf(events).map((d) => d[2])).toEqual([0, 2, 3, 4, 5, 6]);
  });

  it('a capture starting mid-connection: the first sequence number seen is position 0', async () => {
    const conv = new Conversation({ cIsn: 777777, sIsn: 999999 });
    conv.handshake(); // not captured
    conv.c('lost request part');
    const ips = [conv.c('GET / HTTP/1.1\r\n\r\n'), conv.s('HTTP/1.1 204 No Content\r\n\r\n')];
    const { events } = await run(ips);
    expect(opens(events)[0]).toMatchObject({ origin: 'existing', role: 'server', local: { port: 80 }, remote: { port: 40000 } });
    expect(dataOf(events).map(([, dir, pos]) => [dir, pos])).toEqual([['ingress', 0], ['egress', 0]]);
  });
});

describe('roles without a handshake', () => {
  it.each([
    [40000, 80, 1], [80, 40000, 0], [50000, 5432, 1], [5432, 50000, 0], [9090, 8080, 1], [8080, 9090, 0], [1023, 22, 1], [50051, 60000, 0], [7000, 7000, 1],
  ] as const)('%i -> %i: server is side %i', (src, dst, want) => {
    expect(serverSideByPorts(src, dst)).toBe(want);
  });
});

describe('connection lifecycle', () => {
  it('FIN from both sides closes once; stray packets after it make no connection', async () => {
    const conv = new Conversation();
    const ips = [...conv.handshake(), conv.c('ping'), conv.cFin(), conv.s('pong'), conv.sFin(), conv.c('', 'A')];
    const { events, stats } = await run(ips);
    expect(events.map((e) => e.type)).toEqual(['open', 'data', 'data', 'close']);
    expect(events.at(-1)).toMatchObject({ egressBytes: 4, ingressBytes: 4 });
    expect(stats).toMatchObject({ connections: 1, packetsAfterClose: 1 });
  });

  it('RST closes', async () => {
    const conv = new Conversation();
    const { events } = await run([...conv.handshake(), conv.c('x'), conv.cRst()]);
    expect(events.map((e) => e.type)).toEqual(['open', 'data', 'close']);
  });

  it('a new SYN on a reused 4-tuple is a new connection; a retransmitted SYN is not', async () => {
    const one = new Conversation({ cIsn: 100 });
    const two = new Conversation({ cIsn: 900000 });
    const hs = one.handshake();
    const ips = [hs[0]!, ...hs, one.c('first'), one.cRst(), ...two.handshake(), two.c('second')];
    const { events } = await run(ips);
    expect(dataOf(events)).toEqual([
      ['pcap-1', 'ingress', 0, 5, 'first'],
      ['pcap-2', 'ingress', 0, 6, 'second'],
    ]);
    expect(opens(events).map((o) => o.conn)).toEqual(['pcap-1', 'pcap-2']);
  });

  it('a SYN without an answer makes no events', async () => {
    const conv = new Conversation();
    const [syn] = conv.handshake();
    const { events, stats } = await run([syn!, syn!]);
    expect(events).toEqual([]);
    expect(stats?.connections).toBe(0);
  });

  it('data after a one-sided FIN (half close) is still delivered', async () => {
    const conv = new Conversation();
    const ips = [...conv.handshake(), conv.c('req'), conv.cFin(), conv.s('response after the client FIN'), conv.sFin()];
    const { events } = await run(ips);
    expect(dataOf(events).map((d) => d[1])).toEqual(['ingress', 'egress']);
    expect(events.filter((e) => e.type === 'close')).toHaveLength(1);
  });

  it('data on a SYN (TCP Fast Open) starts at position 0', async () => {
    const syn = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 41, flags: 'S', payload: 'early' });
    const synAck = tcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, seq: 7, ack: 47, flags: 'SA' });
    const more = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 47, ack: 8, flags: 'PA', payload: 'more' });
    const { events } = await run([syn, synAck, more]);
    expect(dataOf(events)).toEqual([
      ['pcap-1', 'ingress', 0, 5, 'early'],
      ['pcap-1', 'ingress', 5, 4, 'more'],
    ]);
  });
});

describe('perspective', () => {
  it.each([
    { perspective: 'server' as const, role: 'server', origin: 'accept', local: 80, request: 'ingress' },
    { perspective: 'client' as const, role: 'client', origin: 'connect', local: 40000, request: 'egress' },
  ])('$perspective', async ({ perspective, role, origin, local, request }) => {
    const conv = new Conversation();
    const { events } = await run([...conv.handshake(), conv.c('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), conv.s('HTTP/1.1 204 No Content\r\n\r\n')], { perspective });
    expect(opens(events)[0]).toMatchObject({ role, origin, local: { port: local } });
    expect(datas(events)[0]!.direction).toBe(request);
    // And the pipeline makes a span of the matching kind from it.
    const spans: Span[] = [];
    const p = new Pipeline({ write: (s) => void spans.push(...s), close: async () => {} });
    p.accept(events);
    await p.close();
    expect(spans.map((s) => s.kind)).toEqual([perspective === 'server' ? 2 : 3]);
  });
});
