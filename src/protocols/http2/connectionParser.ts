/**
 * One HTTP/2 connection as seen from the side: the client's bytes (preface
 * and frames) on the request side, the server's frames on the response
 * side. Frames are found and parsed per side, header blocks decoded with
 * that direction's HPACK state, and streams followed until the response
 * ends (END_STREAM), either side resets them, or a GOAWAY leaves them
 * unprocessed; each then becomes one exchange (HTTP or gRPC).
 *
 * Bounded: a side holds at most one frame of up to FRAME_BUFFER_LIMIT
 * octets (DATA payloads and larger frames are streamed, never held), a
 * header block up to HEADER_BLOCK_LIMIT, and MAX_OPEN_STREAMS streams.
 */
import { ByteQueue } from '../byteQueue.ts';
import type { ConnectionParser, Exchange, HeaderBlockCopy, ParserStats, Side } from '../contract.ts';
import { newParserStats } from '../contract.ts';
import { exchangeOf, withHeadersMissing } from './exchangeMapping.ts';
import { awaitCopy, HeaderSupply, isUnresolved } from './headerSupply.ts';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  errorCodeName,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  isPlausibleHeader,
  MAX_ALLOWED_FRAME_SIZE,
  newFrameHeader,
  newPayloadFields,
  Payload,
  readFrameHeader,
  readFrameHeaderInto,
  readPayload,
  readU32,
  Setting,
  settingId,
} from './frames.ts';
import type { FrameHeader, MutableFrameHeader, PayloadFields } from './frames.ts';
import { mergeResponseFacts, requestFacts, statusOf } from './headerFacts.ts';
import type { AttributeCapture } from '../attributeCapture/index.ts';
import { HpackDecoder, newReusableBlock } from './hpack.ts';
import type { DecodedBlock, ReusableBlock } from './hpack.ts';
import { newStream } from './stream.ts';
import type { Http2Stream } from './stream.ts';

/** Largest non-DATA frame held whole; larger ones are skipped as they pass. */
export const FRAME_BUFFER_LIMIT = 65_536;
/** Largest header block (HEADERS + CONTINUATIONs) decoded. */
export const HEADER_BLOCK_LIMIT = 65_536;
/** Open streams followed per connection; the oldest is given up beyond it. */
export const MAX_OPEN_STREAMS = 1_000;
/** Stream ids remembered after they end, so late frames are not taken for orphans. */
const RECENTLY_CLOSED = 256;

/** A DATA payload or a frame being skipped, passing through without being held. */
interface Passing {
  streamId: number;
  /** DATA octets still to come (counted as body), then padding / skipped octets. */
  payloadLeft: number;
  skipLeft: number;
  endStream: boolean;
  /** DATA of a stream, or octets of an unknown or oversized frame. */
  data: boolean;
  /** An oversized frame that ends the header block (END_HEADERS). */
  endsBlock: boolean;
}

interface PendingBlock {
  streamId: number;
  kind: 'headers' | 'push';
  endStream: boolean;
  promisedStreamId: number;
  startNs: bigint;
  fragments: Uint8Array[];
  size: number;
  overflow: boolean;
}

interface SideState {
  readonly side: Side;
  readonly queue: ByteQueue;
  /** The header of the frame at the front of the queue, refilled per frame. */
  readonly header: MutableFrameHeader;
  /** 'start': the client preface may come (request side only); 'hunting': looking for a frame boundary. */
  phase: 'start' | 'synced' | 'hunting';
  /**
   * While hunting: where the plausible frame at the front of the queue
   * ends, when hunt() waits for the header after it; 0 when not waiting.
   * Until the queue reaches that end (or a header past it), hunting again
   * would decide the same: see huntMayDecide.
   */
  huntFrameEnd: number;
  /**
   * Both always present (undefined when none), and cleared by assignment,
   * never `delete`: deleting a property turns the object into a dictionary,
   * and every read of this per-frame state would then be a lookup.
   */
  passing: Passing | undefined;
  block: PendingBlock | undefined;
  /** What `passing` is when set: one per side, refilled for each DATA or skipped frame. */
  readonly pass: Passing;
  decoder: HpackDecoder;
  /**
   * The side's last header block, decoded: read (headerFacts) before the
   * next is decoded into it. One per side, as a side's blocks are alike in
   * length, so its field list is reused as it is.
   */
  readonly decoded: ReusableBlock;
  /** Largest frame this side may send (what the other side allowed), for plausibility. */
  maxFrameSize: number;
  /** Octets skipped or lost so far (a side that skipped nothing started at a frame boundary). */
  lostOctets: number;
  blocksDecoded: number;
}

