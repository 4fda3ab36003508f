/**
 * The readers and the packet decoder, with hand-built files: every link
 * type and encapsulation, both byte orders, every timestamp resolution,
 * pcapng interfaces and sections. Each case is one small HTTP exchange
 * that must come out as the same events.
 */
import { describe, expect, it } from 'vitest';
import type { ConnOpenEvent, DataEvent, SensorEvent } from '../events.ts';
import { isPacketCapture } from './index.ts';
import { Conversation, LINK_TYPES, dataOf, frame, pcapFile, pcapngFile, readAll, tcpPacket, timed, type Link, type Packet } from './testing/captureBuilder.ts';

const REQ = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
const RES = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

function exchange(v6 = false): { ips: Buffer[]; conv: Conversation } {
  const conv = v6 ? new Conversation({ client: ['2001:db8::1', 40000], server: ['2001:db8::2', 8080] }) : new Conversation();
  const ips = [...conv.handshake(), conv.c(REQ), conv.s(RES), conv.cFin(), conv.sFin()];
  return { ips, conv };
}

function expectExchange(events: readonly SensorEvent[], v6 = false): void {
  const open = events[0] as ConnOpenEvent;
  expect(open).toMatchObject({
    type: 'open', conn: 'pcap-1', role: 'server', origin: 'accept', family: v6 ? 'ipv6' : 'ipv4', pid: 0, fd: -1,
    local: v6 ? { address: '2001:db8::2', port: 8080 } : { address: '10.0.0.2', port: 80 },
    remote: v6 ? { address: '2001:db8::1', port: 40000 } : { address: '10.0.0.1', port: 40000 },
  });
  expect(dataOf(events)).toEqual([
    ['pcap-1', 'ingress', 0, REQ.length, REQ],
    ['pcap-1', 'egress', 0, RES.length, RES],
  ]);
  expect(events.at(-1)).toMatchObject({ type: 'close', conn: 'pcap-1', egressBytes: RES.length, ingressBytes: REQ.length });
  expect(events).toHaveLength(4);
}

describe('link types and encapsulations', () => {
  const cases: Array<{ link: Link; vlans?: number[]; v6: boolean }> = [];
  for (const link of Object.keys(LINK_TYPES) as Link[]) {
    for (const v6 of [false, true]) {
      if ((link === 'ipv4' && v6) || (link === 'ipv6' && !v6)) continue;
      cases.push({ link, v6 });
    }
  }
  for (const link of ['ethernet', 'sll', 'sll2'] as const) {
    cases.push({ link, vlans: [0x8100], v6: false }, { link, vlans: [0x88a8, 0x8100], v6: true }, { link, vlans: [0x9100, 0x8100], v6: false });
  }

  it.each(cases)('$link vlans=$vlans ipv6=$v6', async ({ link, vlans, v6 }) => {
    const { ips } = exchange(v6);
    const packets = ips.map((ip, i) => ({ data: frame(link, ip, { vlans }), tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n }));
    const { events, stats, error } = await readAll(pcapFile(packets, { linkType: LINK_TYPES[link] }));
    expect(error).toBeUndefined();
    expectExchange(events, v6);
    expect(stats).toMatchObject({ packets: 7, tcpPackets: 7, skippedNonTcp: 0, connections: 1 });
  });

  it('skips a link type it does not decode, counted', async () => {
    const { ips } = exchange();
    const { events, stats } = await readAll(pcapFile(timed(ips, 'raw'), { linkType: 105 }));
    expect(events).toEqual([]);
    expect(stats).toMatchObject({ packets: 7, unsupportedLinkType: 7, tcpPackets: 0 });
  });
});

describe('pcap: byte orders and resolutions', () => {
  const ts = 1_700_000_000_123_456_789n;
  it.each([
    { le: true, ns: false, want: 1_700_000_000_123_456_000n },
    { le: false, ns: false, want: 1_700_000_000_123_456_000n },
    { le: true, ns: true, want: ts },
    { le: false, ns: true, want: ts },
  ])('le=$le ns=$ns', async ({ le, ns, want }) => {
    const { ips } = exchange();
    const packets = ips.map((ip) => ({ data: frame('ethernet', ip), tsNs: ts }));
    const { events } = await readAll(pcapFile(packets, { le, ns }));
    expectExchange(events);
    for (const e of events) expect(e.tsNs).toBe(want);
  });
});

