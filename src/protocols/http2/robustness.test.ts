/**
 * Whatever the bytes: nothing throws, buffers stay bounded, bad input is
 * counted. Recorded conversations truncated, mutated, cut by gaps, and
 * picked up mid-stream.
 */
import { describe, expect, it } from 'vitest';
import { FRAME_BUFFER_LIMIT, HEADER_BLOCK_LIMIT } from './connectionParser.ts';
import { HEADERS_MISSING } from './exchangeMapping.ts';
import { loadRecording, recordingNames, replay } from './testing.ts';
import type { Chunk, Event } from './testing.ts';

const BOUND = 2 * (FRAME_BUFFER_LIMIT + HEADER_BLOCK_LIMIT) + 1024;

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function truncate(chunks: Chunk[], side: Chunk['side'], keep: number): Event[] {
  const out: Event[] = [];
  let seen = 0;
  for (const c of chunks) {
    if (c.side !== side) {
      out.push(c);
      continue;
    }
    if (seen >= keep) continue;
    out.push({ ...c, data: c.data.subarray(0, keep - seen) });
    seen += c.data.length;
  }
  return out;
}

function sideLength(chunks: Chunk[], side: Chunk['side']): number {
  return chunks.filter((c) => c.side === side).reduce((n, c) => n + c.data.length, 0);
}

const names = recordingNames();

describe('robustness', () => {
  it('random bytes on both sides', () => {
    const r0 = rng(1);
    for (let round = 0; round < 200; round++) {
      const events: Event[] = [];
      for (let i = 0; i < 8; i++) {
        const data = new Uint8Array(Math.floor(r0() * 3000));
        for (let j = 0; j < data.length; j++) data[j] = Math.floor(r0() * 256);
        events.push({ side: r0() < 0.5 ? 'request' : 'response', tsNs: BigInt(i), data });
      }
      const r = replay(events);
      expect(r.maxBuffered).toBeLessThanOrEqual(BOUND);
    }
  });

  it('all-zero bytes (a run of plausible empty DATA headers on stream 0 is not one)', () => {
    const r = replay([{ side: 'response', tsNs: 1n, data: new Uint8Array(100_000) }]);
    expect(r.stats.invalidBytes).toBeGreaterThan(99_000);
    expect(r.maxBuffered).toBeLessThanOrEqual(BOUND);
  });

  it.each(names)('%s truncated at every offset of each side (dense sample)', (name) => {
    const chunks = loadRecording(name);
    const full = replay(chunks).exchanges.length;
    for (const side of ['request', 'response'] as const) {
      const len = sideLength(chunks, side);
      const step = Math.max(1, Math.floor(len / 400));
      for (let keep = 0; keep <= len; keep += step) {
        const r = replay(truncate(chunks, side, keep));
        expect(r.exchanges.length).toBeLessThanOrEqual(full);
        expect(r.maxBuffered).toBeLessThanOrEqual(BOUND);
      }
    }
  });

  it.each(names)('%s with random single-byte mutations', (name) => {
    const chunks = loadRecording(name);
    const r0 = rng(name.length);
    for (let round = 0; round < 300; round++) {
      const i = Math.floor(r0() * chunks.length);
      const c = chunks[i]!;
      if (c.data.length === 0) continue;
      const data = c.data.slice();
      data[Math.floor(r0() * data.length)] = Math.floor(r0() * 256);
      const mutated = chunks.map((x, j) => (j === i ? { ...x, data } : x));
      const r = replay(mutated);
      expect(r.maxBuffered).toBeLessThanOrEqual(BOUND);
    }
  });

  it.each(names)('%s with a gap injected in place of a slice of any chunk', (name) => {
    const chunks = loadRecording(name);
    const clean = replay(chunks);
    const r0 = rng(7 * name.length);
    for (let round = 0; round < 200; round++) {
      const i = Math.floor(r0() * chunks.length);
      const c = chunks[i]!;
      const from = Math.floor(r0() * c.data.length);
      const to = from + Math.floor(r0() * (c.data.length - from + 1));
      const events: Event[] = [
        ...chunks.slice(0, i),
        { ...c, data: c.data.subarray(0, from) },
        { side: c.side, gap: to - from, tsNs: c.tsNs },
        { ...c, data: c.data.subarray(to) },
        ...chunks.slice(i + 1),
      ];
      const r = replay(events);
      expect(r.maxBuffered).toBeLessThanOrEqual(BOUND);
      // A gap may drop exchanges; it never invents more than the clean replay.
      expect(r.exchanges.length).toBeLessThanOrEqual(clean.exchanges.length);
      if (to > from) {
        const accounted = r.exchanges.length + r.stats.droppedByGap + r.stats.unansweredRequests + r.stats.orphanResponses;
        expect(accounted).toBeGreaterThan(0);
      }
    }
  });
});