const BLOCK_TOO_LARGE: DecodedBlock = { fields: [], unknown: 1, malformed: 'header block too large' };
const BLOCK_LOST: DecodedBlock = { fields: [], unknown: 1, malformed: 'header block interrupted' };

export class Http2ConnectionParser implements ConnectionParser {
  readonly stats: ParserStats = newParserStats();
  private readonly emit: (exchange: Exchange) => void;
  private readonly request: SideState;
  private readonly response: SideState;
  private readonly sides: readonly SideState[];
  private readonly streams = new Map<number, Http2Stream>();
  private readonly closed: number[] = [];
  private readonly closedSet = new Set<number>();
  private highestClientStream = 0;
  private highestServerStream = 0;
  private closedConnection = false;
  /** The fields of the frame being handled (one frame at a time, either side). */
  private readonly fields: PayloadFields = newPayloadFields();
  /** Describes a header block that came whole in one frame; not kept past its decoding. */
  private readonly oneFrameBlock = newPendingBlock();

  /** Header blocks copied by uprobes (Go), from the first one on; undefined for every other connection. */
  private supply: HeaderSupply | undefined;
  /** Allow-listed headers, metadata and url.query to report (none by default). */
  private readonly capture: AttributeCapture | undefined;

  constructor(emit: (exchange: Exchange) => void, capture?: AttributeCapture) {
    this.capture = capture;
    this.emit = emit;
    this.request = newSide('request', 'start');
    this.response = newSide('response', 'hunting');
    this.sides = [this.request, this.response];
  }

  onData(side: Side, bytes: Uint8Array, tsNs: bigint): void {
    if (this.closedConnection || bytes.length === 0) return;
    if (this.supply?.hasHeld()) this.releaseHeld(tsNs);
    const s = this.sideOf(side);
    s.queue.push(bytes, tsNs);
    this.drain(s);
  }

  onGap(side: Side, length: number, tsNs: bigint): void {
    if (this.closedConnection || length <= 0) return;
    const s = this.sideOf(side);
    const p = s.passing;
    // A gap wholly inside a DATA payload or a skipped frame loses nothing but octets we can count.
    if (p && s.queue.length === 0 && length <= p.payloadLeft + p.skipLeft) {
      const inPayload = Math.min(length, p.payloadLeft);
      if (p.data && inPayload > 0) {
        const st = this.streams.get(p.streamId);
        if (st) {
          if (side === 'request') {
            st.requestBodySize += inPayload;
            st.requestMessages.skip(inPayload);
          } else {
            st.responseBodySize += inPayload;
            st.responseMessages.skip(inPayload);
          }
        }
      }
      p.payloadLeft -= inPayload;
      p.skipLeft -= length - inPayload;
      this.finishPassing(s, tsNs);
      return;
    }
    // Otherwise frames of unknown streams may be gone, header blocks with them.
    s.lostOctets += length;
    this.stats.invalidBytes += s.queue.length;
    s.queue.clear();
    s.huntFrameEnd = 0;
    s.passing = undefined;
    s.block = undefined;
    s.decoder.forget();
    s.phase = 'hunting';
    for (const st of this.streams.values()) st.tainted = true;
  }

  onClose(_tsNs: bigint): void {
    if (this.closedConnection) return;
    if (this.supply?.hasHeld()) this.releaseHeld(undefined); // ended streams are reported with what is known
    this.closedConnection = true;
    for (const st of this.streams.values()) {
      if (st.tainted) this.stats.droppedByGap++;
      else this.stats.unansweredRequests++;
    }
    this.streams.clear();
    for (const s of this.sides) {
      s.queue.clear();
      s.block = undefined;
      s.passing = undefined;
    }
  }

