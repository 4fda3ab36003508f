/**
 * HTTP/1.x message heads: request and status lines and header fields,
 * parsed from the front of a side's bytes. Bounded: a head larger than
 * MAX_HEAD_BYTES is invalid, whatever follows.
 */
import type { ParseStep } from '../contract.ts';
import type { CaptureNames, CapturedValues } from '../attributeCapture/index.ts';

export const MAX_HEAD_BYTES = 64 * 1024;

/** Methods recognised at the start of a stream (RFC 9110, WebDAV, PATCH). */
export const KNOWN_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH',
] as const;

export interface Head {
  /**
   * The header fields the parser and the span mapping use (USED_HEADERS),
   * names lower-cased, repeated fields joined with ", ", and the values of
   * allow-listed ones (`captured`). Every field is checked for
   * well-formedness; the others are not kept.
   */
  readonly headers: HeaderFields;
  /** Bytes of the head, blank line included. */
  readonly size: number;
}

export interface RequestHead extends Head {
  readonly method: string;
  readonly target: string;
  readonly version: string;
}

export interface ResponseHead extends Head {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
}

const latin1 = new TextDecoder('latin1');

/**
 * Heads are parsed from bytes, not from a decoded string: only the start
 * line and the few used fields' values become strings. This is the
 * parser's hottest path (every request and response), so the scan works on
 * byte codes with lookup tables.
 */

/** tchar (RFC 9110 5.6.2): letters, digits and !#$%&'*+-.^_`|~ */
const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  TCHAR[c] = /[A-Za-z0-9]/.test(ch) || "!#$%&'*+-.^_`|~".includes(ch) ? 1 : 0;
}

/**
 * Header fields that framing, pairing and span attributes read; no other
 * leaves the head (each kept value costs a decode on every message).
 */
export const USED_HEADERS = ['host', 'user-agent', 'traceparent', 'content-length', 'transfer-encoding'] as const;
export type UsedHeader = (typeof USED_HEADERS)[number];

/** The used fields of one head, a slot each: cheaper than a Map per message. */
export class HeaderFields {
  host: string | undefined = undefined;
  userAgent: string | undefined = undefined;
  traceparent: string | undefined = undefined;
  contentLength: string | undefined = undefined;
  transferEncoding: string | undefined = undefined;
  /**
   * Values of the allow-listed fields (attributes.requestHeaders /
   * responseHeaders), each line a value; undefined when none was asked
   * for or present. No other field value is ever decoded.
   */
  captured: CapturedValues | undefined = undefined;

  get(name: UsedHeader): string | undefined {
    switch (name) {
      case 'host': return this.host;
      case 'user-agent': return this.userAgent;
      case 'traceparent': return this.traceparent;
      case 'content-length': return this.contentLength;
      case 'transfer-encoding': return this.transferEncoding;
    }
  }

  /** A field's value; a repeated field's values are joined with ", ". */
  add(name: UsedHeader, value: string): void {
    const prev = this.get(name);
    const v = prev === undefined ? value : `${prev}, ${value}`;
    switch (name) {
      case 'host': this.host = v; break;
      case 'user-agent': this.userAgent = v; break;
      case 'traceparent': this.traceparent = v; break;
      case 'content-length': this.contentLength = v; break;
      case 'transfer-encoding': this.transferEncoding = v; break;
    }
  }
}

/** USED_HEADERS by name length, as lower-case byte codes, for matching without decoding. */
const USED_BY_LENGTH: ReadonlyArray<ReadonlyArray<{ name: UsedHeader; codes: Uint8Array }> | undefined> = (() => {
  const out: Array<Array<{ name: UsedHeader; codes: Uint8Array }> | undefined> = [];
  for (const name of USED_HEADERS) (out[name.length] ??= []).push({ name, codes: Buffer.from(name, 'latin1') });
  return out;
})();

/** The used header whose name is bytes[from, to) (any case), or undefined. */
function usedHeaderName(bytes: Uint8Array, from: number, to: number): UsedHeader | undefined {
  const candidates = USED_BY_LENGTH[to - from];
  if (candidates === undefined) return undefined;
  next: for (const c of candidates) {
    const codes = c.codes;
    for (let i = 0; i < codes.length; i++) {
      let b = bytes[from + i]!;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (b !== codes[i]) continue next;
    }
    return c.name;
  }
  return undefined;
}

/**
 * Buffer's own latin1 decoder, called on any Uint8Array: no subarray, and
 * three times faster than a TextDecoder on the short strings of a head.
 */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

function text(bytes: Uint8Array, from: number, to: number): string {
  return latin1Slice.call(bytes, from, to);
}

function isSpaceOrTab(b: number): boolean {
  return b === 0x20 || b === 0x09;
}

/**
 * The head's line ends: ends[i] is the index of line i's LF, the last one
 * the blank line's. Returns the head's size (just past the blank line), or
 * -1 if the head is not complete within `limit` bytes. Accepts bare LF.
 */
