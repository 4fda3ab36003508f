/**
 * TLS in a capture: connections whose client opens with a ClientHello are
 * decrypted with the key log's secrets (TlsDecryptor) and continue down the
 * pipeline as plaintext data events, with positions counted in plaintext;
 * without a key log, or without keys for a connection, they are reported
 * (counted, with the reason) and their bytes skipped, never parsed as
 * ciphertext.
 */
import type { ConnOpenEvent, DataEvent, SensorEvent } from '../events.ts';
import { TlsDecryptor, looksLikeTlsClientHello, type KeyLog, type TlsDirection } from './tls/index.ts';

export interface TlsStats {
  /** Connections that opened with a TLS ClientHello. */
  connections: number;
  /** Of those, connections whose records decrypted. */
  decrypted: number;
  /** Connections skipped: no key log given, or no keys for them, or not decryptable. */
  skipped: number;
  /** Why, per distinct reason, with how many connections. */
  reasons: Record<string, number>;
}

interface ConnState {
  open: ConnOpenEvent;
  kind: 'undecided' | 'plain' | 'tls';
  firstClientBytes: Buffer[];
  held: DataEvent[];
  decryptor?: TlsDecryptor;
  /** Next ciphertext position per traced direction, to notice holes. */
  next: { egress: number; ingress: number };
  /** Plaintext positions per traced direction. */
  plain: { egress: number; ingress: number };
  decryptedAny: boolean;
}

const HELLO_BYTES = 6;

export class TlsLayer {
  readonly stats: TlsStats = { connections: 0, decrypted: 0, skipped: 0, reasons: {} };
  private readonly conns = new Map<string, ConnState>();
  private readonly keylog: KeyLog | undefined;

  constructor(keylog?: KeyLog) {
    this.keylog = keylog;
  }

  /**
   * One batch of a capture's events in, the same batch with TLS handled
   * out. A batch of plain connections only (nearly all of them) passes
   * through as it is: it is returned itself, and a list of its own is made
   * only from the first event that does not go on unchanged.
   */
  transform(events: readonly SensorEvent[]): readonly SensorEvent[] {
    let out: SensorEvent[] | undefined;
    // Indexed loops, not for...of: the optimising tier short of the top one
    // (Maglev) allocates an iterator result per element.
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      if (out === undefined) {
        if (this.passes(ev)) continue;
        out = events.slice(0, i);
      }
      this.handle(ev, out);
    }
    return out ?? events;
  }

  /** Handles an event that goes on unchanged, alone, and says so; any other is left untouched (false). */
  private passes(ev: SensorEvent): boolean {
    switch (ev.type) {
      case 'open':
        this.track(ev);
        return true;
      case 'data': {
        const s = this.conns.get(ev.conn);
        return !s || s.kind === 'plain';
      }
      case 'close': {
        const s = this.conns.get(ev.conn);
        if (s && s.kind !== 'plain') return false;
        this.conns.delete(ev.conn); // as end() does for a plain connection
        return true;
      }
      default:
        return true;
    }
  }

  private handle(ev: SensorEvent, out: SensorEvent[]): void {
    if (ev.type === 'open') {
      this.track(ev);
      out.push(ev);
    } else if (ev.type === 'data') {
      this.onData(ev, out);
    } else if (ev.type === 'close') {
      this.end(ev.conn, out);
      out.push(ev);
    } else {
      out.push(ev);
    }
  }

  private track(open: ConnOpenEvent): void {
    this.conns.set(open.conn, {
      open, kind: 'undecided', firstClientBytes: [], held: [], next: { egress: 0, ingress: 0 }, plain: { egress: 0, ingress: 0 }, decryptedAny: false,
    });
  }

  /** End of the capture: what is still undecided is plain. */
  finish(): SensorEvent[] {
    const out: SensorEvent[] = [];
    for (const key of [...this.conns.keys()]) this.end(key, out);
    return out;
  }

  /** The traced process's direction that carries the client's bytes. */
  private clientDirection(s: ConnState): 'egress' | 'ingress' {
    return s.open.role === 'client' ? 'egress' : 'ingress';
  }

  private onData(ev: DataEvent, out: SensorEvent[]): void {
    const s = this.conns.get(ev.conn);
    if (!s || s.kind === 'plain') {
      out.push(ev);
      return;
    }
    if (s.kind === 'undecided') {
      s.held.push(ev);
      if (ev.direction === this.clientDirection(s)) s.firstClientBytes.push(Buffer.from(ev.payload));
      const first = Buffer.concat(s.firstClientBytes);
      if (first.length < HELLO_BYTES && s.held.length < 64) return;
      s.kind = first.length >= HELLO_BYTES && looksLikeTlsClientHello(first) ? 'tls' : 'plain';
      const held = s.held;
      s.held = [];
      s.firstClientBytes = [];
      if (s.kind === 'plain') {
        out.push(...held);
        return;
      }
      this.stats.connections++;
      if (this.keylog) s.decryptor = new TlsDecryptor(this.keylog);
      for (const h of held) this.decrypt(s, h, out);
      return;
    }
    this.decrypt(s, ev, out);
  }

  private decrypt(s: ConnState, ev: DataEvent, out: SensorEvent[]): void {
    const d = s.decryptor;
    if (!d) return; // no key log: the bytes are skipped, the connection counted at its end
    const dir = ev.direction;
    const from: TlsDirection = dir === this.clientDirection(s) ? 'client' : 'server';
    if (ev.pos > s.next[dir]) d.gap(from, ev.pos - s.next[dir]);
    s.next[dir] = Math.max(s.next[dir], ev.pos + ev.len);
    for (const chunk of d.push(from, ev.payload, ev.tsNs)) this.emitPlain(s, chunk.from, chunk.bytes, chunk.tsNs, out);
    if (ev.payload.length < ev.len) d.gap(from, ev.len - ev.payload.length);
  }

  private emitPlain(s: ConnState, from: TlsDirection, bytes: Uint8Array, tsNs: bigint, out: SensorEvent[]): void {
    const clientDir = this.clientDirection(s);
    const dir = from === 'client' ? clientDir : clientDir === 'egress' ? 'ingress' : 'egress';
    s.decryptedAny = true;
    out.push({
      type: 'data', tsNs, pid: s.open.pid, tid: s.open.tid, conn: s.open.conn, direction: dir, pos: s.plain[dir], len: bytes.length,
      payload: bytes, syscall: 'tls', afterLoss: false, lengthOnly: false, tls: true,
    });
    s.plain[dir] += bytes.length;
  }

  private end(conn: string, out: SensorEvent[]): void {
    const s = this.conns.get(conn);
    if (!s) return;
    this.conns.delete(conn);
    if (s.kind === 'undecided') {
      out.push(...s.held);
      return;
    }
    if (s.kind !== 'tls') return;
    if (s.decryptedAny) {
      this.stats.decrypted++;
      return;
    }
    this.stats.skipped++;
    const reason = !this.keylog
      ? 'no --keylog given'
      : s.decryptor?.state === 'decrypting' || s.decryptor?.state === 'handshake'
        ? 'no application data decrypted'
        : (s.decryptor?.reason ?? s.decryptor?.state ?? 'unknown').replace(/[0-9a-f]{16,}/g, (m) => `${m.slice(0, 8)}…`);
    this.stats.reasons[reason] = (this.stats.reasons[reason] ?? 0) + 1;
  }
}