  /**
   * A header block the program held in plaintext (Go, through uprobes;
   * headerSupply.ts): used for the frame the parser could not decode.
   */
  onHeaders(side: Side, copy: HeaderBlockCopy, tsNs: bigint): void {
    if (this.closedConnection) return;
    const supply = (this.supply ??= new HeaderSupply());
    if (supply.hasHeld()) this.releaseHeld(tsNs);
    const block = supply.supply(side, copy);
    if (!block) return; // waits for its frame
    const st = this.streams.get(copy.streamId);
    const awaited = st ? supply.takeAwaited(st, side) : undefined;
    if (!st || !awaited) {
      if (!st) supply.stats.unmatched++;
      return;
    }
    if (side === 'request') {
      if (awaited.opening) st.request = requestFacts(block, this.capture);
      else st.request.unresolved += block.unknown - awaited.unknown;
    } else {
      mergeResponseFacts(st.response, block, this.capture);
      st.response.unresolved -= awaited.unknown;
    }
    const end = supply.releaseIfComplete(st);
    if (end !== undefined && this.streams.get(st.id) === st) this.finish(st, end);
  }

  /** Ends held for a copy that did not come in time (all of them when nowNs is undefined). */
  private releaseHeld(nowNs: bigint | undefined): void {
    for (const [st, end] of this.supply!.releaseExpired(nowNs)) if (this.streams.get(st.id) === st) this.finish(st, end);
  }

  bufferedBytes(): number {
    let n = 0;
    for (const s of this.sides) n += s.queue.length + (s.block?.size ?? 0);
    return n;
  }

  private sideOf(side: Side): SideState {
    return side === 'request' ? this.request : this.response;
  }

  private other(s: SideState): SideState {
    return s === this.request ? this.response : this.request;
  }

  /** Parses as many frames as the side's queue holds. */
  private drain(s: SideState): void {
    for (;;) {
      if (s.passing) {
        if (!this.pass(s)) return;
        continue;
      }
      if (s.phase === 'start') {
        if (!this.preface(s)) return;
        continue;
      }
      if (s.phase === 'hunting') {
        // Not hunt() again on every chunk: it copies and walks the whole
        // window, and a frame sent a byte per write would cost O(n^2).
        if (!huntMayDecide(s)) return;
        const found = this.hunt(s);
        if (found === 'wait') return;
        if (found === 'again') continue;
      }
      const q = s.queue;
      if (q.length < FRAME_HEADER_LENGTH) return;
      const h = readFrameHeaderInto(q.contiguous(FRAME_HEADER_LENGTH), q.viewOffset, s.header);
      if (h.reserved || h.length > s.maxFrameSize) {
        // Out of step: find a boundary again.
        s.phase = 'hunting';
        continue;
      }
      if (h.type === FrameType.DATA || h.type > FrameType.CONTINUATION || h.length > FRAME_BUFFER_LIMIT) {
        if (!this.startPassing(s, h)) return;
        continue;
      }
      const total = FRAME_HEADER_LENGTH + h.length;
      if (q.length < total) return;
      // The frame in place: its chunk's own array and an offset (no view made).
      const bytes = q.contiguous(total);
      const at = q.viewOffset;
      const startNs = q.tsAt(0);
      const endNs = q.tsAt(total - 1);
      q.consume(total);
      const verdict = readPayload(h, bytes, at + FRAME_HEADER_LENGTH, at + total, this.fields);
      if (verdict === Payload.OK) this.onFrame(s, h, bytes, this.fields, startNs, endNs);
      else if (verdict === Payload.INVALID) this.stats.invalidBytes += total;
    }
  }

  /** The request side may open with the client preface; returns false to wait for more bytes. */
  private preface(s: SideState): boolean {
    const n = Math.min(s.queue.length, CLIENT_PREFACE.length);
    const head = s.queue.peek(n);
    for (let i = 0; i < n; i++) {
      if (head[i] !== CLIENT_PREFACE[i]) {
        s.phase = 'hunting';
        return true;
      }
    }
    if (n < CLIENT_PREFACE.length) return false;
    s.queue.consume(n);
    s.phase = 'synced';
    // The connection is seen from its start: both directions' HPACK state is complete.
    s.decoder.markComplete();
    const r = this.response;
    if (r.lostOctets === 0 && r.blocksDecoded === 0) r.decoder.markComplete();
    return true;
  }

