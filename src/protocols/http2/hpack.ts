/**
 * HPACK header block decoding (RFC 7541), for one direction of a
 * connection, written for a passive observer: a decoder that did not see
 * the connection from its start, or lost bytes to a gap, does not know the
 * older entries of the peer's dynamic table. It then resolves what it can
 * (static entries, entries inserted since it lost track, which stay at the
 * front of the table) and reports the rest as unknown instead of failing
 * or guessing.
 */
import { decodeHuffmanInto, huffmanDecodedBound } from './huffman.ts';

/** Name given to a field whose table index cannot be resolved. */
export const UNKNOWN_NAME = ':unknown';

export interface HeaderField {
  readonly name: string;
  /** undefined when the value came from an entry this decoder does not know. */
  readonly value: string | undefined;
}

export interface DecodedBlock {
  readonly fields: HeaderField[];
  /** Fields whose name or value could not be resolved. */
  readonly unknown: number;
  /** Set when the block itself is malformed; `fields` holds what came before. */
  readonly malformed?: string;
}

/** RFC 7541 Appendix A. */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** SETTINGS_HEADER_TABLE_SIZE before any SETTINGS frame. */
export const DEFAULT_TABLE_SIZE = 4096;
/** Most octets of dynamic table this decoder keeps, whatever the peers agree on. */
export const TABLE_CAPACITY = 65_536;
/** RFC 7541 4.1: each entry costs 32 octets more than its name and value. */
const ENTRY_OVERHEAD = 32;
/** STATIC_TABLE as lookup results, made once. */
const STATIC_ENTRIES: ReadonlyArray<{ readonly name: string; readonly value: string }> = STATIC_TABLE.map(([name, value]) => ({ name, value }));

interface Entry {
  readonly name: string | undefined;
  readonly value: string | undefined;
  /** Octets counted for eviction (a lower bound when the name or value is unknown). */
  readonly size: number;
}

const utf8 = new TextDecoder();

class BlockError extends Error {}

export class HpackDecoder {
  /** Newest first: index 62 is entries[0]. */
  private entries: Entry[] = [];
  private octets = 0;
  private maxSize = DEFAULT_TABLE_SIZE;
  /** Entries older than those held may exist: we did not see them inserted. */
  private tailUnknown: boolean;

  /** `trusted`: this decoder has seen the direction from its first header block. */
  constructor(trusted: boolean) {
    this.tailUnknown = !trusted;
  }

  /** Whether every dynamic entry the peer may refer to is known. */
  get trusted(): boolean {
    return !this.tailUnknown;
  }

  /** Octets in the dynamic table, by RFC 7541 4.1 (a lower bound when not trusted). */
  get tableSize(): number {
    return this.octets;
  }

  get tableLength(): number {
    return this.entries.length;
  }

  get tableMaxSize(): number {
    return this.maxSize;
  }

  /** The entry at a dynamic index (62...), for tests. */
  dynamicEntry(index: number): HeaderField | undefined {
    const e = this.entries[index - STATIC_TABLE.length - 1];
    return e && { name: e.name ?? UNKNOWN_NAME, value: e.value };
  }

  /**
   * The decoding side advertised SETTINGS_HEADER_TABLE_SIZE. Below the
   * current size, the encoder must shrink its table with a size update
   * before its next header block (RFC 7541 4.2), so entries past the new
   * limit can never be referred to again: drop them now.
   */
  setSettingsLimit(octets: number): void {
    if (octets < this.maxSize) {
      this.maxSize = octets;
      this.evictTo(octets);
    }
  }

  /** This decoder has seen its direction from the start (before any block): every entry will be known. */
  markComplete(): void {
    if (this.entries.length === 0) this.tailUnknown = false;
  }

  /** Header blocks of this direction were lost: every entry held may now be at another index. */
  forget(): void {
    this.entries = [];
    this.octets = 0;
    this.tailUnknown = true;
  }

