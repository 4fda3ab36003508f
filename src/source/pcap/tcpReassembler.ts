/**
 * TCP segments in, the sensor's event model out: per connection (4-tuple)
 * and per direction, each segment's byte position is its sequence number
 * relative to the direction's start (ISN + 1 after a SYN; the first
 * sequence number seen when the capture starts mid-connection), unwrapped
 * past 2^32. Bytes are emitted once, in order:
 *
 * - retransmissions and overlaps: the first copy wins; only bytes beyond
 *   what was emitted go on;
 * - out-of-order segments are held (copied) until the hole fills; the hole
 *   is given up as lost when the peer acknowledges bytes the capture never
 *   showed, after `holdSegments` more segments of that direction, at the
 *   connection's end, or at the end of the capture. Then the later data is
 *   emitted at its true position, and the pipeline reports the gap;
 * - a packet cut by the snaplen carries what was captured as payload and
 *   the IP header's length as `len`: the missing tail is a gap too.
 *
 * Roles: the SYN sender is the client, the SYN-ACK sender the server.
 * Without a handshake (the capture starts mid-connection), the server is,
 * in this order: the endpoint whose port is below 1024 when the other's is
 * not; the endpoint whose port is below 32768 (not ephemeral on Linux,
 * BSD or Windows) when the other's is not; the lower port; for equal ports,
 * the destination of the first packet seen.
 *
 * The perspective decides which endpoint is "the traced process": the
 * server (as if the sensor ran beside the server: role 'server', origin
 * 'accept', egress = server -> client) or the client. Connections end at
 * an RST or once both sides sent a FIN; a new SYN on the same 4-tuple
 * then opens a new connection with a new id.
 */
import type { ConnCloseEvent, ConnOpenEvent, DataEvent, Direction, Endpoint, SensorEvent } from '../events.ts';
import type { PacketRecord } from './packetRecord.ts';
import { TcpFlag, type TcpSegment } from './packetDecoder.ts';
import { formatAddress } from './addressText.ts';

export type Perspective = 'server' | 'client';

export interface ReassemblyOptions {
  readonly perspective: Perspective;
  /** Out-of-order segments of one direction held before its first hole is declared lost. */
  readonly holdSegments: number;
  /** `comm` of every connection (no process is known from packets). */
  readonly comm: string;
  /** Capture seconds a connection may stay silent before it is forgotten (memory bound). */
  readonly idleSeconds: number;
  /** Capture seconds a closed connection's 4-tuple ignores stray packets (TIME_WAIT). */
  readonly closedLingerSeconds: number;
}

export const DEFAULT_REASSEMBLY_OPTIONS: ReassemblyOptions = {
  perspective: 'server',
  holdSegments: 64,
  comm: '',
  idleSeconds: 600,
  closedLingerSeconds: 120,
};

export interface ReassemblyStats {
  /** Connections that produced events (an open event each). */
  connections: number;
  /** Connections that carried no payload (e.g. refused, scans): no events. */
  silentConnections: number;
  /** Payload bytes emitted (both directions, captured or not). */
  payloadBytes: number;
  retransmittedBytes: number;
  /** Segments that arrived ahead of a hole. */
  outOfOrder: number;
  /** Holes given up as lost, and their bytes. */
  gaps: number;
  gapBytes: number;
  /** Bytes that arrived with positions before the start of a mid-connection stream. */
  bytesBeforeStart: number;
  /** Packets on a closed connection's 4-tuple that were not a new SYN. */
  packetsAfterClose: number;
}

interface Held {
  pos: number;
  len: number;
  payload: Uint8Array;
  tsNs: bigint;
}

const EMPTY = new Uint8Array(0);

/** One direction of a connection, by the side that sends it. */
class Half {
  /** Whether the position origin is known (SYN seen, or first data). */
  known = false;
  /** Sequence number of position nextPos. */
  nextSeq = 0;
  /** Next position to emit: everything before it is emitted or given up. */
  nextPos = 0;
  held: Held[] = [];
  /** Segments of this direction since the hole opened. */
  sinceHole = 0;
  fin = false;
  /** A gap was emitted: the next event says so. */
  afterLoss = false;