  /**
   * Skips to the first plausible frame header whose frame is followed by
   * another plausible header or ends exactly where the bytes so far end
   * (writes end on frame boundaries).
   */
  private hunt(s: SideState): 'found' | 'wait' | 'again' {
    s.huntFrameEnd = 0;
    const limit = FRAME_BUFFER_LIMIT + 2 * FRAME_HEADER_LENGTH;
    const window = s.queue.peek(Math.min(s.queue.length, limit));
    let i = 0;
    for (; i + FRAME_HEADER_LENGTH <= window.length; i++) {
      const h = readFrameHeader(window, i);
      if (!isPlausibleHeader(h, s.maxFrameSize)) continue;
      const next = i + FRAME_HEADER_LENGTH + h.length;
      if (next === s.queue.length) break;
      if (next + FRAME_HEADER_LENGTH <= window.length) {
        if (isPlausibleHeader(readFrameHeader(window, next), s.maxFrameSize)) break;
        continue;
      }
      // The next header is not here yet: wait for it, unless that could exceed the bound.
      if (next - i + FRAME_HEADER_LENGTH > limit) break;
      this.skip(s, i);
      s.huntFrameEnd = next - i;
      return 'wait';
    }
    if (i + FRAME_HEADER_LENGTH > window.length) {
      // No boundary in the window: keep only what could still start a header.
      this.skip(s, Math.max(0, window.length - (FRAME_HEADER_LENGTH - 1)));
      return s.queue.length >= FRAME_HEADER_LENGTH && window.length === limit ? 'again' : 'wait';
    }
    this.skip(s, i);
    s.phase = 'synced';
    return 'found';
  }

  private skip(s: SideState, n: number): void {
    if (n <= 0) return;
    s.queue.consume(n);
    s.lostOctets += n;
    this.stats.invalidBytes += n;
  }

  /** Starts streaming a DATA payload, or skipping an unknown or oversized frame. Returns false to wait. */
  private startPassing(s: SideState, h: FrameHeader): boolean {
    const padded = h.type === FrameType.DATA && (h.flags & Flag.PADDED) !== 0;
    if (padded && s.queue.length < FRAME_HEADER_LENGTH + 1) return false;
    const startNs = s.queue.tsAt(0);
    if (s.block && !(h.type === FrameType.CONTINUATION && h.streamId === s.block.streamId)) this.abandonBlock(s);
    if (h.type === FrameType.DATA) {
      let pad = 0;
      if (padded) {
        const head = s.queue.contiguous(FRAME_HEADER_LENGTH + 1);
        pad = head[s.queue.viewOffset + FRAME_HEADER_LENGTH]!;
      }
      if (h.streamId === 0 || (padded && (h.length < 1 || pad > h.length - 1))) {
        // A malformed DATA frame: its length still delimits it.
        this.stats.invalidBytes += FRAME_HEADER_LENGTH + h.length;
        this.skipFrame(s, h, 0, false, startNs);
        return true;
      }
      const head = FRAME_HEADER_LENGTH + (padded ? 1 : 0);
      const headEndNs = s.queue.tsAt(head - 1);
      s.queue.consume(head);
      beginPassing(s, h.streamId, h.length - (padded ? 1 : 0) - pad, pad, (h.flags & Flag.END_STREAM) !== 0, true, false);
      // An empty DATA frame (often just END_STREAM) ends with its header.
      this.finishPassing(s, headEndNs);
      return true;
    }
    const endHeaders = (h.flags & Flag.END_HEADERS) !== 0;
    switch (h.type) {
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE:
        // Too large to hold: the block cannot be decoded, and the HPACK state moves on without us.
        this.stats.invalidBytes += h.length;
        s.decoder.forget();
        s.block = {
          streamId: h.streamId,
          kind: h.type === FrameType.HEADERS ? 'headers' : 'push',
          endStream: h.type === FrameType.HEADERS && (h.flags & Flag.END_STREAM) !== 0,
          promisedStreamId: 0, // inside the payload we do not hold
          startNs,
          fragments: [],
          size: 0,
          overflow: true,
        };
        this.skipFrame(s, h, h.streamId, endHeaders, startNs);
        return true;
      case FrameType.CONTINUATION:
        this.stats.invalidBytes += h.length;
        s.decoder.forget();
        if (s.block) {
          s.block.overflow = true;
          s.block.fragments = [];
          s.block.size = 0;
        }
        this.skipFrame(s, h, h.streamId, endHeaders && s.block !== undefined, startNs);
        return true;
      default:
        // RFC 9113 5.5: frames of unknown types are ignored (oversized known ones are dropped).
        if (h.type <= FrameType.CONTINUATION) this.stats.invalidBytes += h.length;
        this.skipFrame(s, h, h.streamId, false, startNs);
        return true;
    }
  }

