/**
 * Every connection the sources report: its two byte streams in order
 * (DirectionStream), which protocol it speaks (inference over the first
 * bytes), and that protocol's parser, fed per side. Bounded: at most
 * maxConnections (least recently active evicted), idle ones closed after
 * idleTimeoutNs of event time, inference given at most inferenceBytes per
 * direction. Each eviction, drop and undecided connection is counted.
 */
import type { ConnOpenEvent, DataEvent, Direction, HeadersEvent, Role, SensorEvent } from '../source/events.ts';
import type { ConnectionParser, Exchange, HeaderBlockCopy, ParserStats, Protocol, Side } from '../protocols/contract.ts';
import { headerBlockOf } from './headerBlockCopy.ts';
import { newParserStats } from '../protocols/contract.ts';
import { DirectionStream, type Delivery, type DeliverySink } from './directionStream.ts';

export interface TrackerLimits {
  maxConnections: number;
  idleTimeoutNs: bigint;
  /** Bytes per direction inference may wait for before giving up. */
  inferenceBytes: number;
}

export const DEFAULT_TRACKER_LIMITS: TrackerLimits = {
  maxConnections: 16384,
  idleTimeoutNs: 300_000_000_000n,
  inferenceBytes: 4096,
};

/** What the span builder needs to know about the connection of an exchange. */
export interface ConnContext {
  readonly open: ConnOpenEvent;
  /** client or server for this process, from connect/accept or from the bytes. */
  readonly role: Exclude<Role, 'unknown'>;
  readonly protocol: string;
  /** The bytes came decrypted from TLS (uprobes, or a capture with a key log). */
  readonly tls: boolean;
}

export type ExchangeSink = (conn: ConnContext, exchange: Exchange) => void;

export interface TrackerStats {
  connections: number;
  evictedLru: number;
  evictedIdle: number;
  /** Connections whose protocol none of the parsers claimed. */
  unknownProtocol: number;
  /** Socket bytes (events) of a TLS connection that arrived after its plaintext: not parsed. */
  ciphertextDropped: number;
  /** Header block copies (uprobes) of no tracked connection, an ignored one, or over the bound while inferring. */
  headerCopiesDropped: number;
  gaps: number;
  gapBytes: number;
  /** Bytes held now, by stage: computed when asked, over the (capped) tracked connections. */
  buffered: BufferedBytes;
}

export interface BufferedBytes {
  /** Events held back by a stream waiting for a hole to fill (flushed at the end of every batch). */
  reorder: number;
  /** First bytes of connections whose protocol is not decided yet. */
  inference: number;
  /** What parsers hold of an incomplete frame, head or message (ConnectionParser.bufferedBytes). */
  parsers: number;
}

interface Tracked {
  open: ConnOpenEvent;
  lastNs: bigint;
  /**
   * lastNs when the connection took its place in `conns` order. Activity
   * does not move it (a Map delete and set per event is costly); eviction
   * and the idle sweep move it lazily when lastNs says it was active since.
   */
  orderNs: bigint;
  streams: Record<Direction, DirectionStream>;
  /** Deliveries kept while the protocol is undecided, in arrival order. */
  early: Array<{ dir: Direction; d: Delivery | HeaderCopyDelivery }>;
  earlyBytes: Record<Direction, number>;
  state: 'inferring' | 'parsing' | 'ignored';
  protocol?: Protocol;
  parser?: ConnectionParser;
  requestsOn: Direction;
  role: Exclude<Role, 'unknown'>;
  tls: boolean;
  /** Header blocks copied by uprobes came for it: only HTTP/2 stacks are probed so (see infer). */
  headerCopies: boolean;
}

/** A header block copy kept, in order with the bytes, while the protocol is undecided. */
interface HeaderCopyDelivery {
  readonly kind: 'headers';
  readonly block: HeaderBlockCopy;
  readonly tsNs: bigint;
}