  decode(block: Uint8Array): DecodedBlock {
    const fields: HeaderField[] = [];
    let unknown = 0;
    let at = 0;
    try {
      while (at < block.length) {
        const b = block[at]!;
        if (b & 0x80) {
          const index = readIntAt(block, at, 7);
          at = intEnd;
          if (index === 0) throw new BlockError('indexed field with index 0');
          const e = this.lookup(index);
          if (e.name === undefined || e.value === undefined) unknown++;
          fields.push({ name: e.name ?? UNKNOWN_NAME, value: e.value });
        } else if ((b & 0xe0) === 0x20) {
          const size = readIntAt(block, at, 5);
          at = intEnd;
          this.resize(size);
        } else {
          const incremental = (b & 0xc0) === 0x40;
          const index = readIntAt(block, at, incremental ? 6 : 4);
          at = intEnd;
          let name: string | undefined;
          let nameOctets: number;
          if (index === 0) {
            const s = readString(block, at);
            at = s.next;
            name = s.text;
            nameOctets = s.octets;
          } else {
            name = this.lookup(index).name;
            nameOctets = name === undefined ? 0 : Buffer.byteLength(name);
          }
          const v = readString(block, at);
          at = v.next;
          if (name === undefined) unknown++;
          fields.push({ name: name ?? UNKNOWN_NAME, value: v.text });
          if (incremental) this.insert({ name, value: v.text, size: nameOctets + v.octets + ENTRY_OVERHEAD });
        }
      }
    } catch (e) {
      if (!(e instanceof BlockError)) throw e;
      // The rest of the block may have changed the peer's table.
      this.forget();
      return { fields, unknown, malformed: e.message };
    }
    return { fields, unknown };
  }

  private lookup(index: number): { name: string | undefined; value: string | undefined } {
    const s = STATIC_ENTRIES[index - 1];
    if (s) return s;
    const e = this.entries[index - STATIC_TABLE.length - 1];
    if (e) return e;
    if (this.tailUnknown) return { name: undefined, value: undefined };
    throw new BlockError(`index ${index} beyond the dynamic table`);
  }

  private resize(size: number): void {
    // Larger than SETTINGS allows is the peer's error to answer; follow the encoder, within our own bound.
    this.maxSize = size;
    this.evictTo(size);
  }

  private insert(e: Entry): void {
    if (e.size > this.maxSize) {
      // RFC 7541 4.4: an entry larger than the table empties it.
      this.entries = [];
      this.octets = 0;
      return;
    }
    this.evictTo(this.maxSize - e.size);
    this.entries.unshift(e);
    this.octets += e.size;
  }

  private evictTo(limit: number): void {
    const bound = Math.min(limit, TABLE_CAPACITY);
    while (this.octets > bound && this.entries.length > 0) {
      this.octets -= this.entries.pop()!.size;
      // Evicted for our memory bound only: the peer still has it.
      if (limit > TABLE_CAPACITY) this.tailUnknown = true;
    }
  }
}

/** RFC 7541 5.1 integer with an N-bit prefix: [value, offset after it]. */
export function readInt(b: Uint8Array, at: number, prefixBits: number): [number, number] {
  const value = readIntAt(b, at, prefixBits);
  return [value, intEnd];
}

/** Where the integer readIntAt last read ended: no tuple per integer on the hot path. */
let intEnd = 0;

function readIntAt(b: Uint8Array, at: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  let value = b[at]! & max;
  at++;
  if (value < max) {
    intEnd = at;
    return value;
  }
  let shift = 0;
  for (;;) {
    if (at >= b.length) throw new BlockError('truncated integer');
    const byte = b[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
    if (shift > 28) throw new BlockError('integer too large');
  }
  if (value > 0x7fff_ffff) throw new BlockError('integer too large');
  intEnd = at;
  return value;
}

/** Decoded Huffman literals land here (grown as needed): no allocation per field. */
let scratch = new Uint8Array(256);
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Octets as text: ASCII (nearly every header) by the fast latin1 path, the rest as UTF-8. */
function textOf(bytes: Uint8Array, from: number, to: number): string {
  for (let i = from; i < to; i++) if (bytes[i]! >= 0x80) return utf8.decode(bytes.subarray(from, to));
  return latin1Slice.call(bytes, from, to);
}

function readString(b: Uint8Array, at: number): { text: string; octets: number; next: number } {
  if (at >= b.length) throw new BlockError('truncated string');
  const huffman = (b[at]! & 0x80) !== 0;
  const length = readIntAt(b, at, 7);
  const start = intEnd;
  const end = start + length;
  if (end > b.length) throw new BlockError('string longer than the block');
  if (!huffman) return { text: textOf(b, start, end), octets: length, next: end };
  const bound = huffmanDecodedBound(length);
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const n = decodeHuffmanInto(b, start, end, scratch);
  if (n < 0) throw new BlockError('bad Huffman code');
  return { text: textOf(scratch, 0, n), octets: n, next: end };
}
