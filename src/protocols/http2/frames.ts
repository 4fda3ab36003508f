/**
 * HTTP/2 framing (RFC 9113 section 4 and 6): the 9-byte frame header, the
 * payload of every defined frame type, and the plausibility test used to
 * find a frame boundary again after a gap or when a connection is picked
 * up mid-stream.
 */
import type { ParseStep } from '../contract.ts';

export const FRAME_HEADER_LENGTH = 9;
/** SETTINGS_MAX_FRAME_SIZE before any SETTINGS frame (RFC 9113 6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;

export const CLIENT_PREFACE = new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Flags each known type defines; the index is the frame type. */
const DEFINED_FLAGS = [
  Flag.END_STREAM | Flag.PADDED, // DATA
  Flag.END_STREAM | Flag.END_HEADERS | Flag.PADDED | Flag.PRIORITY, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  Flag.ACK, // SETTINGS
  Flag.END_HEADERS | Flag.PADDED, // PUSH_PROMISE
  Flag.ACK, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  Flag.END_HEADERS, // CONTINUATION
] as const;

const ERROR_CODE_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
] as const;

/** RFC 9113 section 7 name of an error code ("CANCEL"), or "0x..." for unknown ones. */
export function errorCodeName(code: number): string {
  return ERROR_CODE_NAMES[code] ?? `0x${code.toString(16)}`;
}

export interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  /** The reserved bit of the stream identifier (must be 0). */
  readonly reserved: boolean;
}

/** A FrameHeader that readFrameHeaderInto fills: one per reader, not one per frame. */
export interface MutableFrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
  reserved: boolean;
}

export function newFrameHeader(): MutableFrameHeader {
  return { length: 0, type: 0, flags: 0, streamId: 0, reserved: false };
}

export function readFrameHeader(b: Uint8Array, at = 0): FrameHeader {
  return readFrameHeaderInto(b, at, newFrameHeader());
}

