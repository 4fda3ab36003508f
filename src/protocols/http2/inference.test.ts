import { describe, expect, it } from 'vitest';
import { Flag, FrameType } from './frames.ts';
import { inferHttp2 } from './inference.ts';
import { concat, frame, PREFACE } from './testing.ts';

const none = new Uint8Array(0);
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const settings = frame(FrameType.SETTINGS, 0, 0, new Uint8Array(12));
const headers = frame(FrameType.HEADERS, Flag.END_HEADERS, 1, new Uint8Array(20));

describe('HTTP/2 inference', () => {
  it.each([
    ['the preface on egress', concat(PREFACE, settings), none, { verdict: 'yes', requestsOn: 'egress' }],
    ['the preface on ingress', settings, concat(PREFACE, settings), { verdict: 'yes', requestsOn: 'ingress' }],
    ['part of the preface', PREFACE.subarray(0, 10), none, { verdict: 'maybe' }],
    ['a SETTINGS frame mid-stream', none, settings, { verdict: 'maybe' }],
    ['HEADERS then SETTINGS mid-stream', concat(headers, settings), none, { verdict: 'maybe' }],
    ['a frame followed by garbage', concat(settings, ascii('garbage!!')), none, { verdict: 'no' }],
    ['an HTTP/1.1 request', ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), none, { verdict: 'no' }],
    ['a TLS ClientHello', Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), none, { verdict: 'no' }],
    ['nothing yet', none, none, { verdict: 'maybe' }],
  ])('%s', (_what, egress, ingress, verdict) => {
    expect(inferHttp2({ egress, ingress, role: 'unknown' })).toEqual(verdict);
  });
});