/** The protocol header block copies belong to: decided for on the first one when its inference says maybe. */
const HEADER_COPIES_PROTOCOL = 'http2';
/** Header copies kept per connection while its protocol is undecided; beyond, they are dropped (counted). */
const MAX_EARLY_HEADER_COPIES = 64;

function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export class ConnectionTracker {
  private readonly conns = new Map<string, Tracked>();
  private readonly byPid = new Map<number, Set<string>>();
  private nowNs = 0n;
  private readonly holding = new Set<Tracked>();
  /** ciphertextDropped: socket bytes of a connection after its TLS plaintext arrived. */
  readonly counters = { evictedLru: 0, evictedIdle: 0, unknownProtocol: 0, ciphertextDropped: 0, headerCopiesDropped: 0 };
  private readonly protocols: readonly Protocol[];
  private readonly onExchange: ExchangeSink;
  private readonly limits: TrackerLimits;
  /** Counters of connections already gone, which still count. */
  private readonly retiredStats = { gaps: 0, gapBytes: 0 };
  private readonly retiredParsers = new Map<string, ParserStats>();
  /**
   * The connection and direction whose stream is delivering: set before
   * each push or flush of a DirectionStream, which delivers to `sink`
   * synchronously (nothing below re-enters the tracker).
   */
  private target: Tracked | undefined;
  private targetDir: Direction = 'egress';
  /** Deliveries kept for inference during this push or flush: inference runs once after it. */
  private keptEarly = false;
  private readonly sink: DeliverySink = {
    bytes: (bytes, tsNs) => {
      const t = this.target!;
      if (t.state === 'parsing') t.parser!.onData(this.sideOf(t, this.targetDir), bytes, tsNs);
      else if (t.state === 'inferring') this.keepEarly(t, { kind: 'bytes', bytes, tsNs });
    },
    gap: (length, tsNs) => {
      const t = this.target!;
      if (t.state === 'parsing') t.parser!.onGap(this.sideOf(t, this.targetDir), length, tsNs);
      else if (t.state === 'inferring') this.keepEarly(t, { kind: 'gap', length, tsNs });
    },
  };

  constructor(protocols: readonly Protocol[], onExchange: ExchangeSink, limits: TrackerLimits = DEFAULT_TRACKER_LIMITS) {
    this.protocols = protocols;
    this.onExchange = onExchange;
    this.limits = limits;
  }

  handle(ev: SensorEvent): void {
    if (ev.tsNs > this.nowNs) this.nowNs = ev.tsNs;
    switch (ev.type) {
      case 'open':
        this.end(ev.conn, ev.tsNs); // a reused id would be a source bug: never merge
        this.track(ev, 0);
        return;
      case 'data':
        this.onData(ev);
        return;
      case 'close':
        this.end(ev.conn, ev.tsNs);
        return;
      case 'exit':
        // The kernel closes a dead process's sockets without close(2).
        for (const conn of [...(this.byPid.get(ev.pid) ?? [])]) this.end(conn, ev.tsNs);
        return;
      case 'headers':
        this.onHeaders(ev);
        return;
      default:
        return;
    }
  }

  /** End of a source batch: open holes become gaps; idle connections end. */
  flush(): void {
    for (const t of this.holding) {
      this.flushStream(t, 'egress');
      this.flushStream(t, 'ingress');
    }
    this.holding.clear();
    const cutoff = this.nowNs - this.limits.idleTimeoutNs;
    for (const [key, t] of this.conns) {
      if (t.lastNs < cutoff) {
        this.counters.evictedIdle++;
        this.end(key, this.nowNs);
      } else if (t.orderNs < cutoff) {
        this.moveToBack(key, t); // active since it took its place
      } else {
        break; // every later place was taken later: none is idle
      }
    }
  }

  private moveToBack(key: string, t: Tracked): void {
    this.conns.delete(key);
    this.conns.set(key, t);
    t.orderNs = t.lastNs;
  }

  /** The least recently active connection's key (moving the active ones it meets to the back). */
  private leastRecentlyActive(): string | undefined {
    for (const [key, t] of this.conns) {
      if (t.orderNs === t.lastNs) return key;
      this.moveToBack(key, t);
    }
    return undefined;
  }

  /** Ends every connection (shutdown, end of a replay). */
  closeAll(): void {
    this.flush();
    for (const key of [...this.conns.keys()]) this.end(key, this.nowNs);
  }

  stats(): TrackerStats {
    let gaps = this.retiredStats.gaps;
    let gapBytes = this.retiredStats.gapBytes;
    const buffered: BufferedBytes = { reorder: 0, inference: 0, parsers: 0 };
    for (const t of this.conns.values()) {
      gaps += t.streams.egress.gaps + t.streams.ingress.gaps;
      gapBytes += t.streams.egress.gapBytes + t.streams.ingress.gapBytes;
      buffered.reorder += t.streams.egress.heldBytes + t.streams.ingress.heldBytes;
      // earlyBytes keeps counting after inference (its limit); the bytes are held only while inferring.
      if (t.state === 'inferring') buffered.inference += t.earlyBytes.egress + t.earlyBytes.ingress;
      if (t.parser) buffered.parsers += t.parser.bufferedBytes();
    }
    return { connections: this.conns.size, ...this.counters, gaps, gapBytes, buffered };
  }

  /** Parser counters summed per protocol, live and ended connections together. */
  parserStats(): Record<string, ParserStats> {
    const out: Record<string, ParserStats> = {};
    const add = (name: string, s: ParserStats) => {
      const acc = (out[name] ??= newParserStats());
      for (const k of Object.keys(acc) as Array<keyof ParserStats>) acc[k] += s[k];
    };
    for (const [name, s] of this.retiredParsers) add(name, s);
    for (const t of this.conns.values()) if (t.parser && t.protocol) add(t.protocol.name, t.parser.stats);
    return out;
  }

  private track(open: ConnOpenEvent, start: number): Tracked {
    if (this.conns.size >= this.limits.maxConnections) {
      const oldest = this.leastRecentlyActive();
      if (oldest !== undefined) {
        this.counters.evictedLru++;
        this.end(oldest, open.tsNs);
      }
    }
    const t: Tracked = {
      open,
      lastNs: open.tsNs,
      orderNs: open.tsNs,
      streams: { egress: new DirectionStream(start), ingress: new DirectionStream(start) },
      early: [],
      earlyBytes: { egress: 0, ingress: 0 },
      state: 'inferring',
      requestsOn: open.role === 'server' ? 'ingress' : 'egress',
      role: open.role === 'server' ? 'server' : 'client',
      tls: false,
      headerCopies: false,
    };
    this.conns.set(open.conn, t);
    let set = this.byPid.get(open.pid);
    if (!set) this.byPid.set(open.pid, (set = new Set()));
    set.add(open.conn);
    return t;
  }

  private onData(ev: DataEvent): void {
    let t = this.conns.get(ev.conn);
    if (!t) {
      // Its open event was lost: track from here, ends unknown.
      const synthetic: ConnOpenEvent = {
        type: 'open', tsNs: ev.tsNs, pid: ev.pid, tid: ev.tid, conn: ev.conn, fd: -1, comm: '', role: 'unknown',
        origin: 'existing', family: 'ipv4', local: { address: '', port: 0 }, remote: { address: '', port: 0 }, cgroupId: 0n,
      };
      t = this.track(synthetic, -1);
    }
    t.lastNs = ev.tsNs;
    if (ev.tls !== t.tls) {
      // Socket bytes after the plaintext took over are ciphertext in flight
      // (the sensor stops sending them): never parsed.
      if (!ev.tls) {
        this.counters.ciphertextDropped++;
        return;
      }
      this.switchToPlaintext(t);
    }
    const stream = t.streams[ev.direction];
    this.target = t;
    this.targetDir = ev.direction;
    stream.push(ev, this.sink);
    if (stream.holding) this.holding.add(t);
    this.afterDelivery(t);
  }

  /** Delivers what a stream still holds back (holes become gaps). */
  private flushStream(t: Tracked, dir: Direction): void {
    this.target = t;
    this.targetDir = dir;
    t.streams[dir].flush(this.sink);
    this.afterDelivery(t);
  }

  /** After a push or flush: inference over what was kept for it. */
  private afterDelivery(t: Tracked): void {
    this.target = undefined;
    if (!this.keptEarly) return;
    this.keptEarly = false;
    if (t.state === 'inferring') this.infer(t);
  }

  /**
   * The first TLS plaintext of a connection whose socket bytes (the
   * handshake, ciphertext) came first: those are dropped with whatever was
   * inferred or parsed from them, and the connection starts over on the
   * plaintext streams, which have positions of their own.
   */
  private switchToPlaintext(t: Tracked): void {
    this.retire(t);
    if (t.state === 'ignored') this.counters.unknownProtocol--; // it was ciphertext, not an unknown protocol
    const start = t.open.origin === 'existing' ? -1 : 0;
    t.streams = { egress: new DirectionStream(start), ingress: new DirectionStream(start) };
    // Header copies are of the plaintext: kept (they come before its first bytes when egress).
    t.early = t.early.filter((e) => e.d.kind === 'headers');
    t.earlyBytes = { egress: 0, ingress: 0 };
    t.state = 'inferring';
    t.protocol = undefined;
    t.parser = undefined;
    t.requestsOn = t.open.role === 'server' ? 'ingress' : 'egress';
    t.role = t.open.role === 'server' ? 'server' : 'client';
    t.tls = true;
    this.holding.delete(t);
  }

  /** Keeps the counters of a connection's streams and parser once they are dropped. */
  private retire(t: Tracked): void {
    if (t.parser && t.protocol) {
      const acc = this.retiredParsers.get(t.protocol.name) ?? newParserStats();
      for (const k of Object.keys(acc) as Array<keyof ParserStats>) acc[k] += t.parser.stats[k];
      this.retiredParsers.set(t.protocol.name, acc);
    }
    this.retiredStats.gaps += t.streams.egress.gaps + t.streams.ingress.gaps;
    this.retiredStats.gapBytes += t.streams.egress.gapBytes + t.streams.ingress.gapBytes;
  }

  /** A delivery of a connection whose protocol is not decided yet: kept for inference. */
  private keepEarly(t: Tracked, d: Delivery): void {
    const dir = this.targetDir;
    const last = t.early[t.early.length - 1];
    if (d.kind === 'gap' && last?.dir === dir && last.d.kind === 'gap') {
      // Consecutive gaps are one gap to a parser: one entry, not one per
      // event (a connection of sendfile events only would keep thousands).
      t.early[t.early.length - 1] = { dir, d: { kind: 'gap', length: last.d.length + d.length, tsNs: d.tsNs } };
    } else {
      t.early.push({ dir, d });
    }
    if (d.kind === 'bytes') t.earlyBytes[dir] += d.bytes.length;
    this.keptEarly = true;
  }

  private sideOf(t: Tracked, dir: Direction): Side {
    return dir === t.requestsOn ? 'request' : 'response';
  }

  private infer(t: Tracked): void {
    const first = (dir: Direction) => {
      // Inference looks at the stream's beginning only: up to the first gap.
      const parts: Uint8Array[] = [];
      for (const e of t.early) {
        if (e.dir !== dir || e.d.kind === 'headers') continue;
        if (e.d.kind === 'gap') break;
        parts.push(e.d.bytes);
      }
      return concat(parts);
    };
    const bytes = { egress: first('egress'), ingress: first('ingress'), role: t.open.role };
    let maybe: Protocol | undefined;
    let chosen: { protocol: Protocol; requestsOn?: Direction } | undefined;
    for (const p of this.protocols) {
      const v = p.infer(bytes);
      if (v.verdict === 'yes') {
        chosen = { protocol: p, requestsOn: v.requestsOn };
        break;
      }
      if (v.verdict === 'maybe') maybe ??= p;
    }
    if (!chosen && t.headerCopies && maybe?.name !== HEADER_COPIES_PROTOCOL) {
      maybe = this.protocols.find((p) => p.name === HEADER_COPIES_PROTOCOL && p.infer(bytes).verdict === 'maybe') ?? maybe;
    }
    if (!chosen && t.headerCopies && maybe?.name === HEADER_COPIES_PROTOCOL) chosen = { protocol: maybe };
    if (!chosen) {
      if (!maybe) {
        t.state = 'ignored';
        this.counters.unknownProtocol++;
        t.early = [];
        return;
      }
      // Deliveries count too: gaps carry no bytes, and infer() walks them all after each one.
      const exhausted = t.earlyBytes.egress >= this.limits.inferenceBytes || t.earlyBytes.ingress >= this.limits.inferenceBytes ||
        t.early.length >= this.limits.inferenceBytes;
      if (!exhausted) return; // wait for more bytes
      chosen = { protocol: maybe };
    }
    if (chosen.requestsOn) t.requestsOn = chosen.requestsOn;
    if (t.open.role === 'unknown') t.role = t.requestsOn === 'ingress' ? 'server' : 'client';
    const ctx: ConnContext = { open: t.open, role: t.role, protocol: chosen.protocol.name, tls: t.tls };
    t.protocol = chosen.protocol;
    t.parser = chosen.protocol.createParser((exchange) => this.onExchange(ctx, exchange), { fromStart: t.open.origin !== 'existing' });
    t.state = 'parsing';
    const early = t.early;
    t.early = [];
    for (const e of early) this.feed(t, e.dir, e.d);
  }

  private feed(t: Tracked, dir: Direction, d: Delivery | HeaderCopyDelivery): void {
    const side = this.sideOf(t, dir);
    if (d.kind === 'bytes') t.parser!.onData(side, d.bytes, d.tsNs);
    else if (d.kind === 'gap') t.parser!.onGap(side, d.length, d.tsNs);
    else t.parser!.onHeaders?.(side, d.block, d.tsNs);
  }

  /**
   * A header block a uprobe copied from the program (Go's HTTP/2 stacks):
   * to the connection's parser, in order with its bytes; kept with the
   * first bytes while the protocol is undecided, and proof enough that it
   * is HTTP/2.
   */
  private onHeaders(ev: HeadersEvent): void {
    const t = this.conns.get(ev.conn);
    if (!t || t.state === 'ignored') {
      this.counters.headerCopiesDropped++;
      return;
    }
    t.lastNs = ev.tsNs;
    t.headerCopies = true;
    const block = headerBlockOf(ev);
    if (t.state === 'parsing') {
      t.parser!.onHeaders?.(this.sideOf(t, ev.direction), block, ev.tsNs);
      return;
    }
    let kept = 0;
    for (const e of t.early) if (e.d.kind === 'headers') kept++;
    if (kept >= MAX_EARLY_HEADER_COPIES) {
      this.counters.headerCopiesDropped++;
      return;
    }
    t.early.push({ dir: ev.direction, d: { kind: 'headers', block, tsNs: ev.tsNs } });
    // Decided with bytes only: a copy can come before the first plaintext of
    // a TLS connection, which starts the connection over (switchToPlaintext).
    if (t.early.some((e) => e.d.kind === 'bytes')) this.infer(t);
  }

  private end(key: string, tsNs: bigint): void {
    const t = this.conns.get(key);
    if (!t) return;
    this.flushStream(t, 'egress');
    this.flushStream(t, 'ingress');
    t.parser?.onClose(tsNs);
    this.retire(t);
    this.conns.delete(key);
    this.holding.delete(t);
    const set = this.byPid.get(t.open.pid);
    set?.delete(key);
    if (set && set.size === 0) this.byPid.delete(t.open.pid);
  }
}