  /** Passes over a whole frame's payload without looking at it. */
  private skipFrame(s: SideState, h: FrameHeader, streamId: number, endsBlock: boolean, startNs: bigint): void {
    s.queue.consume(FRAME_HEADER_LENGTH);
    beginPassing(s, streamId, 0, h.length, false, false, endsBlock);
    this.finishPassing(s, startNs);
  }

  /** Moves passing octets out of the queue; returns false when it needs more bytes. */
  private pass(s: SideState): boolean {
    const p = s.passing!;
    const q = s.queue;
    for (;;) {
      // The first chunk in place (no view of it made per DATA frame).
      const chunk = q.frontArray();
      if (chunk === undefined) return false;
      const from = q.frontOffset;
      const available = chunk.length - from;
      const tsNs = q.frontTsNs();
      let used = 0;
      if (p.payloadLeft > 0) {
        const n = Math.min(p.payloadLeft, available);
        if (p.data) this.onDataPayload(s, p.streamId, chunk, from, from + n);
        p.payloadLeft -= n;
        used = n;
      }
      const m = Math.min(p.skipLeft, available - used);
      p.skipLeft -= m;
      used += m;
      q.consume(used);
      if (p.payloadLeft + p.skipLeft === 0) {
        this.finishPassing(s, tsNs);
        return true;
      }
    }
  }

  /** Ends the passing frame if all its octets went by; `endNs` is when the last one did. */
  private finishPassing(s: SideState, endNs: bigint): void {
    const p = s.passing;
    if (!p || p.payloadLeft + p.skipLeft > 0) return;
    s.passing = undefined;
    if (p.data && p.endStream) this.onEndStream(s, p.streamId, endNs);
    if (p.endsBlock && s.block) this.completeBlock(s, endNs);
  }

  /** DATA payload octets data[from, to) of a stream. */
  private onDataPayload(s: SideState, streamId: number, data: Uint8Array, from: number, to: number): void {
    const st = this.streams.get(streamId);
    if (!st) return;
    if (s.side === 'request') {
      st.requestBodySize += to - from;
      st.requestMessages.push(data, from, to);
    } else {
      st.responseBodySize += to - from;
      st.responseMessages.push(data, from, to);
    }
  }

  private onEndStream(s: SideState, streamId: number, endNs: bigint): void {
    const st = this.streams.get(streamId);
    if (s.side === 'request') {
      if (st) st.requestEnded = true;
      return;
    }
    if (st) {
      if (!this.supply?.holdEnd(st, endNs)) this.finish(st, endNs);
    } else if (!this.closedSet.has(streamId)) this.stats.orphanResponses++;
  }

