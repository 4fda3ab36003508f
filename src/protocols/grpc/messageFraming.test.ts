import { describe, expect, it } from 'vitest';
import { GrpcMessageCounter } from './messageFraming.ts';

function message(length: number, compressed = false): Uint8Array {
  const out = new Uint8Array(5 + length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, length);
  out.fill(0x61, 5);
  return out;
}

const STREAM = Buffer.concat([message(0), message(7), message(300, true), message(1), message(70_000)]);

describe('gRPC length-prefixed messages', () => {
  it('are counted whole', () => {
    const c = new GrpcMessageCounter();
    c.push(STREAM);
    expect({ count: c.count, compressed: c.compressed, bytes: c.bytes, atBoundary: c.atBoundary }).toEqual({
      count: 5, compressed: 1, bytes: 70_308, atBoundary: true,
    });
  });

  it.each([1, 2, 3, 5, 7, 1000, 16_384])('are counted the same across DATA frames of %i octets', (size) => {
    const c = new GrpcMessageCounter();
    for (let at = 0; at < STREAM.length; at += size) c.push(STREAM.subarray(at, at + size));
    expect([c.count, c.compressed, c.bytes, c.lost]).toEqual([5, 1, 70_308, false]);
  });

  it('split at every offset of a prefix', () => {
    const two = Buffer.concat([message(3), message(4, true)]);
    for (let cut = 0; cut <= two.length; cut++) {
      const c = new GrpcMessageCounter();
      c.push(two.subarray(0, cut));
      c.push(two.subarray(cut));
      expect([c.count, c.compressed, c.bytes]).toEqual([2, 1, 7]);
    }
  });

  it('stay in step over a gap inside a message body', () => {
    const c = new GrpcMessageCounter();
    c.push(STREAM.subarray(0, 30)); // inside the 300-octet message
    c.skip(100);
    c.push(STREAM.subarray(130));
    expect([c.count, c.bytes, c.lost]).toEqual([5, 70_308, false]);
  });

  it('know when a gap took a prefix with it', () => {
    const c = new GrpcMessageCounter();
    c.push(STREAM.subarray(0, 30));
    c.skip(1000);
    expect(c.lost).toBe(true);
  });
});