/** readFrameHeader into `out`, for the per-frame path (no object per frame). */
export function readFrameHeaderInto(b: Uint8Array, at: number, out: MutableFrameHeader): MutableFrameHeader {
  const sid = readU32(b, at + 5);
  out.length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  out.type = b[at + 3]!;
  out.flags = b[at + 4]!;
  out.streamId = sid & 0x7fff_ffff;
  out.reserved = sid > 0x7fff_ffff;
  return out;
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

/**
 * Whether a header looks like the start of a real frame: a known type
 * with only its defined flags, a length within `maxFrameSize` and right
 * for the type, the reserved bit clear and a stream id that the type
 * allows. Used only to resynchronise: once in step, unknown types and
 * flags are accepted as RFC 9113 requires.
 */
export function isPlausibleHeader(h: FrameHeader, maxFrameSize: number): boolean {
  if (h.reserved || h.length > maxFrameSize || h.type > FrameType.CONTINUATION) return false;
  if ((h.flags & ~DEFINED_FLAGS[h.type]!) !== 0) return false;
  const onStream = h.streamId !== 0;
  switch (h.type) {
    case FrameType.DATA:
    case FrameType.HEADERS:
    case FrameType.CONTINUATION:
    case FrameType.PUSH_PROMISE:
      return onStream && (h.type !== FrameType.PUSH_PROMISE || h.length >= 4);
    case FrameType.PRIORITY:
      return onStream && h.length === 5;
    case FrameType.RST_STREAM:
      return onStream && h.length === 4;
    case FrameType.SETTINGS:
      return !onStream && h.length % 6 === 0 && (h.flags & Flag.ACK ? h.length === 0 : true);
    case FrameType.PING:
      return !onStream && h.length === 8;
    case FrameType.GOAWAY:
      return !onStream && h.length >= 8;
    case FrameType.WINDOW_UPDATE:
      return h.length === 4;
    default:
      return false;
  }
}

export interface Priority {
  readonly dependency: number;
  readonly exclusive: boolean;
  /** 1..256 */
  readonly weight: number;
}

export type Frame =
  | { readonly kind: 'DATA'; readonly streamId: number; readonly endStream: boolean; readonly data: Uint8Array; readonly padLength: number }
  | {
      readonly kind: 'HEADERS';
      readonly streamId: number;
      readonly endStream: boolean;
      readonly endHeaders: boolean;
      readonly priority?: Priority;
      readonly block: Uint8Array;
      readonly padLength: number;
    }
  | { readonly kind: 'PRIORITY'; readonly streamId: number; readonly priority: Priority }
  | { readonly kind: 'RST_STREAM'; readonly streamId: number; readonly errorCode: number }
  | { readonly kind: 'SETTINGS'; readonly ack: boolean; readonly settings: ReadonlyArray<readonly [number, number]> }
  | {
      readonly kind: 'PUSH_PROMISE';
      readonly streamId: number;
      readonly endHeaders: boolean;
      readonly promisedStreamId: number;
      readonly block: Uint8Array;
      readonly padLength: number;
    }
  | { readonly kind: 'PING'; readonly ack: boolean; readonly opaque: Uint8Array }
  | { readonly kind: 'GOAWAY'; readonly lastStreamId: number; readonly errorCode: number; readonly debug: Uint8Array }
  | { readonly kind: 'WINDOW_UPDATE'; readonly streamId: number; readonly increment: number }
  | { readonly kind: 'CONTINUATION'; readonly streamId: number; readonly endHeaders: boolean; readonly block: Uint8Array };

type PayloadResult = { ok: true; frame: Frame } | { ok: false; reason: string } | { ok: 'ignored' };

/** What readPayload concluded about a frame's payload. */
export const Payload = { OK: 0, INVALID: 1, IGNORED: 2 } as const;
export type PayloadVerdict = (typeof Payload)[keyof typeof Payload];

/**
 * A frame's payload fields, found in place by readPayload: offsets into the
 * buffer it was given, and numbers. One object per reader, refilled for
 * every frame, so a connection's frames cost no allocation and reach the
 * parser in a single shape (a Frame per frame, ten shapes, made the
 * parser's property reads megamorphic).
 */
export interface PayloadFields {
  /**
   * [from, to) of the type's octets: the header block fragment (HEADERS,
   * PUSH_PROMISE, CONTINUATION), DATA, the SETTINGS entries, the PING
   * opaque data or the GOAWAY debug data.
   */
  from: number;
  to: number;
  padLength: number;
  /** Where the 5 octets of a priority start (PRIORITY, HEADERS with PRIORITY); -1 when none. */
  priorityAt: number;
  /** RST_STREAM and GOAWAY: the error code. */
  errorCode: number;
  /** PUSH_PROMISE: the promised stream; GOAWAY: the last stream id; WINDOW_UPDATE: the increment. */
  value: number;
  /** Why the payload is invalid (Payload.INVALID only). */
  reason: string;
}

export function newPayloadFields(): PayloadFields {
  return { from: 0, to: 0, padLength: 0, priorityAt: -1, errorCode: 0, value: 0, reason: '' };
}

/** Strips padding (PADDED flag) from payload b[from, to) into out.from/to; false when the padding is longer than the frame. */
function unpad(h: FrameHeader, b: Uint8Array, from: number, to: number, out: PayloadFields): boolean {
  out.from = from;
  out.to = to;
  out.padLength = 0;
  if (!(h.flags & Flag.PADDED)) return true;
  if (to - from < 1) return false;
  const pad = b[from]!;
  if (pad > to - from - 1) return false;
  out.from = from + 1;
  out.to = to - pad;
  out.padLength = pad;
  return true;
}

function priorityAt(b: Uint8Array, at: number): Priority {
  const dep = readU32(b, at);
  return { dependency: dep & 0x7fff_ffff, exclusive: dep > 0x7fff_ffff, weight: b[at + 4]! + 1 };
}

function invalid(out: PayloadFields, reason: string): PayloadVerdict {
  out.reason = reason;
  return Payload.INVALID;
}

function needsStream(h: FrameHeader, out: PayloadFields): PayloadVerdict {
  return invalid(out, `${typeName(h.type)} on stream 0`);
}

/**
 * Checks the payload b[from, to) of a frame whose header is `h`
 * (to - from === h.length) and finds its fields, into `out`.
 */
export function readPayload(h: FrameHeader, b: Uint8Array, from: number, to: number, out: PayloadFields): PayloadVerdict {
  const sid = h.streamId;
  const length = to - from;
  out.priorityAt = -1;
  switch (h.type) {
    case FrameType.DATA:
      if (sid === 0) return needsStream(h, out);
      if (!unpad(h, b, from, to, out)) return invalid(out, 'DATA padding exceeds payload');
      return Payload.OK;
    case FrameType.HEADERS:
      if (sid === 0) return needsStream(h, out);
      if (!unpad(h, b, from, to, out)) return invalid(out, 'HEADERS padding exceeds payload');
      if (h.flags & Flag.PRIORITY) {
        if (out.to - out.from < 5) return invalid(out, 'HEADERS too short for its priority');
        out.priorityAt = out.from;
        out.from += 5;
      }
      return Payload.OK;
    case FrameType.PRIORITY:
      if (sid === 0) return needsStream(h, out);
      if (length !== 5) return invalid(out, 'PRIORITY length is not 5');
      out.priorityAt = from;
      return Payload.OK;
    case FrameType.RST_STREAM:
      if (sid === 0) return needsStream(h, out);
      if (length !== 4) return invalid(out, 'RST_STREAM length is not 4');
      out.errorCode = readU32(b, from);
      return Payload.OK;
    case FrameType.SETTINGS:
      if (sid !== 0) return invalid(out, 'SETTINGS on a stream');
      if (length % 6 !== 0 || ((h.flags & Flag.ACK) !== 0 && length !== 0)) return invalid(out, 'SETTINGS length is wrong');
      out.from = from;
      out.to = to;
      return Payload.OK;
    case FrameType.PUSH_PROMISE:
      if (sid === 0) return needsStream(h, out);
      if (!unpad(h, b, from, to, out)) return invalid(out, 'PUSH_PROMISE padding exceeds payload');
      if (out.to - out.from < 4) return invalid(out, 'PUSH_PROMISE too short');
      out.value = readU32(b, out.from) & 0x7fff_ffff;
      out.from += 4;
      return Payload.OK;
    case FrameType.PING:
      if (sid !== 0) return invalid(out, 'PING on a stream');
      if (length !== 8) return invalid(out, 'PING length is not 8');
      out.from = from;
      out.to = to;
      return Payload.OK;
    case FrameType.GOAWAY:
      if (sid !== 0) return invalid(out, 'GOAWAY on a stream');
      if (length < 8) return invalid(out, 'GOAWAY too short');
      out.value = readU32(b, from) & 0x7fff_ffff;
      out.errorCode = readU32(b, from + 4);
      out.from = from + 8;
      out.to = to;
      return Payload.OK;
    case FrameType.WINDOW_UPDATE:
      if (length !== 4) return invalid(out, 'WINDOW_UPDATE length is not 4');
      out.value = readU32(b, from) & 0x7fff_ffff;
      return Payload.OK;
    case FrameType.CONTINUATION:
      if (sid === 0) return needsStream(h, out);
      out.from = from;
      out.to = to;
      return Payload.OK;
    default:
      // RFC 9113 5.5: frames of unknown types are ignored.
      return Payload.IGNORED;
  }
}

/** Decodes the payload of a frame whose header is `h` (payload.length === h.length) into a Frame. */
export function decodePayload(h: FrameHeader, payload: Uint8Array): PayloadResult {
  const f = newPayloadFields();
  const verdict = readPayload(h, payload, 0, payload.length, f);
  if (verdict === Payload.IGNORED) return { ok: 'ignored' };
  if (verdict === Payload.INVALID) return { ok: false, reason: f.reason };
  const sid = h.streamId;
  const part = payload.subarray(f.from, f.to);
  switch (h.type) {
    case FrameType.DATA:
      return { ok: true, frame: { kind: 'DATA', streamId: sid, endStream: (h.flags & Flag.END_STREAM) !== 0, data: part, padLength: f.padLength } };
    case FrameType.HEADERS:
      return {
        ok: true,
        frame: {
          kind: 'HEADERS',
          streamId: sid,
          endStream: (h.flags & Flag.END_STREAM) !== 0,
          endHeaders: (h.flags & Flag.END_HEADERS) !== 0,
          ...(f.priorityAt >= 0 ? { priority: priorityAt(payload, f.priorityAt) } : {}),
          block: part,
          padLength: f.padLength,
        },
      };
    case FrameType.PRIORITY:
      return { ok: true, frame: { kind: 'PRIORITY', streamId: sid, priority: priorityAt(payload, f.priorityAt) } };
    case FrameType.RST_STREAM:
      return { ok: true, frame: { kind: 'RST_STREAM', streamId: sid, errorCode: f.errorCode } };
    case FrameType.SETTINGS: {
      const settings: Array<readonly [number, number]> = [];
      for (let at = f.from; at < f.to; at += 6) settings.push([settingId(payload, at), readU32(payload, at + 2)]);
      return { ok: true, frame: { kind: 'SETTINGS', ack: (h.flags & Flag.ACK) !== 0, settings } };
    }
    case FrameType.PUSH_PROMISE:
      return {
        ok: true,
        frame: { kind: 'PUSH_PROMISE', streamId: sid, endHeaders: (h.flags & Flag.END_HEADERS) !== 0, promisedStreamId: f.value, block: part, padLength: f.padLength },
      };
    case FrameType.PING:
      return { ok: true, frame: { kind: 'PING', ack: (h.flags & Flag.ACK) !== 0, opaque: part } };
    case FrameType.GOAWAY:
      return { ok: true, frame: { kind: 'GOAWAY', lastStreamId: f.value, errorCode: f.errorCode, debug: part } };
    case FrameType.WINDOW_UPDATE:
      return { ok: true, frame: { kind: 'WINDOW_UPDATE', streamId: sid, increment: f.value } };
    default: // CONTINUATION
      return { ok: true, frame: { kind: 'CONTINUATION', streamId: sid, endHeaders: (h.flags & Flag.END_HEADERS) !== 0, block: part } };
  }
}

/** The identifier of the SETTINGS entry at `at` (its value is the next 4 octets). */
export function settingId(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function typeName(type: number): string {
  const names = Object.keys(FrameType) as Array<keyof typeof FrameType>;
  return names.find((n) => FrameType[n] === type) ?? `0x${type.toString(16)}`;
}

/**
 * One step over contiguous bytes: a whole frame, or what is wrong with
 * them. An invalid frame whose length is believable is skipped whole (it
 * is self-delimiting); a header that is not believable skips one byte.
 */
export function parseFrame(b: Uint8Array, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): ParseStep<Frame> {
  if (b.length < FRAME_HEADER_LENGTH) return { kind: 'needMore' };
  const h = readFrameHeader(b);
  if (h.length > maxFrameSize) return { kind: 'invalid', reason: `frame length ${h.length} exceeds ${maxFrameSize}`, skip: 1 };
  if (h.reserved) return { kind: 'invalid', reason: 'reserved bit set in stream id', skip: 1 };
  const total = FRAME_HEADER_LENGTH + h.length;
  if (b.length < total) return { kind: 'needMore' };
  const r = decodePayload(h, b.subarray(FRAME_HEADER_LENGTH, total));
  if (r.ok === 'ignored') return { kind: 'ignored', consumed: total };
  if (!r.ok) return { kind: 'invalid', reason: r.reason, skip: total };
  return { kind: 'frame', frame: r.frame, consumed: total };
}
