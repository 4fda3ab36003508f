/** Request and response grammars for MessageReader: head parsers and resync anchors. */
import type { SideGrammar } from './messageReader.ts';
import {
  KNOWN_METHODS, looksLikeRequestStart, parseRequestHead, parseResponseHead,
  type RequestHead, type ResponseHead,
} from './messageHead.ts';

const METHOD_ANCHORS = KNOWN_METHODS.map((m) => Buffer.from(`${m} `));
const STATUS_ANCHOR = Buffer.from('HTTP/1.');

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export const requestGrammar: SideGrammar<RequestHead> = {
  parseHead: parseRequestHead,
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
};

export const responseGrammar: SideGrammar<ResponseHead> = {
  parseHead: parseResponseHead,
  nextStart(bytes) {
    return asBuffer(bytes).indexOf(STATUS_ANCHOR, 1);
  },
};
