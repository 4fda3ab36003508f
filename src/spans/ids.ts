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
  if (value === undefined) return undefined; // most requests carry none: no regex run on ''
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff') return undefined;
  if (/^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  if (m[1] === '00' && value.trim().length !== 55) return undefined;
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
 * Four 32-bit FNV-1a lanes, each seeded, with murmur3's finaliser: fast,
 * keyed, not cryptographic. All lanes in one pass over the key: the loop,
 * not the arithmetic, is what costs (a span id uses two of them, a trace
 * id all four). The key is given in parts and hashed part after part, as
 * if concatenated: a concatenated key would be a new string per span,
 * flattened before it could be read.
 */
function hashParts(seedA: number, seedB: number, seedC: number, seedD: number, parts: readonly string[], out: Uint32Array): void {
  let a = (0x811c9dc5 ^ seedA) >>> 0;
  let b = (0x811c9dc5 ^ seedB) >>> 0;
  let c = (0x811c9dc5 ^ seedC) >>> 0;
  let d = (0x811c9dc5 ^ seedD) >>> 0;
  for (let p = 0; p < parts.length; p++) {
    const text = parts[p]!;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      a = Math.imul(a ^ ch, 0x01000193);
      b = Math.imul(b ^ ch, 0x01000193);
      c = Math.imul(c ^ ch, 0x01000193);
      d = Math.imul(d ^ ch, 0x01000193);
    }
  }
  out[0] = fmix32(a);
  out[1] = fmix32(b);
  out[2] = fmix32(c);
  out[3] = fmix32(d);
}

/** Char codes of the hex digits. */
const HEX_DIGIT = Array.from({ length: 16 }, (_, i) => i.toString(16).charCodeAt(0));
const hexAt = (n: number, shift: number): number => HEX_DIGIT[(n >>> shift) & 15]!;
const fromCharCode = String.fromCharCode;

/**
 * Lanes as hex, each string made in one call: joining per-byte strings
 * made several strings per id, and a rope that had to be flattened.
 */
function hex2(a: number, b: number): string {
  return fromCharCode(
    hexAt(a, 28), hexAt(a, 24), hexAt(a, 20), hexAt(a, 16), hexAt(a, 12), hexAt(a, 8), hexAt(a, 4), hexAt(a, 0),
    hexAt(b, 28), hexAt(b, 24), hexAt(b, 20), hexAt(b, 16), hexAt(b, 12), hexAt(b, 8), hexAt(b, 4), hexAt(b, 0),
  );
}

function hex4(a: number, b: number, c: number, d: number): string {
  return fromCharCode(
    hexAt(a, 28), hexAt(a, 24), hexAt(a, 20), hexAt(a, 16), hexAt(a, 12), hexAt(a, 8), hexAt(a, 4), hexAt(a, 0),
    hexAt(b, 28), hexAt(b, 24), hexAt(b, 20), hexAt(b, 16), hexAt(b, 12), hexAt(b, 8), hexAt(b, 4), hexAt(b, 0),
    hexAt(c, 28), hexAt(c, 24), hexAt(c, 20), hexAt(c, 16), hexAt(c, 12), hexAt(c, 8), hexAt(c, 4), hexAt(c, 0),
    hexAt(d, 28), hexAt(d, 24), hexAt(d, 20), hexAt(d, 16), hexAt(d, 12), hexAt(d, 8), hexAt(d, 4), hexAt(d, 0),
  );
}

export class IdGenerator {
  private readonly seeds: number[];
  private readonly lanes = new Uint32Array(4);
  /** Keys as parts, refilled per id (no list per id): a whole key, and `${prefix}${conn}/${pair}`. */
  private readonly whole: string[] = [''];
  private readonly composite: string[] = ['', '', '/', ''];

  constructor(key: Buffer = randomBytes(24)) {
    this.seeds = [0, 4, 8, 12, 16, 20].map((o) => key.readUInt32LE(o));
  }

  /** 16 hex digits, never all zero (an invalid id). */
  spanId(key: string): string {
    this.whole[0] = key;
    return this.spanIdFrom(this.whole);
  }

  /** 32 hex digits, never all zero. */
  traceId(key: string): string {
    this.whole[0] = key;
    return this.traceIdFrom(this.whole);
  }

  /** spanId(`${prefix}${conn}/${pair}`), without making that string. */
  spanIdOf(prefix: string, conn: string, pair: string): string {
    return this.spanIdFrom(this.compositeKey(prefix, conn, pair));
  }

  /** traceId(`${conn}/${pair}`), without making that string. */
  traceIdOf(conn: string, pair: string): string {
    return this.traceIdFrom(this.compositeKey('', conn, pair));
  }

  private compositeKey(prefix: string, conn: string, pair: string): readonly string[] {
    const k = this.composite;
    k[0] = prefix;
    k[1] = conn;
    k[3] = pair;
    return k;
  }

  private spanIdFrom(key: readonly string[]): string {
    const s = this.seeds;
    const l = this.lanes;
    hashParts(s[0]!, s[1]!, s[0]!, s[1]!, key, l); // (lanes 2 and 3 unused)
    const a = l[0]!;
    const b = l[1]!;
    return hex2(a, a === 0 ? b || 1 : b);
  }

  private traceIdFrom(key: readonly string[]): string {
    const s = this.seeds;
    const l = this.lanes;
    hashParts(s[2]!, s[3]!, s[4]!, s[5]!, key, l);
    const a = l[0]!;
    const b = l[1]!;
    const c = l[2]!;
    let d = l[3]!;
    if (a === 0 && b === 0 && c === 0 && d === 0) d = 1;
    return hex4(a, b, c, d);
  }
}