describe('pcapng', () => {
  const ts = 1_700_000_000_123_456_789n;
  it.each([
    { tsresol: undefined, want: 1_700_000_000_123_456_000n },
    { tsresol: 9, want: ts },
    { tsresol: 3, want: 1_700_000_000_123_000_000n },
    { tsresol: 10, want: ts }, // finer than ns: units / 10
    // 2^-20 s units: floor(ts * 2^20 / 1e9) units, back to ns with a floor again.
    { tsresol: 0x80 | 20, want: (((ts << 20n) / 1_000_000_000n) * 1_000_000_000n) >> 20n },
    { tsresol: 0x80 | 30, want: (((ts << 30n) / 1_000_000_000n) * 1_000_000_000n) >> 30n },
  ])('if_tsresol $tsresol, both byte orders', async ({ tsresol, want }) => {
    for (const le of [true, false]) {
      const { ips } = exchange();
      const file = pcapngFile([{ le, interfaces: [{ linkType: 1, tsresol }], packets: ips.map((ip) => ({ data: frame('ethernet', ip), tsNs: ts })) }]);
      const { events, error } = await readAll(file);
      expect(error).toBeUndefined();
      expectExchange(events);
      for (const e of events) expect(e.tsNs).toBe(want);
    }
  });

  it('several interfaces with their own link types, several sections, unknown blocks, SPB and OPB', async () => {
    const a = exchange();
    const b = new Conversation({ client: ['10.1.0.1', 50000], server: ['10.1.0.2', 443] });
    const bIps = [...b.handshake(), b.c('hello'), b.s('world')];
    const t0 = 1_700_000_000_000_000_000n;
    const file = pcapngFile([
      {
        le: true,
        interfaces: [{ linkType: 1 }, { linkType: 101, tsresol: 9 }],
        unknownBlocks: [5, 0x0bad, 0x40000bad],
        packets: a.ips.map((ip, i) => ({ data: i % 2 ? frame('raw', ip) : frame('ethernet', ip), iface: i % 2, tsNs: t0 + BigInt(i) })),
      },
      {
        le: false,
        interfaces: [{ linkType: 113, snaplen: 65535 }],
        packets: bIps.map((ip, i) => ({ data: frame('sll', ip), tsNs: t0 + 1000n + BigInt(i) * 1000n, block: i === 3 ? ('spb' as const) : i === 4 ? ('opb' as const) : ('epb' as const) })),
      },
    ]);
    const { events, error, stats } = await readAll(file);
    expect(error).toBeUndefined();
    expectExchange(events.slice(0, 4));
    expect(dataOf(events.slice(4))).toEqual([
      ['pcap-2', 'ingress', 0, 5, 'hello'],
      ['pcap-2', 'egress', 0, 5, 'world'],
    ]);
    // The SPB has no timestamp: it takes the previous packet's.
    const hello = events.find((e): e is DataEvent => e.type === 'data' && e.conn === 'pcap-2' && e.direction === 'ingress')!;
    expect(hello.tsNs).toBe(t0 + 3000n);
    expect(stats).toMatchObject({ format: 'pcapng', packets: 12, tcpPackets: 12 });
  });

  it('a Simple Packet Block is cut to interface 0 snaplen; the rest is a gap', async () => {
    const conv = new Conversation();
    const body = 'x'.repeat(200);
    const ips = [...conv.handshake(), conv.c(body)];
    const file = pcapngFile([{ interfaces: [{ linkType: 101, snaplen: 100 }], packets: ips.map((ip) => ({ data: ip, tsNs: 1n, block: 'spb' as const })) }]);
    const { events, stats } = await readAll(file);
    const [d] = events.filter((e): e is DataEvent => e.type === 'data');
    expect(d).toMatchObject({ pos: 0, len: 200 });
    expect(d!.payload.length).toBe(100 - 40); // IPv4 + TCP headers took 40
    expect(stats?.truncatedPackets).toBe(1);
  });
});