  /** A whole frame other than DATA: header `h`, its fields `f` found in `bytes`. */
  private onFrame(s: SideState, h: FrameHeader, bytes: Uint8Array, f: PayloadFields, startNs: bigint, endNs: bigint): void {
    // RFC 9113 6.10: a header block is followed by its CONTINUATIONs and nothing else.
    if (s.block && !(h.type === FrameType.CONTINUATION && h.streamId === s.block.streamId)) this.abandonBlock(s);
    const endHeaders = (h.flags & Flag.END_HEADERS) !== 0;
    switch (h.type) {
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE: {
        const wholeBlock = endHeaders && f.to - f.from <= HEADER_BLOCK_LIMIT;
        // The whole block in one frame (the usual case) is decoded in place,
        // never copied, and described by the parser's one reused PendingBlock.
        const block = wholeBlock ? this.oneFrameBlock : newPendingBlock();
        const headers = h.type === FrameType.HEADERS;
        block.streamId = h.streamId;
        block.kind = headers ? 'headers' : 'push';
        block.endStream = headers && (h.flags & Flag.END_STREAM) !== 0;
        block.promisedStreamId = headers ? 0 : f.value;
        block.startNs = startNs;
        if (wholeBlock) {
          this.decodeBlock(s, block, bytes, f.from, f.to, endNs);
          return;
        }
        s.block = block;
        this.addFragment(s, bytes, f.from, f.to);
        if (endHeaders) this.completeBlock(s, endNs);
        return;
      }
      case FrameType.CONTINUATION:
        if (!s.block) return; // its block began before we were in step
        this.addFragment(s, bytes, f.from, f.to);
        if (endHeaders) this.completeBlock(s, endNs);
        return;
      case FrameType.RST_STREAM: {
        const st = this.streams.get(h.streamId);
        if (!st) {
          if (s.side === 'response' && !this.closedSet.has(h.streamId) && h.streamId <= this.highestClientStream) this.stats.orphanResponses++;
          return;
        }
        st.reset = { errorCode: f.errorCode, errorName: errorCodeName(f.errorCode), by: s.side === 'request' ? 'client' : 'server' };
        this.finish(st, endNs);
        return;
      }
      case FrameType.SETTINGS: {
        if (h.flags & Flag.ACK) return;
        const peer = this.other(s);
        for (let at = f.from; at < f.to; at += 6) {
          const id = settingId(bytes, at);
          const value = readU32(bytes, at + 2);
          // Settings bind what the other side sends.
          if (id === Setting.HEADER_TABLE_SIZE) peer.decoder.setSettingsLimit(value);
          else if (id === Setting.MAX_FRAME_SIZE && value <= MAX_ALLOWED_FRAME_SIZE) peer.maxFrameSize = Math.max(peer.maxFrameSize, value);
        }
        return;
      }
      case FrameType.GOAWAY: {
        // Streams the sender's peer opened above lastStreamId were not processed and never will be.
        const peerOpensOdd = s.side === 'response';
        const lastStreamId = f.value;
        const errorCode = f.errorCode;
        for (const st of [...this.streams.values()]) {
          if (st.id > lastStreamId && st.id % 2 === (peerOpensOdd ? 1 : 0)) {
            st.refusedByGoaway = errorCodeName(errorCode);
            this.finish(st, endNs);
          }
        }
        return;
      }
      default:
        return; // PRIORITY, PING, WINDOW_UPDATE, DATA (streamed elsewhere)
    }
  }

  /** Adds bytes[from, to) to the side's pending header block. */
  private addFragment(s: SideState, bytes: Uint8Array, from: number, to: number): void {
    const b = s.block!;
    const length = to - from;
    if (b.overflow) {
      this.stats.invalidBytes += length;
      return;
    }
    if (b.size + length > HEADER_BLOCK_LIMIT) {
      this.stats.invalidBytes += b.size + length;
      b.overflow = true;
      b.fragments = [];
      b.size = 0;
      return;
    }
    // The frame's bytes are the queue's chunk: keep a copy of our own.
    const copy = new Uint8Array(length);
    copy.set(bytes.subarray(from, to));
    b.fragments.push(copy);
    b.size += length;
  }

  /** A header block that was not finished by its CONTINUATIONs: its HPACK changes are lost. */
  private abandonBlock(s: SideState): void {
    const b = s.block!;
    s.block = undefined;
    s.decoder.forget();
    this.onHeaderBlock(s, b, BLOCK_LOST, b.startNs);
  }

  private completeBlock(s: SideState, endNs: bigint): void {
    const b = s.block!;
    s.block = undefined;
    if (b.overflow) {
      s.decoder.forget();
      this.onHeaderBlock(s, b, BLOCK_TOO_LARGE, endNs);
      return;
    }
    const bytes = b.fragments.length === 1 ? b.fragments[0]! : Buffer.concat(b.fragments);
    this.decodeBlock(s, b, bytes, 0, bytes.length, endNs);
  }

  /** Decodes a whole header block, bytes[from, to), with the side's HPACK state. */
  private decodeBlock(s: SideState, b: PendingBlock, bytes: Uint8Array, from: number, to: number, endNs: bigint): void {
    s.decoder.decodeInto(bytes, from, to, s.decoded);
    s.blocksDecoded++;
    this.onHeaderBlock(s, b, s.decoded, endNs);
  }