function scanLines(bytes: Uint8Array, limit: number, ends: number[]): number {
  ends.length = 0;
  let at = 0;
  for (;;) {
    // A plain loop: lines are short, and a builtin indexOf call costs more.
    let nl = at;
    while (nl < limit && bytes[nl] !== 0x0a) nl++;
    if (nl >= limit) return -1;
    ends.push(nl);
    // Blank line: LF alone, or CR LF, right after the previous line's LF.
    if (at > 0 && (nl === at || (nl === at + 1 && bytes[at] === 0x0d))) return nl + 1;
    at = nl + 1;
  }
}

/** Line i's content end (before CR LF or LF). */
function contentEnd(bytes: Uint8Array, lf: number, lineStart: number): number {
  return lf > lineStart && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
}

/**
 * Header fields of the lines after the start line (ends[1] up to the
 * blank line), or undefined if one is malformed. `capture`: the
 * allow-listed names whose values are kept besides the used ones.
 */
function parseFields(bytes: Uint8Array, ends: readonly number[], capture: CaptureNames | undefined): HeaderFields | undefined {
  const headers = new HeaderFields();
  for (let i = 1; i < ends.length - 1; i++) {
    const lineStart = ends[i - 1]! + 1;
    const lineEnd = contentEnd(bytes, ends[i]!, lineStart);
    // A line led by SP or HTAB is no field of its own: it continues the
    // previous field's value (obs-fold, RFC 9112 5.2) or, first, is to be
    // consumed unread (2.2). Read as a field, "Authorization: Bearer" then
    // " X-Request-Id: <token>" would export part of a credential under an
    // allow-listed name (or as user_agent.original, server.address), so it
    // is skipped: the continued value is reported as its first line.
    if (isSpaceOrTab(bytes[lineStart]!)) continue;
    // Field names have no space before the colon either (RFC 9112 5.1); tolerated.
    const nameStart = lineStart;
    let colon = nameStart;
    while (colon < lineEnd && bytes[colon] !== 0x3a) {
      if (TCHAR[bytes[colon]!] === 0) break;
      colon++;
    }
    const nameEnd = colon;
    while (colon < lineEnd && isSpaceOrTab(bytes[colon]!)) colon++;
    if (colon >= lineEnd || bytes[colon] !== 0x3a || nameEnd === nameStart) return undefined;
    const name = usedHeaderName(bytes, nameStart, nameEnd);
    const captureIndex = capture === undefined ? -1 : capture.matchBytes(bytes, nameStart, nameEnd);
    if (name === undefined && captureIndex < 0) continue;
    let vs = colon + 1;
    let ve = lineEnd;
    while (vs < ve && isSpaceOrTab(bytes[vs]!)) vs++;
    while (ve > vs && isSpaceOrTab(bytes[ve - 1]!)) ve--;
    const value = text(bytes, vs, ve);
    if (name !== undefined) headers.add(name, value);
    if (captureIndex >= 0) headers.captured = capture!.keep(headers.captured, captureIndex, value);
  }
  return headers;
}

/** Whether `bytes` could be the start of a request line (for inference and resync). */
export function looksLikeRequestStart(bytes: Uint8Array): 'yes' | 'maybe' | 'no' {
  const s = latin1.decode(bytes.subarray(0, 16));
  for (const m of KNOWN_METHODS) {
    const want = `${m} `;
    if (s.length >= want.length ? s.startsWith(want) : want.startsWith(s)) {
      if (s.length < want.length + 1) return 'maybe';
      const c = s[want.length]!;
      return c === '/' || c === '*' || /[A-Za-z]/.test(c) ? 'yes' : 'no';
    }
  }
  return 'no';
}

const STATUS_LINE_START: ReadonlyArray<(c: string) => boolean> = [
  ...'HTTP/1.'.split('').map((ch) => (c: string) => c === ch),
  (c) => c === '0' || c === '1',
  (c) => c === ' ',
  (c) => c >= '0' && c <= '9',
  (c) => c >= '0' && c <= '9',
  (c) => c >= '0' && c <= '9',
  (c) => c === ' ' || c === '\r' || c === '\n',
];

/** Whether `bytes` could be the start of a status line ("HTTP/1.1 200 "). */
export function looksLikeResponseStart(bytes: Uint8Array): 'yes' | 'maybe' | 'no' {
  const s = latin1.decode(bytes.subarray(0, STATUS_LINE_START.length));
  for (let i = 0; i < s.length; i++) if (!STATUS_LINE_START[i]!(s[i]!)) return 'no';
  return s.length === STATUS_LINE_START.length ? 'yes' : 'maybe';
}

/** Reused line-end scratch: parsing is synchronous and never reentrant. */
const lineEnds: number[] = [];

const METHOD_NAMES = new Map<number, readonly string[]>();
for (const m of KNOWN_METHODS) METHOD_NAMES.set(m.length, [...(METHOD_NAMES.get(m.length) ?? []), m]);