  setOrigin(seq: number): void {
    this.known = true;
    this.nextSeq = seq >>> 0;
    this.nextPos = 0;
  }

  /** Position of a sequence number, unwrapped around nextPos. */
  posOf(seq: number): number {
    return this.nextPos + ((seq - this.nextSeq) | 0);
  }

  advanceTo(pos: number): void {
    this.nextSeq = (this.nextSeq + (pos - this.nextPos)) >>> 0;
    this.nextPos = pos;
  }
}

class Conn {
  readonly key: string;
  /** Endpoint key (address bytes + port) of side 0: the sender of the first packet. */
  readonly side0: string;
  readonly endpoints: [Endpoint, Endpoint];
  readonly family: 'ipv4' | 'ipv6';
  readonly halves: [Half, Half] = [new Half(), new Half()];
  /** Which side is the server. */
  server: 0 | 1;
  handshake = false;
  /** The client's SYN: its sequence number and sender, to tell a retransmitted SYN from a new connection. */
  clientIsn = -1;
  synFrom = '';
  /** Set when the open event is emitted. */
  id: string | undefined;
  closed = false;
  lastSeconds = 0;

  constructor(key: string, side0: string, endpoints: [Endpoint, Endpoint], family: 'ipv4' | 'ipv6', server: 0 | 1) {
    this.key = key;
    this.side0 = side0;
    this.endpoints = endpoints;
    this.family = family;
    this.server = server;
  }
}

/** Which side (0 = the sender of the first packet seen) is the server, without a handshake. */
export function serverSideByPorts(srcPort: number, dstPort: number): 0 | 1 {
  if (srcPort < 1024 !== dstPort < 1024) return srcPort < 1024 ? 0 : 1;
  if (srcPort < 32768 !== dstPort < 32768) return srcPort < 32768 ? 0 : 1;
  if (srcPort !== dstPort) return srcPort < dstPort ? 0 : 1;
  return 1;
}

export class TcpReassembler {
  readonly stats: ReassemblyStats = {
    connections: 0, silentConnections: 0, payloadBytes: 0, retransmittedBytes: 0, outOfOrder: 0, gaps: 0, gapBytes: 0,
    bytesBeforeStart: 0, packetsAfterClose: 0,
  };
  /**
   * Where batches must end: after each event that follows a position jump.
   * The pipeline turns a jump into a gap when its batch ends; ending the
   * batch there keeps the other direction from being parsed past the hole.
   */
  private cuts: number[] = [];
  private readonly conns = new Map<string, Conn>();
  private readonly options: ReassemblyOptions;
  private out: SensorEvent[] = [];
  private nextId = 0;
  private lastSweep = 0;
  private packets = 0;

  constructor(options: ReassemblyOptions = DEFAULT_REASSEMBLY_OPTIONS) {
    this.options = options;
  }

  /** Whether a batch is ready: `batchSize` events, or events up to a cut. */
  ready(batchSize: number): boolean {
    return this.cuts.length > 0 || this.out.length >= batchSize;
  }

  /** The next batch: at most `batchSize` events, ending at the first cut. */
  take(batchSize: number): SensorEvent[] {
    const n = Math.min(this.cuts[0] ?? Infinity, batchSize, this.out.length);
    const batch = n === this.out.length ? this.out : this.out.slice(0, n);
    this.out = n === this.out.length ? [] : this.out.slice(n);
    const cuts: number[] = [];
    for (const c of this.cuts) if (c > n) cuts.push(c - n);
    this.cuts = cuts;
    return batch;
  }

  get pending(): number {
    return this.out.length;
  }

  get openConnections(): number {
    return this.conns.size;
  }

  /** The last packet's ends, as numbers, and the keys made from them. */
  private readonly lastEnds = new Uint32Array(10);
  private lastLen = -1;
  private lastKeys = { src: '', dst: '', key: '' };
  private lastSwapped = { src: '', dst: '', key: '' };