  private onHeaderBlock(s: SideState, b: PendingBlock, decoded: DecodedBlock, endNs: bigint): void {
    if (b.kind === 'push') {
      // A server push: the promised stream's request, decoded with the server's HPACK state.
      if (b.promisedStreamId === 0 || this.streams.has(b.promisedStreamId) || b.promisedStreamId <= this.highestServerStream) return;
      this.highestServerStream = b.promisedStreamId;
      const st = newStream(b.promisedStreamId, b.startNs, requestFacts(decoded, this.capture));
      st.requestEnded = true;
      this.open(st);
      return;
    }
    const st = this.streams.get(b.streamId);
    // A plaintext copy of this block, when one came first (Go, headerSupply.ts).
    if (this.supply !== undefined) decoded = this.supply.takeAtFrame(s.side, b.streamId, decoded);
    if (s.side === 'request') {
      if (st) {
        if (b.endStream) st.requestEnded = true; // request trailers
        if (isUnresolved(decoded) && this.supply?.followsOf('request') !== false) awaitCopy(st, 'request', decoded, false);
        return;
      }
      // A new stream, unless it is a late block of one that already ended.
      if (b.streamId % 2 === 1 ? b.streamId <= this.highestClientStream : b.streamId <= this.highestServerStream) return;
      if (b.streamId % 2 === 1) this.highestClientStream = b.streamId;
      else this.highestServerStream = b.streamId;
      const opened = newStream(b.streamId, b.startNs, requestFacts(decoded, this.capture));
      opened.requestEnded = b.endStream;
      this.open(opened);
      if (isUnresolved(decoded) && this.supply?.followsOf('request') !== false) awaitCopy(opened, 'request', decoded, true);
      return;
    }
    if (!st) {
      if (b.endStream && !this.closedSet.has(b.streamId)) this.stats.orphanResponses++;
      return;
    }
    if (!st.responseStarted) {
      const status = statusOf(decoded);
      if (status !== undefined && status >= 100 && status < 200 && !b.endStream) return; // informational
      st.responseStarted = true;
    }
    mergeResponseFacts(st.response, decoded, this.capture);
    if (isUnresolved(decoded) && this.supply?.followsOf('response') !== false) awaitCopy(st, 'response', decoded, false);
    if (b.endStream && !this.supply?.holdEnd(st, endNs)) this.finish(st, endNs);
  }

  private open(st: Http2Stream): void {
    if (this.streams.size >= MAX_OPEN_STREAMS) {
      const oldest = this.streams.values().next().value!;
      this.streams.delete(oldest.id);
      this.remember(oldest.id);
      if (oldest.tainted) this.stats.droppedByGap++;
      else this.stats.unansweredRequests++;
    }
    this.streams.set(st.id, st);
  }

  private finish(st: Http2Stream, endNs: bigint): void {
    this.streams.delete(st.id);
    this.remember(st.id);
    if (st.tainted) {
      this.stats.droppedByGap++;
      return;
    }
    // A frame can be timestamped before the request that opened its stream
    // (held while hunting; clocks of different CPUs): never end before the start.
    this.emit(withHeadersMissing(st, exchangeOf(st, endNs < st.startNs ? st.startNs : endNs)));
  }

  private remember(id: number): void {
    this.closed.push(id);
    this.closedSet.add(id);
    if (this.closed.length > RECENTLY_CLOSED) this.closedSet.delete(this.closed.shift()!);
  }
}

function newPendingBlock(): PendingBlock {
  return { streamId: 0, kind: 'headers', endStream: false, promisedStreamId: 0, startNs: 0n, fragments: [], size: 0, overflow: false };
}

/**
 * Whether hunt() could decide otherwise than when it last waited: it
 * waited for the header after the plausible frame at the front, and
 * decides only once the queue ends exactly at that frame's end or holds
 * the next header. Bytes added after the front change nothing before.
 */
function huntMayDecide(s: SideState): boolean {
  const end = s.huntFrameEnd;
  const held = s.queue.length;
  return end === 0 || held === end || held >= end + FRAME_HEADER_LENGTH;
}

/** Starts passing over a frame's payload (see Passing), with the side's own Passing. */
function beginPassing(s: SideState, streamId: number, payloadLeft: number, skipLeft: number, endStream: boolean, data: boolean, endsBlock: boolean): void {
  const p = s.pass;
  p.streamId = streamId;
  p.payloadLeft = payloadLeft;
  p.skipLeft = skipLeft;
  p.endStream = endStream;
  p.data = data;
  p.endsBlock = endsBlock;
  s.passing = p;
}

function newSide(side: Side, phase: SideState['phase']): SideState {
  return {
    side,
    queue: new ByteQueue(),
    header: newFrameHeader(),
    phase,
    huntFrameEnd: 0,
    passing: undefined,
    block: undefined,
    pass: { streamId: 0, payloadLeft: 0, skipLeft: 0, endStream: false, data: false, endsBlock: false },
    decoder: new HpackDecoder(false),
    decoded: newReusableBlock(),
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    lostOctets: 0,
    blocksDecoded: 0,
  };
}
