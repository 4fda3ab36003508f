/**
 * Test helper: builds pcap and pcapng files in memory from hand-made
 * packets (TCP over IPv4/IPv6, every link type the reader decodes), and
 * reads them back through the real source. Tests only.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SensorEvent } from '../../events.ts';
import { readCapture, type CaptureOptions, type CaptureStats } from '../index.ts';

export type Bytes = Uint8Array;

function concat(parts: readonly Bytes[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

function u16be(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function parseIp(addr: string): Buffer {
  if (!addr.includes(':')) return Buffer.from(addr.split('.').map(Number));
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => u16be(Number.parseInt(g, 16))));
}

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  /** Letters of the flags: S, A, F, R, P. */
  flags?: string;
  payload?: string | Bytes;
  /** IPv4 options bytes (a multiple of 4). */
  ipOptions?: number;
  /** IPv6 extension headers before TCP: 0 hop-by-hop, 43 routing, 60 destination options, 44 (atomic) fragment. */
  ipv6Ext?: number[];
  /** IPv4 fragment: offset in 8-byte units and the more-fragments flag. */
  fragment?: { offset: number; more: boolean };
  /** IPv4 total length / IPv6 payload length to write instead of the true one. */
  ipLength?: number;
  tcpOptions?: number;
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10 };

/** An IPv4 or IPv6 packet (by the address form) carrying one TCP segment. */
export function tcpPacket(s: TcpSpec): Buffer {
  const payload = typeof s.payload === 'string' ? Buffer.from(s.payload, 'latin1') : Buffer.from(s.payload ?? []);
  const tcpOpts = s.tcpOptions ?? 0;
  const tcp = Buffer.alloc(20 + tcpOpts);
  tcp.writeUInt16BE(s.sport, 0);
  tcp.writeUInt16BE(s.dport, 2);
  tcp.writeUInt32BE(s.seq >>> 0, 4);
  tcp.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  tcp[12] = ((20 + tcpOpts) / 4) << 4;
  let flags = 0;
  for (const c of s.flags ?? 'A') flags |= FLAG_BITS[c] ?? 0;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  for (let i = 20; i < tcp.length; i++) tcp[i] = 1; // NOPs
  const src = parseIp(s.src);
  const dst = parseIp(s.dst);
  if (src.length === 4) {
    const opts = s.ipOptions ?? 0;
    const ip = Buffer.alloc(20 + opts);
    ip[0] = 0x40 | ((20 + opts) / 4);
    ip.writeUInt16BE(s.ipLength ?? ip.length + tcp.length + payload.length, 2);
    if (s.fragment) ip.writeUInt16BE((s.fragment.more ? 0x2000 : 0) | s.fragment.offset, 6);
    else ip.writeUInt16BE(0x4000, 6); // DF
    ip[8] = 64;
    ip[9] = 6;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    for (let i = 20; i < ip.length; i++) ip[i] = 1; // NOP options
    return concat([ip, tcp, payload]);
  }
  const exts: Buffer[] = [];
  const chain = [...(s.ipv6Ext ?? []), 6];
  for (let i = 0; i < chain.length - 1; i++) {
    const type = chain[i]!;
    const ext = Buffer.alloc(type === 44 ? 8 : 16);
    ext[0] = chain[i + 1]!;
    if (type !== 44) ext[1] = 1; // (1 + 1) * 8 = 16 bytes
    exts.push(ext);
  }
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  const extLen = exts.reduce((n, e) => n + e.length, 0);
  ip.writeUInt16BE(s.ipLength ?? extLen + tcp.length + payload.length, 4);
  ip[6] = chain[0]!;
  ip[7] = 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  return concat([ip, ...exts, tcp, payload]);
}

export type Link = 'ethernet' | 'sll' | 'sll2' | 'null-le' | 'null-be' | 'loop' | 'raw' | 'raw12' | 'ipv4' | 'ipv6';

export const LINK_TYPES: Record<Link, number> = {
  ethernet: 1, sll: 113, sll2: 276, 'null-le': 0, 'null-be': 0, loop: 108, raw: 101, raw12: 12, ipv4: 228, ipv6: 229,
};