  /**
   * The string keys of a segment's ends and connection. Consecutive packets
   * usually belong to one flow: comparing a few numbers with the previous
   * packet's ends saves building three strings per packet.
   */
  private keysOf(d: Buffer, seg: TcpSegment): { src: string; dst: string; key: string } {
    const words = seg.addrLen >> 2;
    const e = this.lastEnds;
    let same = this.lastLen === seg.addrLen && e[8] === seg.srcPort && e[9] === seg.dstPort;
    for (let i = 0; same && i < words; i++) {
      same = e[i] === d.readUInt32LE(seg.srcAddr + 4 * i) && e[4 + i] === d.readUInt32LE(seg.dstAddr + 4 * i);
    }
    if (same) return this.lastKeys;
    // The other direction of the same flow (a response after a request).
    let swapped = this.lastLen === seg.addrLen && e[8] === seg.dstPort && e[9] === seg.srcPort;
    for (let i = 0; swapped && i < words; i++) {
      swapped = e[i] === d.readUInt32LE(seg.dstAddr + 4 * i) && e[4 + i] === d.readUInt32LE(seg.srcAddr + 4 * i);
    }
    if (swapped) return this.lastSwapped;
    for (let i = 0; i < words; i++) {
      e[i] = d.readUInt32LE(seg.srcAddr + 4 * i);
      e[4 + i] = d.readUInt32LE(seg.dstAddr + 4 * i);
    }
    e[8] = seg.srcPort;
    e[9] = seg.dstPort;
    this.lastLen = seg.addrLen;
    const src = d.toString('latin1', seg.srcAddr, seg.srcAddr + seg.addrLen) + String.fromCharCode(seg.srcPort);
    const dst = d.toString('latin1', seg.dstAddr, seg.dstAddr + seg.addrLen) + String.fromCharCode(seg.dstPort);
    const key = src < dst ? src + dst : dst + src;
    this.lastKeys = { src, dst, key };
    this.lastSwapped = { src: dst, dst: src, key };
    return this.lastKeys;
  }

  /** One TCP segment, as decoded from `rec`. */
  segment(rec: PacketRecord, seg: TcpSegment): void {
    const d = rec.data;
    const { src: srcKey, key } = this.keysOf(d, seg);
    const flags = seg.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const ackFlag = (flags & TcpFlag.ACK) !== 0;
    const now = rec.clock.seconds(rec.tsA, rec.tsB);
    if (++this.packets % 4096 === 0 && now - this.lastSweep > 10) this.sweep(now);

    let conn = this.conns.get(key);
    if (conn) {
      if (conn.closed) {
        if (!(syn && !ackFlag)) {
          this.stats.packetsAfterClose++;
          return;
        }
        this.conns.delete(key);
        conn = undefined;
      } else if (syn && !ackFlag && !(conn.clientIsn === seg.seq && srcKey === conn.synFrom)) {
        // A new connection on a 4-tuple whose end the capture did not show.
        this.close(conn, rec);
        this.conns.delete(key);
        conn = undefined;
      }
    }
    if (!conn) {
      const server: 0 | 1 = syn ? (ackFlag ? 0 : 1) : serverSideByPorts(seg.srcPort, seg.dstPort);
      const src = { address: formatAddress(d, seg.srcAddr, seg.addrLen), port: seg.srcPort };
      const dst = { address: formatAddress(d, seg.dstAddr, seg.addrLen), port: seg.dstPort };
      conn = new Conn(key, srcKey, [src, dst], seg.ipVersion === 4 ? 'ipv4' : 'ipv6', server);
      this.conns.set(key, conn);
    }
    conn.lastSeconds = now;
    const side: 0 | 1 = srcKey === conn.side0 ? 0 : 1;
    const half = conn.halves[side];
    const other = conn.halves[side === 0 ? 1 : 0];

    let dataSeq = seg.seq;
    if (syn) {
      dataSeq = (seg.seq + 1) >>> 0; // data on a SYN (TCP Fast Open) starts after it
      if (!conn.id) {
        conn.handshake = true;
        conn.server = ackFlag ? side : side === 0 ? 1 : 0;
      }
      if (!ackFlag) {
        conn.clientIsn = seg.seq;
        conn.synFrom = srcKey;
      }
      if (!half.known) half.setOrigin(dataSeq);
      if (ackFlag) {
        if (!other.known) other.setOrigin(seg.ack);
        this.open(conn, rec);
      }
    }

    // The peer acknowledged bytes the capture never showed: they are lost, stop waiting.
    if (ackFlag && other.held.length > 0 && other.known) {
      const acked = other.posOf(seg.ack);
      if (acked > other.nextPos) this.giveUp(conn, side === 0 ? 1 : 0, acked);
    }

    if (seg.payloadLen > 0) {
      if (!half.known) half.setOrigin(dataSeq);
      this.open(conn, rec);
      this.data(conn, side, half.posOf(dataSeq), seg.payloadLen, d, seg.payload, seg.payloadCaptured, rec);
    }

    if ((flags & TcpFlag.RST) !== 0) {
      this.close(conn, rec);
    } else if ((flags & TcpFlag.FIN) !== 0) {
      half.fin = true;
      if (other.fin) this.close(conn, rec);
    }
  }

