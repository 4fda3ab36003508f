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

/** 32-bit FNV-1a over a string, seeded, with murmur3's finaliser: fast, keyed, not cryptographic. */
function hash32(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (n: number) => HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;

export class IdGenerator {
  private readonly seeds: number[];

  constructor(key: Buffer = randomBytes(24)) {
    this.seeds = [0, 4, 8, 12, 16, 20].map((o) => key.readUInt32LE(o));
  }

  /** 16 hex digits, never all zero (an invalid id). */
  spanId(key: string): string {
    const a = hash32(this.seeds[0]!, key);
    const b = hash32(this.seeds[1]!, key);
    return hex8(a) + hex8(a === 0 ? b || 1 : b);
  }

  /** 32 hex digits, never all zero. */
  traceId(key: string): string {
    const s = this.seeds;
    const a = hash32(s[2]!, key);
    const b = hash32(s[3]!, key);
    const c = hash32(s[4]!, key);
    let d = hash32(s[5]!, key);
    if (a === 0 && b === 0 && c === 0 && d === 0) d = 1;
    return hex8(a) + hex8(b) + hex8(c) + hex8(d);
  }
}
