/**
 * Header blocks a program handed us in plaintext (Go's HTTP/2 stacks,
 * through uprobes: HeaderBlockCopy), matched to the frames the parser
 * reads, for the blocks it cannot decode itself: on a connection the
 * sensor joined after it opened, the peer's HPACK dynamic table is
 * unknown, and so are the fields that refer to it (:path, :status,
 * grpc-status...).
 *
 * Two orders, one per direction. A block the program is about to encode
 * comes before its frame's bytes: it waits here, by stream, until the
 * frame is parsed (takeAtFrame). A block the program decoded comes after
 * its frame: the parser already opened or continued the stream with what
 * it could decode, noted that a block is awaited (expect), and held the
 * stream's end if that block ended it (holdEnd); the copy then completes
 * it (takeAwaited). A held end is released when the copy comes, after
 * HOLD_LIMIT_NS of event time without it, or at close: the stream is
 * reported either way, with what is known.
 *
 * Bounded: WAITING_LIMIT blocks wait per side (the oldest dropped), and
 * awaited blocks live on their streams (MAX_OPEN_STREAMS).
 */
import type { HeaderBlockCopy, Side } from '../contract.ts';
import type { DecodedBlock } from './hpack.ts';
import type { Http2Stream } from './stream.ts';

/** Blocks waiting for their frame, per side. */
export const WAITING_LIMIT = 256;
/** How long a stream's end waits for a decoded block that should follow (event time). */
export const HOLD_LIMIT_NS = 1_000_000_000n;

export interface SupplyStats {
  /** Copies used in place of a block the parser could not decode. */
  used: number;
  /** Copies matched to a block the parser decoded whole (the wire won). */
  redundant: number;
  /** Copies no frame or stream was found for, or dropped over the bound. */
  unmatched: number;
  /** Ends released without the awaited copy (lost, or a stack that sends none). */
  released: number;
}

/** What a stream awaits of one side: a decoded block, one entry per block, in order. */
export interface Awaited {
  /** Fields the parser could not resolve in it (already counted in the stream's facts). */
  readonly unknown: number;
  /** The block that opened the stream (its request), rather than a later one. */
  readonly opening: boolean;
}

export function isUnresolved(block: DecodedBlock): boolean {
  return block.unknown > 0 || block.malformed !== undefined;
}

/** The copy as the parser's decoded form. */
export function decodedOf(copy: HeaderBlockCopy): DecodedBlock {
  return { fields: copy.fields.map((f) => ({ name: f.name, value: f.value })), unknown: copy.unknown };
}

export class HeaderSupply {
  readonly stats: SupplyStats = { used: 0, redundant: 0, unmatched: 0, released: 0 };
  /** Per side: whether its copies follow their frames; unknown until a copy of either side came. */
  private readonly follows: Record<Side, boolean | undefined> = { request: undefined, response: undefined };
  private readonly waiting: Record<Side, Map<number, DecodedBlock[]>> = { request: new Map(), response: new Map() };
  private readonly waitingCount: Record<Side, number> = { request: 0, response: 0 };
  /** Streams whose end waits for an awaited copy, with the time it ended. */
  private readonly held = new Map<Http2Stream, bigint>();

  /** A copy arrived: returns it in decoded form when it follows its frame (to complete a stream), else keeps it. */
  supply(side: Side, copy: HeaderBlockCopy): DecodedBlock | undefined {
    // The two directions are the two orders: one side's tells the other's.
    this.follows[side] = copy.follows;
    this.follows[side === 'request' ? 'response' : 'request'] = !copy.follows;
    const block = decodedOf(copy);
    if (copy.follows) return block;
    const bySide = this.waiting[side];
    if (this.waitingCount[side] >= WAITING_LIMIT) this.dropOldest(side);
    const list = bySide.get(copy.streamId);
    if (list) list.push(block);
    else bySide.set(copy.streamId, [block]);
    this.waitingCount[side]++;
    return undefined;
  }

  /** The block to use for a frame of (side, stream) the parser decoded as `decoded`. */
  takeAtFrame(side: Side, streamId: number, decoded: DecodedBlock): DecodedBlock {
    const bySide = this.waiting[side];
    const list = bySide.get(streamId);
    if (!list) return decoded;
    const copy = list.shift()!;
    if (list.length === 0) bySide.delete(streamId);
    this.waitingCount[side]--;
    if (!isUnresolved(decoded)) {
      this.stats.redundant++;
      return decoded;
    }
    this.stats.used++;
    return copy;
  }

  /** Whether the copies of `side` follow their frames; undefined until a copy came. */
  followsOf(side: Side): boolean | undefined {
    return this.follows[side];
  }

  /** The stream ended: true when its end must wait for an awaited copy (then it is held). */
  holdEnd(st: Http2Stream, endNs: bigint): boolean {
    if (!this.awaits(st)) return false;
    this.held.set(st, endNs);
    return true;
  }

  /** The oldest awaited block of (st, side), taken, or undefined when none is awaited. */
  takeAwaited(st: Http2Stream, side: Side): Awaited | undefined {
    const entry = st.awaiting?.[side].shift();
    if (entry) this.stats.used++;
    else this.stats.unmatched++;
    return entry;
  }

  /** When `st` no longer awaits anything and its end was held: that end, released. */
  releaseIfComplete(st: Http2Stream): bigint | undefined {
    if (this.awaits(st)) return undefined;
    const end = this.held.get(st);
    if (end !== undefined) this.held.delete(st);
    return end;
  }

  /**
   * Whether a copy is still to come for `st`: a block awaited on a side
   * whose copies follow their frames (or may: not known yet). Blocks noted
   * before a side turned out to send its copies first (or none: a stack
   * probed on one direction only) are not waited for.
   */
  private awaits(st: Http2Stream): boolean {
    const a = st.awaiting;
    if (a === undefined) return false;
    return (a.request.length > 0 && this.follows.request !== false) || (a.response.length > 0 && this.follows.response !== false);
  }

  hasHeld(): boolean {
    return this.held.size > 0;
  }

  /** Held ends older than HOLD_LIMIT_NS at `nowNs` (all of them when undefined), released. */
  releaseExpired(nowNs: bigint | undefined): Array<[Http2Stream, bigint]> {
    const out: Array<[Http2Stream, bigint]> = [];
    for (const [st, end] of this.held) {
      if (nowNs !== undefined && nowNs - end < HOLD_LIMIT_NS) continue;
      this.held.delete(st);
      st.awaiting = undefined;
      this.stats.released++;
      out.push([st, end]);
    }
    return out;
  }

  private dropOldest(side: Side): void {
    const bySide = this.waiting[side];
    const [id, list] = bySide.entries().next().value!;
    list.shift();
    if (list.length === 0) bySide.delete(id);
    this.waitingCount[side]--;
    this.stats.unmatched++;
  }
}

/**
 * A block of `st` the parser could not resolve: its copy may follow (noted
 * on every connection, as the first block of one joined late comes before
 * any copy says whether there will be copies at all).
 */
export function awaitCopy(st: Http2Stream, side: Side, decoded: DecodedBlock, opening: boolean): void {
  const entry: Awaited = { unknown: decoded.unknown + (decoded.malformed !== undefined ? 1 : 0), opening };
  const awaiting = (st.awaiting ??= { request: [], response: [] });
  awaiting[side].push(entry);
}