/** The method bytes[0, end) as a string; known methods without decoding. */
function methodText(bytes: Uint8Array, end: number): string {
  const known = METHOD_NAMES.get(end);
  if (known) {
    next: for (const m of known) {
      for (let i = 0; i < end; i++) if (bytes[i] !== m.charCodeAt(i)) continue next;
      return m;
    }
  }
  return text(bytes, 0, end);
}

/** "HTTP/1.0" or "HTTP/1.1" at bytes[at, at + 8): its version, else undefined. */
function httpVersion(bytes: Uint8Array, at: number): '1.0' | '1.1' | undefined {
  if (bytes[at] !== 0x48 || bytes[at + 1] !== 0x54 || bytes[at + 2] !== 0x54 || bytes[at + 3] !== 0x50 ||
    bytes[at + 4] !== 0x2f || bytes[at + 5] !== 0x31 || bytes[at + 6] !== 0x2e) return undefined;
  const minor = bytes[at + 7];
  return minor === 0x30 ? '1.0' : minor === 0x31 ? '1.1' : undefined;
}

function headLimit(bytes: Uint8Array): number {
  return Math.min(bytes.length, MAX_HEAD_BYTES);
}

/** `capture`: allow-listed request header names whose values are kept (none by default). */
export function parseRequestHead(bytes: Uint8Array, capture?: CaptureNames): ParseStep<RequestHead> {
  // Any token is a method once the connection is known to be HTTP (PURGE,
  // vendor extensions); inference alone insists on the well-known ones.
  let sp = 0;
  while (sp < bytes.length && sp <= 20 && TCHAR[bytes[sp]!] === 1) sp++;
  if (sp === 0 || sp > 20 || (sp < bytes.length && bytes[sp] !== 0x20)) {
    return { kind: 'invalid', reason: 'not a request line', skip: 1 };
  }
  const end = scanLines(bytes, headLimit(bytes), lineEnds);
  if (end < 0) {
    return bytes.length >= MAX_HEAD_BYTES ? { kind: 'invalid', reason: 'request head too large', skip: 1 } : { kind: 'needMore' };
  }
  // "METHOD SP target SP HTTP/1.x": the target has no whitespace.
  const lineEnd = contentEnd(bytes, lineEnds[0]!, 0);
  const targetStart = sp + 1;
  let targetEnd = targetStart;
  while (targetEnd < lineEnd && bytes[targetEnd]! > 0x20 && bytes[targetEnd] !== 0x7f) targetEnd++;
  const version = targetEnd > targetStart && targetEnd + 9 === lineEnd && bytes[targetEnd] === 0x20 ? httpVersion(bytes, targetEnd + 1) : undefined;
  const headers = version ? parseFields(bytes, lineEnds, capture) : undefined;
  if (!version || !headers) return { kind: 'invalid', reason: 'malformed request head', skip: 1 };
  return { kind: 'frame', consumed: end, frame: { method: methodText(bytes, sp), target: text(bytes, targetStart, targetEnd), version, headers, size: end } };
}

const REASONS = new Map<string, string>();

/** `capture`: allow-listed response header names whose values are kept (none by default). */
export function parseResponseHead(bytes: Uint8Array, capture?: CaptureNames): ParseStep<ResponseHead> {
  if (bytes.length >= 5 && (bytes[0] !== 0x48 || bytes[1] !== 0x54 || bytes[2] !== 0x54 || bytes[3] !== 0x50 || bytes[4] !== 0x2f)) {
    return { kind: 'invalid', reason: 'not a status line', skip: 1 };
  }
  const end = scanLines(bytes, headLimit(bytes), lineEnds);
  if (end < 0) {
    return bytes.length >= MAX_HEAD_BYTES ? { kind: 'invalid', reason: 'response head too large', skip: 1 } : { kind: 'needMore' };
  }
  // "HTTP/1.x SP ddd [SP reason]"
  const lineEnd = contentEnd(bytes, lineEnds[0]!, 0);
  const version = lineEnd >= 12 ? httpVersion(bytes, 0) : undefined;
  const d0 = bytes[9]! - 0x30;
  const d1 = bytes[10]! - 0x30;
  const d2 = bytes[11]! - 0x30;
  // The first digit of a status code is 1-5 in use and never 0 (RFC 9110 15): "000" is no status.
  const statusOk = bytes[8] === 0x20 && d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && (lineEnd === 12 || bytes[12] === 0x20);
  const headers = version && statusOk ? parseFields(bytes, lineEnds, capture) : undefined;
  if (!version || !statusOk || !headers) return { kind: 'invalid', reason: 'malformed status line or header', skip: 1 };
  let reason = '';
  if (lineEnd > 13) {
    // Few distinct reason phrases: reuse their strings.
    const raw = text(bytes, 13, lineEnd);
    reason = REASONS.get(raw) ?? raw;
    if (REASONS.size < 256) REASONS.set(raw, reason);
  }
  return { kind: 'frame', consumed: end, frame: { version, status: d0 * 100 + d1 * 10 + d2, reason, headers, size: end } };
}
