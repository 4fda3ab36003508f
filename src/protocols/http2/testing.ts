/**
 * Test helpers (imported by the *.test.ts files only): recorded
 * conversations from testdata/, replay through a parser, and builders for
 * frames and header blocks (literal fields, no Huffman, no indexing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Exchange, ParserStats, Side } from '../contract.ts';
import { Http2ConnectionParser } from './connectionParser.ts';
import { CLIENT_PREFACE } from './frames.ts';

export const TESTDATA = path.join(import.meta.dirname, 'testdata');

export interface Chunk {
  readonly side: Side;
  readonly tsNs: bigint;
  readonly data: Uint8Array;
}

export function recordingNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.recording.json'))
    .map((f) => f.slice(0, -'.recording.json'.length))
    .sort();
}

export function loadRecording(name: string): Chunk[] {
  const rec = JSON.parse(readFileSync(path.join(TESTDATA, `${name}.recording.json`), 'utf8')) as {
    chunks: Array<{ side: Side; tsNs: string; data: string }>;
  };
  return rec.chunks.map((c) => ({ side: c.side, tsNs: BigInt(c.tsNs), data: new Uint8Array(Buffer.from(c.data, 'base64')) }));
}

export type Event = Chunk | { readonly gap: number; readonly side: Side; readonly tsNs: bigint };

export interface Replay {
  readonly exchanges: Exchange[];
  readonly stats: ParserStats;
  readonly maxBuffered: number;
}

export function replay(events: readonly Event[], close = true): Replay {
  const exchanges: Exchange[] = [];
  const parser = new Http2ConnectionParser((e) => exchanges.push(e));
  let maxBuffered = 0;
  let last = 0n;
  for (const e of events) {
    if ('gap' in e) parser.onGap(e.side, e.gap, e.tsNs);
    else parser.onData(e.side, e.data, e.tsNs);
    maxBuffered = Math.max(maxBuffered, parser.bufferedBytes());
    last = e.tsNs;
  }
  if (close) parser.onClose(last + 1n);
  return { exchanges, stats: { ...parser.stats }, maxBuffered };
}

/** Exchanges as plain JSON (bigint times as strings). */
export function toJson(exchanges: readonly Exchange[]): unknown[] {
  return exchanges.map((e) => ({ ...e, startNs: String(e.startNs), endNs: String(e.endNs) }));
}

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number[] = []): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = (p.length >> 16) & 0xff;
  out[1] = (p.length >> 8) & 0xff;
  out[2] = p.length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId >>> 0);
  out.set(p, 9);
  return out;
}

/** A header block of literal fields without indexing (RFC 7541 6.2.2), new names, no Huffman. */
export function literalBlock(fields: ReadonlyArray<readonly [string, string]>, opts: { index?: boolean } = {}): Uint8Array {
  const out: number[] = [];
  const str = (s: string): void => {
    const b = Buffer.from(s);
    intPrefix(out, b.length, 7, 0);
    out.push(...b);
  };
  for (const [n, v] of fields) {
    out.push(opts.index ? 0x40 : 0x00);
    str(n);
    str(v);
  }
  return Uint8Array.from(out);
}

export function intPrefix(out: number[], value: number, bits: number, high: number): void {
  const max = (1 << bits) - 1;
  if (value < max) {
    out.push(high | value);
    return;
  }
  out.push(high | max);
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export const PREFACE = CLIENT_PREFACE;

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