describe('IP details', () => {
  it.each([[[0]], [[0, 43, 60]], [[44]], [[60, 44, 0]]])('IPv6 extension headers %j are skipped to TCP', async (exts) => {
    const ip = tcpPacket({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 80, seq: 1, flags: 'PA', payload: 'GET', ipv6Ext: exts });
    const { events } = await readAll(pcapFile(timed([ip])));
    expect(dataOf(events)).toEqual([['pcap-1', 'ingress', 0, 3, 'GET']]);
  });

  it('IPv4 options are skipped by the header length', async () => {
    const ip = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1, flags: 'PA', payload: 'GET', ipOptions: 12, tcpOptions: 12 });
    const { events } = await readAll(pcapFile(timed([ip])));
    expect(dataOf(events)).toEqual([['pcap-1', 'ingress', 0, 3, 'GET']]);
  });

  it('Ethernet padding is not payload', async () => {
    const ip = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1, flags: 'PA', payload: 'ab' });
    const { events } = await readAll(pcapFile([{ data: frame('ethernet', ip, { ethernetPadding: 4 }), tsNs: 1n }]));
    expect(dataOf(events)).toEqual([['pcap-1', 'ingress', 0, 2, 'ab']]);
  });

  it('IPv4 and IPv6 fragments are counted and skipped, without harm to the rest', async () => {
    const conv = new Conversation();
    const ips = [
      ...conv.handshake(),
      tcpPacket({ src: '10.0.0.9', dst: '10.0.0.2', sport: 1, dport: 80, seq: 1, payload: 'first', fragment: { offset: 0, more: true } }),
      tcpPacket({ src: '10.0.0.9', dst: '10.0.0.2', sport: 1, dport: 80, seq: 1, payload: 'later', fragment: { offset: 185, more: false } }),
      tcpPacket({ src: '10.0.0.9', dst: '10.0.0.2', sport: 1, dport: 80, seq: 1, payload: 'middle', fragment: { offset: 3, more: true } }),
      conv.c(REQ),
    ];
    // An IPv6 fragment header with an offset: the TCP header is in another fragment.
    const v6frag = tcpPacket({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 80, seq: 1, payload: 'x', ipv6Ext: [44] });
    v6frag[40 + 3] = 0x08; // offset 1
    const { events, stats } = await readAll(pcapFile(timed([...ips, v6frag])));
    expect(dataOf(events)).toEqual([['pcap-1', 'ingress', 0, REQ.length, REQ]]);
    expect(stats).toMatchObject({ fragments: 4, tcpPackets: 4 });
  });

  it('a packet cut by the snaplen: captured bytes as payload, the IP length as len', async () => {
    const conv = new Conversation();
    const body = 'y'.repeat(1000);
    const ips = [...conv.handshake(), conv.s(body)];
    const packets: Packet[] = timed(ips);
    packets[3] = { ...packets[3]!, capLen: 14 + 40 + 100 };
    const { events, stats } = await readAll(pcapFile(packets, { snaplen: 154 }));
    const [d] = events.filter((e): e is DataEvent => e.type === 'data');
    expect(d).toMatchObject({ direction: 'egress', pos: 0, len: 1000 });
    expect(Buffer.from(d!.payload).toString()).toBe('y'.repeat(100));
    expect(stats).toMatchObject({ truncatedPackets: 1, truncatedHeaders: 0 });
  });

  it('a packet cut inside its TCP header is skipped and counted', async () => {
    const ip = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1, payload: 'abc' });
    const { events, stats } = await readAll(pcapFile([{ data: frame('ethernet', ip), tsNs: 1n, capLen: 14 + 20 + 10 }]));
    expect(events).toEqual([]);
    expect(stats).toMatchObject({ truncatedHeaders: 1, truncatedPackets: 1 });
  });

  it('UDP, ICMP and ARP are counted and skipped', async () => {
    const udp = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 53, dport: 53, seq: 0, payload: 'dns' });
    udp[9] = 17;
    const icmp6 = tcpPacket({ src: '2001:db8::1', dst: '2001:db8::2', sport: 0, dport: 0, seq: 0 });
    icmp6[6] = 58;
    const arp = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
    const { events, stats } = await readAll(pcapFile([...timed([udp, icmp6]), { data: arp, tsNs: 1n }]));
    expect(events).toEqual([]);
    expect(stats).toMatchObject({ packets: 3, skippedNonTcp: 3 });
  });
});

describe('isPacketCapture', () => {
  it.each([
    ['d4c3b2a1', true], ['a1b2c3d4', true], ['4d3cb2a1', true], ['a1b23c4d', true], ['0a0d0d0a', true],
    ['7b22666f', false], ['1f8b0800', false], ['d4c3', false],
  ])('%s -> %s', (hex, want) => {
    expect(isPacketCapture(Buffer.from(hex, 'hex'))).toBe(want);
  });
});