  /** End of the capture: holes still open become gaps. Connections stay open (as live). */
  finish(): void {
    for (const conn of this.conns.values()) {
      if (conn.closed || !conn.id) continue;
      this.giveUp(conn, 0, Infinity);
      this.giveUp(conn, 1, Infinity);
    }
  }

  private traced(conn: Conn): 0 | 1 {
    return this.options.perspective === 'server' ? conn.server : conn.server === 0 ? 1 : 0;
  }

  private open(conn: Conn, rec: PacketRecord): void {
    if (conn.id) return;
    conn.id = `pcap-${++this.nextId}`;
    this.stats.connections++;
    const traced = this.traced(conn);
    const server = this.options.perspective === 'server';
    const ev: ConnOpenEvent = {
      type: 'open', tsNs: rec.clock.ns(rec.tsA, rec.tsB), pid: 0, tid: 0, conn: conn.id, fd: -1, comm: this.options.comm,
      role: this.options.perspective, origin: conn.handshake ? (server ? 'accept' : 'connect') : 'existing', family: conn.family,
      local: conn.endpoints[traced], remote: conn.endpoints[traced === 0 ? 1 : 0], cgroupId: 0n,
    };
    this.out.push(ev);
  }

  private data(conn: Conn, side: 0 | 1, pos: number, len: number, bytes: Buffer, at: number, captured: number, rec: PacketRecord): void {
    const half = conn.halves[side];
    const end = pos + len;
    if (end <= half.nextPos) {
      if (end <= 0) this.stats.bytesBeforeStart += len;
      else this.stats.retransmittedBytes += len;
      return;
    }
    if (pos < half.nextPos) {
      const skip = half.nextPos - pos;
      // Negative positions: bytes sent before a mid-connection stream's first one seen.
      const beforeStart = Math.max(0, Math.min(skip, -pos));
      this.stats.bytesBeforeStart += beforeStart;
      this.stats.retransmittedBytes += skip - beforeStart;
      at += skip;
      captured = Math.max(0, captured - skip);
      pos = half.nextPos;
      len = end - pos;
    }
    if (pos === half.nextPos) {
      this.emit(conn, side, pos, len, captured > 0 ? copy(bytes, at, captured) : EMPTY, rec.clock.ns(rec.tsA, rec.tsB));
      half.advanceTo(end);
      if (half.held.length > 0) this.drain(conn, side);
      return;
    }
    // Ahead of a hole: hold a copy (the reader's window is reused).
    const held = half.held;
    if (held.length === 0) half.sinceHole = 0;
    half.sinceHole++;
    let i = held.length;
    while (i > 0 && held[i - 1]!.pos > pos) i--;
    const before = held[i - 1];
    if (before && before.pos === pos && before.len >= len) {
      this.stats.retransmittedBytes += len;
    } else {
      this.stats.outOfOrder++;
      held.splice(i, 0, { pos, len, payload: captured > 0 ? copy(bytes, at, captured) : EMPTY, tsNs: rec.clock.ns(rec.tsA, rec.tsB) });
    }
    if (held.length > this.options.holdSegments || half.sinceHole > this.options.holdSegments) {
      // Waited long enough for the first hole; the next one (if any) gets its own wait.
      this.giveUp(conn, side, held[0]!.pos + 1);
      half.sinceHole = 0;
    }
  }