/** Wraps an IP packet in a link-layer header; `vlans`: tag protocol ids (0x8100, 0x88a8, 0x9100), outermost first. */
export function frame(link: Link, ip: Bytes, opts: { vlans?: number[]; ethernetPadding?: number } = {}): Buffer {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  // A tag's type field sits where the EtherType would: type, TCI, type, TCI..., inner type.
  const chain = (): Buffer => {
    const types = [...(opts.vlans ?? []), etherType];
    const parts: Buffer[] = [u16be(types[0]!)];
    for (let i = 1; i < types.length; i++) parts.push(u16be(100 + i), u16be(types[i]!));
    return concat(parts);
  };
  switch (link) {
    case 'ethernet':
      return concat([Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]), chain(), ip, Buffer.alloc(opts.ethernetPadding ?? 0)]);
    case 'sll': {
      const h = Buffer.alloc(14);
      h.writeUInt16BE(0, 0); // to us
      h.writeUInt16BE(1, 2); // ARPHRD_ETHER
      h.writeUInt16BE(6, 4);
      return concat([h, chain(), ip]);
    }
    case 'sll2': {
      const types = [...(opts.vlans ?? []), etherType];
      const h = Buffer.alloc(20);
      h.writeUInt16BE(types[0]!, 0);
      h.writeUInt32BE(2, 4); // ifindex
      h.writeUInt16BE(1, 8);
      h[11] = 6;
      const rest: Buffer[] = [];
      for (let i = 1; i < types.length; i++) rest.push(u16be(100 + i), u16be(types[i]!));
      return concat([h, ...rest, ip]);
    }
    case 'null-le':
    case 'null-be': {
      const h = Buffer.alloc(4);
      const family = v6 ? 30 : 2;
      if (link === 'null-le') h.writeUInt32LE(family);
      else h.writeUInt32BE(family);
      return concat([h, ip]);
    }
    case 'loop': {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(v6 ? 24 : 2);
      return concat([h, ip]);
    }
    default:
      return Buffer.from(ip);
  }
}

export interface Packet {
  data: Bytes;
  /** Nanoseconds since the epoch. */
  tsNs: bigint;
  /** Length on the wire (defaults to the data's). */
  origLen?: number;
  /** Bytes written (defaults to all): less simulates the snaplen cutting the packet. */
  capLen?: number;
}

export function pcapFile(packets: readonly Packet[], opts: { le?: boolean; ns?: boolean; linkType?: number; snaplen?: number } = {}): Buffer {
  const le = opts.le ?? true;
  const w32 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  const w16 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const h = Buffer.alloc(24);
  w32(h, opts.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, opts.snaplen ?? 262144, 16);
  w32(h, opts.linkType ?? 1, 20);
  const parts: Buffer[] = [h];
  for (const p of packets) {
    const cap = p.capLen ?? p.data.length;
    const r = Buffer.alloc(16);
    w32(r, Number(p.tsNs / 1_000_000_000n), 0);
    const frac = p.tsNs % 1_000_000_000n;
    w32(r, Number(opts.ns ? frac : frac / 1000n), 4);
    w32(r, cap, 8);
    w32(r, p.origLen ?? p.data.length, 12);
    parts.push(r, Buffer.from(p.data.subarray(0, cap)));
  }
  return concat(parts);
}

export interface NgInterface {
  linkType: number;
  snaplen?: number;
  /** if_tsresol byte (default: none, microseconds). */
  tsresol?: number;
}

export interface NgPacket extends Packet {
  iface?: number;
  block?: 'epb' | 'spb' | 'opb';
}

export interface NgSection {
  le?: boolean;
  interfaces: NgInterface[];
  packets: NgPacket[];
  /** Unknown blocks to put before the packets (type numbers). */
  unknownBlocks?: number[];
}

/** Units of a timestamp at an if_tsresol. */
function units(tsNs: bigint, tsresol: number | undefined): bigint {
  const r = tsresol ?? 6;
  if (r & 0x80) return (tsNs << BigInt(r & 0x7f)) / 1_000_000_000n;
  const exp = r & 0x7f;
  return exp <= 9 ? tsNs / 10n ** BigInt(9 - exp) : tsNs * 10n ** BigInt(exp - 9);
}

export function pcapngFile(sections: readonly NgSection[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of sections) {
    const le = s.le ?? true;
    const block = (type: number, body: Buffer) => {
      const padded = concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
      const len = padded.length + 12;
      const b = Buffer.alloc(len);
      const w = (v: number, at: number) => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
      w(type, 0);
      w(len, 4);
      padded.copy(b, 8);
      w(len, len - 4);
      parts.push(b);
    };
    const body = (size: number) => {
      const b = Buffer.alloc(size);
      return {
        b,
        u32: (v: number, at: number) => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at)),
        u16: (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at)),
      };
    };
    const shb = body(16);
    shb.u32(0x1a2b3c4d, 0);
    shb.u16(1, 4);
    shb.b.writeBigInt64LE(-1n, 8);
    block(0x0a0d0d0a, shb.b);
    for (const itf of s.interfaces) {
      const hasRes = itf.tsresol !== undefined;
      const idb = body(8 + (hasRes ? 8 : 0) + 4);
      idb.u16(itf.linkType, 0);
      idb.u32(itf.snaplen ?? 0, 4);
      if (hasRes) {
        idb.u16(9, 8);
        idb.u16(1, 10);
        idb.b[12] = itf.tsresol!;
      }
      // opt_endofopt: zeros
      block(1, idb.b);
    }
    for (const t of s.unknownBlocks ?? []) block(t, Buffer.from('some unknown block body'));
    for (const p of s.packets) {
      const itf = s.interfaces[p.iface ?? 0] ?? { linkType: 1 }; // an undescribed interface: a damaged file
      const cap = p.capLen ?? p.data.length;
      const data = Buffer.from(p.data.subarray(0, cap));
      if (p.block === 'spb') {
        const h = body(4);
        h.u32(p.origLen ?? p.data.length, 0);
        block(3, concat([h.b, data]));
        continue;
      }
      const u = units(p.tsNs, itf.tsresol);
      const h = body(20);
      if (p.block === 'opb') {
        h.u16(p.iface ?? 0, 0);
        h.u16(0, 2);
      } else {
        h.u32(p.iface ?? 0, 0);
      }
      h.u32(Number(u >> 32n), 4);
      h.u32(Number(u & 0xffffffffn), 8);
      h.u32(cap, 12);
      h.u32(p.origLen ?? p.data.length, 16);
      block(p.block === 'opb' ? 2 : 6, concat([h.b, data]));
    }
  }
  return concat(parts);
}

