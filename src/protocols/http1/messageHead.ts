/**
 * HTTP/1.x message heads: request and status lines and header fields,
 * parsed from the front of a side's bytes. Bounded: a head larger than
 * MAX_HEAD_BYTES is invalid, whatever follows.
 */
import type { ParseStep } from '../contract.ts';

export const MAX_HEAD_BYTES = 64 * 1024;

/** Methods recognised at the start of a stream (RFC 9110, WebDAV, PATCH). */
export const KNOWN_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH',
] as const;

export interface Head {
  /**
   * The header fields the parser and the span mapping use (USED_HEADERS),
   * names lower-cased, repeated fields joined with ", ". Every field is
   * checked for well-formedness; the others are not kept.
   */
  readonly headers: ReadonlyMap<string, string>;
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

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const latin1 = new TextDecoder('latin1');

/** End of the head (index just past the blank line), or -1. Accepts bare LF. */
function headEnd(buf: Buffer): number {
  const crlf = buf.indexOf(CRLFCRLF);
  // A bare-LF blank line counts only if it comes first: look no further.
  const lf = (crlf < 0 ? buf : buf.subarray(0, crlf + 2)).indexOf(LFLF);
  if (crlf < 0) return lf < 0 ? -1 : lf + 2;
  if (lf < 0 || crlf < lf) return crlf + 4;
  return lf + 2;
}

function isToken(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // tchar (RFC 9110 5.6.2): letters, digits and !#$%&'*+-.^_`|~
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || "!#$%&'*+-.^_`|~".includes(name[i]!);
    if (!ok) return false;
  }
  return name.length > 0;
}

/** Header fields that framing, pairing and span attributes read; no other leaves the head. */
export const USED_HEADERS = new Set([
  'host', 'user-agent', 'traceparent', 'content-length', 'transfer-encoding', 'content-type', 'upgrade', 'connection', 'expect',
]);
const USED_LENGTHS = new Set([...USED_HEADERS].map((h) => h.length));

/** Header fields of `lines` (the lines after the start line), or undefined if one is malformed. */
function parseFields(lines: readonly string[]): Map<string, string> | undefined {
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    // Field names have no surrounding space (RFC 9112 5.1); tolerate it anyway.
    let name = line.charCodeAt(colon - 1) === 0x20 || line.charCodeAt(0) === 0x20 ? line.slice(0, colon).trim() : line.slice(0, colon);
    if (!isToken(name)) return undefined;
    if (!USED_LENGTHS.has(name.length)) continue;
    name = name.toLowerCase();
    if (!USED_HEADERS.has(name)) continue;
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
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

/** The head's lines, without their CR LF (or bare LF). */
function split(bytes: Uint8Array, end: number): string[] {
  const text = latin1.decode(bytes.subarray(0, end));
  const lines: string[] = [];
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    lines.push(text.charCodeAt(nl - 1) === 13 ? text.slice(at, nl - 1) : text.slice(at, nl));
    at = nl + 1;
  }
  return lines;
}

export function parseRequestHead(bytes: Uint8Array): ParseStep<RequestHead> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Any token is a method once the connection is known to be HTTP (PURGE,
  // vendor extensions); inference alone insists on the well-known ones.
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}( |$)/.test(latin1.decode(bytes.subarray(0, 21)))) {
    return { kind: 'invalid', reason: 'not a request line', skip: 1 };
  }
  const end = headEnd(buf.length > MAX_HEAD_BYTES ? buf.subarray(0, MAX_HEAD_BYTES) : buf);
  if (end < 0) {
    return buf.length >= MAX_HEAD_BYTES ? { kind: 'invalid', reason: 'request head too large', skip: 1 } : { kind: 'needMore' };
  }
  const [line, ...rest] = split(bytes, end);
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(1\.[01])$/.exec(line ?? '');
  const headers = m ? parseFields(rest) : undefined;
  if (!m || !headers) return { kind: 'invalid', reason: 'malformed request head', skip: 1 };
  return { kind: 'frame', consumed: end, frame: { method: m[1]!, target: m[2]!, version: m[3]!, headers, size: end } };
}

export function parseResponseHead(bytes: Uint8Array): ParseStep<ResponseHead> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 5 && !buf.subarray(0, 5).equals(Buffer.from('HTTP/'))) return { kind: 'invalid', reason: 'not a status line', skip: 1 };
  const end = headEnd(buf.length > MAX_HEAD_BYTES ? buf.subarray(0, MAX_HEAD_BYTES) : buf);
  if (end < 0) {
    return buf.length >= MAX_HEAD_BYTES ? { kind: 'invalid', reason: 'response head too large', skip: 1 } : { kind: 'needMore' };
  }
  const [line, ...rest] = split(bytes, end);
  const m = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(line ?? '');
  const headers = m ? parseFields(rest) : undefined;
  if (!m || !headers) return { kind: 'invalid', reason: 'malformed status line or header', skip: 1 };
  return { kind: 'frame', consumed: end, frame: { version: m[1]!, status: Number(m[2]), reason: m[3] ?? '', headers, size: end } };
}