  /** Emits held segments that are now in order. */
  private drain(conn: Conn, side: 0 | 1): void {
    const half = conn.halves[side];
    const held = half.held;
    while (held.length > 0 && held[0]!.pos <= half.nextPos) {
      const h = held.shift()!;
      const end = h.pos + h.len;
      if (end <= half.nextPos) {
        this.stats.retransmittedBytes += h.len;
        continue;
      }
      const skip = half.nextPos - h.pos;
      this.stats.retransmittedBytes += skip;
      this.emit(conn, side, half.nextPos, end - half.nextPos, skip < h.payload.length ? h.payload.subarray(skip) : EMPTY, h.tsNs);
      half.advanceTo(end);
    }
  }

  /** Declares the holes before `until` lost: emits the held segments that start before it. */
  private giveUp(conn: Conn, side: 0 | 1, until: number): void {
    const half = conn.halves[side];
    const held = half.held;
    while (held.length > 0 && held[0]!.pos < until) {
      const first = held[0]!;
      if (first.pos > half.nextPos) {
        this.stats.gaps++;
        this.stats.gapBytes += first.pos - half.nextPos;
        half.advanceTo(first.pos);
        half.afterLoss = true;
      }
      this.drain(conn, side);
    }
    if (held.length === 0) half.sinceHole = 0;
  }

  private emit(conn: Conn, side: 0 | 1, pos: number, len: number, payload: Uint8Array, tsNs: bigint): void {
    const half = conn.halves[side];
    const egress = side === this.traced(conn);
    const direction: Direction = egress ? 'egress' : 'ingress';
    const ev: DataEvent = {
      type: 'data', tsNs, pid: 0, tid: 0, conn: conn.id!, direction, pos, len, payload, syscall: egress ? 'write' : 'read',
      afterLoss: half.afterLoss, lengthOnly: false, tls: false,
    };
    this.stats.payloadBytes += len;
    this.out.push(ev);
    if (half.afterLoss) {
      half.afterLoss = false;
      this.cuts.push(this.out.length);
    }
  }

  private close(conn: Conn, rec: PacketRecord): void {
    if (conn.closed) return;
    conn.closed = true;
    if (!conn.id) {
      this.stats.silentConnections++;
      return;
    }
    this.giveUp(conn, 0, Infinity);
    this.giveUp(conn, 1, Infinity);
    const traced = this.traced(conn);
    const ev: ConnCloseEvent = {
      type: 'close', tsNs: rec.clock.ns(rec.tsA, rec.tsB), pid: 0, tid: 0, conn: conn.id,
      egressBytes: conn.halves[traced].nextPos, ingressBytes: conn.halves[traced === 0 ? 1 : 0].nextPos,
    };
    this.out.push(ev);
  }

  /** Forgets closed connections after their linger time and silent ones after the idle time. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, conn] of this.conns) {
      const idle = now - conn.lastSeconds;
      if (conn.closed ? idle > this.options.closedLingerSeconds : idle > this.options.idleSeconds) {
        if (!conn.closed && conn.id) {
          this.giveUp(conn, 0, Infinity);
          this.giveUp(conn, 1, Infinity);
        } else if (!conn.id && !conn.closed) {
          this.stats.silentConnections++; // closed ones were counted by close()
        }
        this.conns.delete(key);
      }
    }
  }
}

function copy(bytes: Buffer, at: number, n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  bytes.copy(b, 0, at, at + n);
  return b;
}
