/**
 * Does a connection speak HTTP/2 (cleartext, or decrypted by a TLS uprobe)?
 * 'yes' on the client preface in either direction (that direction carries
 * requests); 'maybe' when a direction of a connection picked up
 * mid-stream begins with a plausible frame header (and the next one, when
 * its bytes are there); 'no' otherwise.
 */
import type { FirstBytes, Inference } from '../contract.ts';
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LENGTH, isPlausibleHeader, readFrameHeader } from './frames.ts';

type Look = 'preface' | 'prefacePrefix' | 'frames' | 'no' | 'empty';

function look(b: Uint8Array): Look {
  if (b.length === 0) return 'empty';
  const n = Math.min(b.length, CLIENT_PREFACE.length);
  let prefix = true;
  for (let i = 0; i < n && prefix; i++) prefix = b[i] === CLIENT_PREFACE[i];
  if (prefix) return n === CLIENT_PREFACE.length ? 'preface' : 'prefacePrefix';
  if (b.length < FRAME_HEADER_LENGTH) {
    // Too short to judge a header: a length under 2^16 and a known type are all we can ask.
    return b[0] === 0 && (b.length < 4 || b[3]! <= 9) ? 'frames' : 'no';
  }
  const h = readFrameHeader(b);
  if (!isPlausibleHeader(h, DEFAULT_MAX_FRAME_SIZE)) return 'no';
  const next = FRAME_HEADER_LENGTH + h.length;
  if (next + FRAME_HEADER_LENGTH <= b.length && !isPlausibleHeader(readFrameHeader(b, next), DEFAULT_MAX_FRAME_SIZE)) return 'no';
  return 'frames';
}

export function inferHttp2(first: FirstBytes): Inference {
  const egress = look(first.egress);
  const ingress = look(first.ingress);
  if (egress === 'preface') return { verdict: 'yes', requestsOn: 'egress' };
  if (ingress === 'preface') return { verdict: 'yes', requestsOn: 'ingress' };
  // Picked up mid-stream, one side may start inside a frame: one plausible side is enough to wait and see.
  const hopeful = (l: Look): boolean => l === 'frames' || l === 'prefacePrefix';
  if (hopeful(egress) || hopeful(ingress) || (egress === 'empty' && ingress === 'empty')) return { verdict: 'maybe' };
  return { verdict: 'no' };
}
