/**
 * Trace and span ids. Both ends of an exchange on this host must agree on
 * the client span's id without waiting for each other, so ids are derived
 * from what both ends know (the client connection and the exchange's pair
 * key) through a keyed hash; the key is random per sensor process, so ids
 * are unpredictable from outside and unique across sensors.
 */
import { randomBytes } from 'node:crypto';

/** W3C traceparent: version-traceid-parentid-flags. */
export interface TraceParent {
  readonly traceId: string;
  readonly parentId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** Parses a traceparent header; undefined when invalid (per the W3C rules). */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  const m = TRACEPARENT.exec(value?.trim().toLowerCase() ?? '');
  if (!m || m[1] === 'ff') return undefined;
  if (/^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  if (m[1] === '00' && value!.trim().length !== 55) return undefined;
  return { traceId: m[2]!, parentId: m[3]!, sampled: (Number.parseInt(m[4]!, 16) & 1) === 1 };
}

/** murmur3's finaliser: spreads every input bit over the 32 output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Two 32-bit FNV-1a lanes over a string in one pass, each seeded, with
 * murmur3's finaliser: fast, keyed, not cryptographic. One pass per pair of
 * lanes: the loop, not the arithmetic, is what costs.
 */
function hashPair(seedA: number, seedB: number, text: string, out: Uint32Array): void {
  let a = (0x811c9dc5 ^ seedA) >>> 0;
  let b = (0x811c9dc5 ^ seedB) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  out[0] = fmix32(a);
  out[1] = fmix32(b);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (n: number) => HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;

export class IdGenerator {
  private readonly seeds: number[];
  private readonly lanes = new Uint32Array(2);

  constructor(key: Buffer = randomBytes(24)) {
    this.seeds = [0, 4, 8, 12, 16, 20].map((o) => key.readUInt32LE(o));
  }

  /** 16 hex digits, never all zero (an invalid id). */
  spanId(key: string): string {
    const s = this.seeds;
    const l = this.lanes;
    hashPair(s[0]!, s[1]!, key, l);
    const a = l[0]!;
    const b = l[1]!;
    return hex8(a) + hex8(a === 0 ? b || 1 : b);
  }

  /** 32 hex digits, never all zero. */
  traceId(key: string): string {
    const s = this.seeds;
    const l = this.lanes;
    hashPair(s[2]!, s[3]!, key, l);
    const a = l[0]!;
    const b = l[1]!;
    hashPair(s[4]!, s[5]!, key, l);
    const c = l[0]!;
    let d = l[1]!;
    if (a === 0 && b === 0 && c === 0 && d === 0) d = 1;
    return hex8(a) + hex8(b) + hex8(c) + hex8(d);
  }
}
