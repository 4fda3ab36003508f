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

export function readFrameHeader(b: Uint8Array, at = 0): FrameHeader {
  const length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  const sid = readU32(b, at + 5);
  return { length, type: b[at + 3]!, flags: b[at + 4]!, streamId: sid & 0x7fff_ffff, reserved: sid > 0x7fff_ffff };
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

/** Strips padding (PADDED flag) from a payload; undefined when the padding is longer than the frame. */
function unpad(h: FrameHeader, p: Uint8Array): { body: Uint8Array; padLength: number } | undefined {
  if (!(h.flags & Flag.PADDED)) return { body: p, padLength: 0 };
  if (p.length < 1) return undefined;
  const pad = p[0]!;
  if (pad > p.length - 1) return undefined;
  return { body: p.subarray(1, p.length - pad), padLength: pad };
}

function priorityAt(b: Uint8Array, at: number): Priority {
  const dep = readU32(b, at);
  return { dependency: dep & 0x7fff_ffff, exclusive: dep > 0x7fff_ffff, weight: b[at + 4]! + 1 };
}

function needsStream(h: FrameHeader): PayloadResult {
  return { ok: false, reason: `${typeName(h.type)} on stream 0` };
}

/** Decodes the payload of a frame whose header is `h` (payload.length === h.length). */
export function decodePayload(h: FrameHeader, payload: Uint8Array): PayloadResult {
  const sid = h.streamId;
  switch (h.type) {
    case FrameType.DATA: {
      if (sid === 0) return needsStream(h);
      const u = unpad(h, payload);
      if (!u) return { ok: false, reason: 'DATA padding exceeds payload' };
      return { ok: true, frame: { kind: 'DATA', streamId: sid, endStream: (h.flags & Flag.END_STREAM) !== 0, data: u.body, padLength: u.padLength } };
    }
    case FrameType.HEADERS: {
      if (sid === 0) return needsStream(h);
      const u = unpad(h, payload);
      if (!u) return { ok: false, reason: 'HEADERS padding exceeds payload' };
      let block = u.body;
      let priority: Priority | undefined;
      if (h.flags & Flag.PRIORITY) {
        if (block.length < 5) return { ok: false, reason: 'HEADERS too short for its priority' };
        priority = priorityAt(block, 0);
        block = block.subarray(5);
      }
      return {
        ok: true,
        frame: {
          kind: 'HEADERS',
          streamId: sid,
          endStream: (h.flags & Flag.END_STREAM) !== 0,
          endHeaders: (h.flags & Flag.END_HEADERS) !== 0,
          ...(priority ? { priority } : {}),
          block,
          padLength: u.padLength,
        },
      };
    }
    case FrameType.PRIORITY:
      if (sid === 0) return needsStream(h);
      if (payload.length !== 5) return { ok: false, reason: 'PRIORITY length is not 5' };
      return { ok: true, frame: { kind: 'PRIORITY', streamId: sid, priority: priorityAt(payload, 0) } };
    case FrameType.RST_STREAM:
      if (sid === 0) return needsStream(h);
      if (payload.length !== 4) return { ok: false, reason: 'RST_STREAM length is not 4' };
      return { ok: true, frame: { kind: 'RST_STREAM', streamId: sid, errorCode: readU32(payload, 0) } };
    case FrameType.SETTINGS: {
      if (sid !== 0) return { ok: false, reason: 'SETTINGS on a stream' };
      const ack = (h.flags & Flag.ACK) !== 0;
      if (payload.length % 6 !== 0 || (ack && payload.length !== 0)) return { ok: false, reason: 'SETTINGS length is wrong' };
      const settings: Array<readonly [number, number]> = [];
      for (let at = 0; at < payload.length; at += 6) settings.push([(payload[at]! << 8) | payload[at + 1]!, readU32(payload, at + 2)]);
      return { ok: true, frame: { kind: 'SETTINGS', ack, settings } };
    }
    case FrameType.PUSH_PROMISE: {
      if (sid === 0) return needsStream(h);
      const u = unpad(h, payload);
      if (!u) return { ok: false, reason: 'PUSH_PROMISE padding exceeds payload' };
      if (u.body.length < 4) return { ok: false, reason: 'PUSH_PROMISE too short' };
      return {
        ok: true,
        frame: {
          kind: 'PUSH_PROMISE',
          streamId: sid,
          endHeaders: (h.flags & Flag.END_HEADERS) !== 0,
          promisedStreamId: readU32(u.body, 0) & 0x7fff_ffff,
          block: u.body.subarray(4),
          padLength: u.padLength,
        },
      };
    }
    case FrameType.PING:
      if (sid !== 0) return { ok: false, reason: 'PING on a stream' };
      if (payload.length !== 8) return { ok: false, reason: 'PING length is not 8' };
      return { ok: true, frame: { kind: 'PING', ack: (h.flags & Flag.ACK) !== 0, opaque: payload } };
    case FrameType.GOAWAY:
      if (sid !== 0) return { ok: false, reason: 'GOAWAY on a stream' };
      if (payload.length < 8) return { ok: false, reason: 'GOAWAY too short' };
      return {
        ok: true,
        frame: { kind: 'GOAWAY', lastStreamId: readU32(payload, 0) & 0x7fff_ffff, errorCode: readU32(payload, 4), debug: payload.subarray(8) },
      };
    case FrameType.WINDOW_UPDATE:
      if (payload.length !== 4) return { ok: false, reason: 'WINDOW_UPDATE length is not 4' };
      return { ok: true, frame: { kind: 'WINDOW_UPDATE', streamId: sid, increment: readU32(payload, 0) & 0x7fff_ffff } };
    case FrameType.CONTINUATION:
      if (sid === 0) return needsStream(h);
      return { ok: true, frame: { kind: 'CONTINUATION', streamId: sid, endHeaders: (h.flags & Flag.END_HEADERS) !== 0, block: payload } };
    default:
      // RFC 9113 5.5: frames of unknown types are ignored.
      return { ok: 'ignored' };
  }
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