/**
 * A TCP conversation with automatic sequence numbers: `c(...)` and `s(...)`
 * add client and server segments; each returns the packet, so a test can
 * reorder, duplicate or drop them.
 */
export class Conversation {
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  cSeq: number;
  sSeq: number;
  tsNs: bigint;
  readonly packets: Buffer[] = [];

  constructor(opts: { client?: [string, number]; server?: [string, number]; cIsn?: number; sIsn?: number; tsNs?: bigint } = {}) {
    this.client = { ip: opts.client?.[0] ?? '10.0.0.1', port: opts.client?.[1] ?? 40000 };
    this.server = { ip: opts.server?.[0] ?? '10.0.0.2', port: opts.server?.[1] ?? 80 };
    this.cSeq = opts.cIsn ?? 1000;
    this.sSeq = opts.sIsn ?? 5000;
    this.tsNs = opts.tsNs ?? 1_700_000_000_000_000_000n;
  }

  private seg(fromClient: boolean, flags: string, payload: string | Bytes = ''): Buffer {
    const len = typeof payload === 'string' ? payload.length : payload.length;
    const from = fromClient ? this.client : this.server;
    const to = fromClient ? this.server : this.client;
    const seq = fromClient ? this.cSeq : this.sSeq;
    const ack = fromClient ? this.sSeq : this.cSeq;
    const p = tcpPacket({ src: from.ip, dst: to.ip, sport: from.port, dport: to.port, seq, ack, flags, payload });
    const consumed = len + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0);
    if (fromClient) this.cSeq = (this.cSeq + consumed) >>> 0;
    else this.sSeq = (this.sSeq + consumed) >>> 0;
    this.packets.push(p);
    return p;
  }

  handshake(): Buffer[] {
    const syn = this.seg(true, 'S');
    const synAck = this.seg(false, 'SA');
    return [syn, synAck, this.seg(true, 'A')];
  }

  c(payload: string | Bytes, flags = 'PA'): Buffer {
    return this.seg(true, flags, payload);
  }

  s(payload: string | Bytes, flags = 'PA'): Buffer {
    return this.seg(false, flags, payload);
  }

  cFin(): Buffer {
    return this.seg(true, 'FA');
  }

  sFin(): Buffer {
    return this.seg(false, 'FA');
  }

  cRst(): Buffer {
    return this.seg(true, 'R');
  }
}

/** Packets at 1 ms intervals from `start`, framed for `link`. */
export function timed(ips: readonly Bytes[], link: Link = 'ethernet', start = 1_700_000_000_000_000_000n): Packet[] {
  return ips.map((ip, i) => ({ data: frame(link, ip), tsNs: start + BigInt(i) * 1_000_000n }));
}

let dir: string | undefined;
let n = 0;

/** Writes bytes to a temporary file and returns its path. */
export function tempCapture(bytes: Bytes, name = 'test.pcap'): string {
  dir ??= mkdtempSync(path.join(tmpdir(), 'hp-pcap-'));
  const file = path.join(dir, `${n++}-${name}`);
  writeFileSync(file, bytes);
  return file;
}

export interface ReadResult {
  events: SensorEvent[];
  batches: number;
  stats?: CaptureStats;
  error?: Error & { code?: string; offset?: number };
}

/** Reads a capture completely; an error is returned, not thrown, with the events before it. */
export async function readAll(fileOrBytes: string | Bytes, options: CaptureOptions = {}): Promise<ReadResult> {
  const file = typeof fileOrBytes === 'string' ? fileOrBytes : tempCapture(fileOrBytes);
  const gen = readCapture(file, options);
  const out: ReadResult = { events: [], batches: 0 };
  try {
    for (;;) {
      const r = await gen.next();
      if (r.done) {
        out.stats = r.value;
        break;
      }
      out.batches++;
      out.events.push(...r.value);
    }
  } catch (err) {
    out.error = err as ReadResult['error'];
  }
  return out;
}

/** The data events of a read, as compact tuples for assertions. */
export function dataOf(events: readonly SensorEvent[]): Array<[string, string, number, number, string]> {
  const out: Array<[string, string, number, number, string]> = [];
  for (const e of events) if (e.type === 'data') out.push([e.conn, e.direction, e.pos, e.len, Buffer.from(e.payload).toString('latin1')]);
  return out;
}