describe('mid-stream pickup', () => {
  /** The recording from byte `skip` of each side on: no preface, no HPACK state. */
  function from(chunks: Chunk[], reqSkip: number, resSkip: number): Event[] {
    const seen = { request: 0, response: 0 };
    const out: Event[] = [];
    for (const c of chunks) {
      const skip = c.side === 'request' ? reqSkip : resSkip;
      const at = seen[c.side];
      seen[c.side] += c.data.length;
      if (at + c.data.length <= skip) continue;
      out.push({ ...c, data: c.data.subarray(Math.max(0, skip - at)) });
    }
    return out;
  }

  it.each(names)('%s from every 50th octet: no throw, nothing invented', (name) => {
    const chunks = loadRecording(name);
    const clean = replay(chunks).exchanges;
    const cleanByKey = new Map(clean.map((e) => [e.pairKey, e]));
    const len = Math.min(sideLength(chunks, 'request'), sideLength(chunks, 'response'));
    for (let skip = 1; skip < len; skip += 50) {
      const r = replay(from(chunks, skip, skip));
      expect(r.maxBuffered).toBeLessThanOrEqual(BOUND);
      for (const e of r.exchanges) {
        const truth = cleanByKey.get(e.pairKey);
        expect(cleanByKey.has(e.pairKey), `stream ${e.pairKey} exists in the clean replay`).toBe(true);
        if (e.protocol !== truth!.protocol) {
          // A gRPC call whose content-type is in the HPACK state we missed: reported as the HTTP/2 exchange it also is.
          expect([e.protocol, truth!.protocol]).toEqual(['http2', 'grpc']);
          expect(e.attributes['http.request.method'] ?? 'POST').toBe('POST');
          expect(e.endNs).toBe(truth!.endNs);
          continue;
        }
        // What is reported is true: every attribute known is the clean one's value.
        for (const [k, v] of Object.entries(e.attributes)) {
          if (k.endsWith('body.size') || k.endsWith('message_count')) continue; // frames before pickup are not seen
          if (k === 'rpc.grpc.status_code' && truth!.attributes[k] === undefined) continue;
          if (k === HEADERS_MISSING) continue; // the late observer's own mark: it could not read every field
          expect([k, v]).toEqual([k, truth!.attributes[k]]);
        }
        expect(e.endNs).toBe(truth!.endNs);
      }
    }
  });

  it('reports the status of a static :status entry without HPACK state', () => {
    const chunks = loadRecording('node-sequential');
    // From the third request on (after its preface, SETTINGS and two streams).
    const reqBytes = sideLength(chunks, 'request');
    let found = false;
    for (let skip = 60; skip < reqBytes && !found; skip++) {
      const r = replay(from(chunks, skip, 0));
      if (r.exchanges.length > 0 && r.stats.invalidBytes > 0) {
        found = r.exchanges.some((e) => typeof e.attributes['http.response.status_code'] === 'number');
      }
    }
    expect(found).toBe(true);
  });
});
