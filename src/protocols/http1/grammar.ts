/** Request and response grammars for MessageReader: head parsers and resync anchors. */
import type { SideGrammar } from './messageReader.ts';
import type { AttributeCapture } from '../attributeCapture/index.ts';
import {
  KNOWN_METHODS, looksLikeRequestStart, parseRequestHead, parseResponseHead,
  type RequestHead, type ResponseHead,
} from './messageHead.ts';

const METHOD_ANCHORS = KNOWN_METHODS.map((m) => Buffer.from(`${m} `));
const STATUS_ANCHOR = Buffer.from('HTTP/1.');

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Whether `bytes` begin with `anchor`, or are a prefix of it (more may come). */
function startsWithOrPrefix(bytes: Uint8Array, anchor: Buffer): boolean {
  const n = Math.min(bytes.length, anchor.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== anchor[i]) return false;
  return true;
}

export const requestGrammar: SideGrammar<RequestHead> = {
  parseHead: parseRequestHead,
  // A method of up to 20 token bytes and the byte after it (parseRequestHead).
  startCheckBytes: 22,
  nextStart(bytes) {
    const buf = asBuffer(bytes);
    let best = -1;
    for (const anchor of METHOD_ANCHORS) {
      let at = buf.indexOf(anchor, 1);
      // A request starts a line: skip anchors in the middle of text.
      while (at > 0 && buf[at - 1] !== 0x0a) at = buf.indexOf(anchor, at + 1);
      if (at > 0 && looksLikeRequestStart(buf.subarray(at)) !== 'no' && (best < 0 || at < best)) best = at;
    }
    return best;
  },
  anchoredAtStart: (bytes) => METHOD_ANCHORS.some((anchor) => startsWithOrPrefix(bytes, anchor)),
};

export const responseGrammar: SideGrammar<ResponseHead> = {
  parseHead: parseResponseHead,
  // "HTTP/" (parseResponseHead).
  startCheckBytes: 5,
  nextStart(bytes) {
    return asBuffer(bytes).indexOf(STATUS_ANCHOR, 1);
  },
  anchoredAtStart: (bytes) => startsWithOrPrefix(bytes, STATUS_ANCHOR),
};

/**
 * The grammars of a parser whose heads also keep allow-listed header
 * values; the plain ones when nothing is allow-listed, so the default
 * costs nothing.
 */
export function grammarsFor(capture: AttributeCapture | undefined): { request: SideGrammar<RequestHead>; response: SideGrammar<ResponseHead> } {
  const req = capture?.http1Request;
  const res = capture?.http1Response;
  return {
    request: req === undefined ? requestGrammar : { ...requestGrammar, parseHead: (bytes) => parseRequestHead(bytes, req) },
    response: res === undefined ? responseGrammar : { ...responseGrammar, parseHead: (bytes) => parseResponseHead(bytes, res) },
  };
}
