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
import { NewestFirst } from './newestFirst.ts';

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

/**
 * A DecodedBlock that decodeInto fills again for each block: a parser that
 * reads what it needs of a block before the next one keeps one, and its
 * field list is reused instead of grown anew per block.
 */
export interface ReusableBlock extends DecodedBlock {
  fields: HeaderField[];
  unknown: number;
  malformed: string | undefined;
}

export function newReusableBlock(): ReusableBlock {
  return { fields: [], unknown: 0, malformed: undefined };
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

interface Entry {
  readonly name: string | undefined;
  readonly value: string | undefined;
  /** Octets of the name (0 when unknown): what a literal with this entry's name adds to a new entry's size. */
  readonly nameOctets: number;
  /** Octets counted for eviction (a lower bound when the name or value is unknown). */
  readonly size: number;
  /**
   * The field an index to this entry decodes to, made once when the entry
   * is: most fields of a connection's later blocks are indexed, and then
   * cost no allocation.
   */
  readonly field: HeaderField;
}

function newEntry(name: string | undefined, value: string | undefined, nameOctets: number, valueOctets: number): Entry {
  return { name, value, nameOctets, size: nameOctets + valueOctets + ENTRY_OVERHEAD, field: { name: name ?? UNKNOWN_NAME, value } };
}

/** STATIC_TABLE as lookup results, made once. */
const STATIC_ENTRIES: readonly Entry[] = STATIC_TABLE.map(([name, value]) => newEntry(name, value, name.length, value.length));
/** What an index into the entries this decoder never saw resolves to. */
const UNKNOWN_ENTRY: Entry = newEntry(undefined, undefined, 0, 0);

const utf8 = new TextDecoder();

class BlockError extends Error {}

export class HpackDecoder {
  /** Newest first: index 62 is entries.at(0). */
  private readonly entries = new NewestFirst<Entry>();
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
    const e = this.entries.at(index - STATIC_TABLE.length - 1);
    return e && { ...e.field };
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
    this.entries.clear();
    this.octets = 0;
    this.tailUnknown = true;
  }

  /** Decodes the header block block[from, to) (all of block by default). */
  decode(block: Uint8Array, from = 0, to = block.length): DecodedBlock {
    const out = newReusableBlock();
    this.decodeInto(block, from, to, out);
    return out.malformed === undefined ? { fields: out.fields, unknown: out.unknown } : out;
  }

  /** decode() into `out`, which holds this block's fields until the next call. */
  decodeInto(block: Uint8Array, from: number, to: number, out: ReusableBlock): void {
    // Filled by index, the length set at the end: the list keeps its capacity
    // (a length of 0 would release it).
    const fields = out.fields;
    let count = 0;
    let unknown = 0;
    let at = from;
    out.malformed = undefined;
    try {
      while (at < to) {
        const b = block[at]!;
        if (b & 0x80) {
          const index = readIntAt(block, at, to, 7);
          at = intEnd;
          if (index === 0) throw new BlockError('indexed field with index 0');
          const e = this.lookup(index);
          if (e.name === undefined || e.value === undefined) unknown++;
          fields[count++] = e.field;
        } else if ((b & 0xe0) === 0x20) {
          const size = readIntAt(block, at, to, 5);
          at = intEnd;
          this.resize(size);
        } else {
          const incremental = (b & 0xc0) === 0x40;
          const index = readIntAt(block, at, to, incremental ? 6 : 4);
          at = intEnd;
          let name: string | undefined;
          let nameOctets: number;
          if (index === 0) {
            name = readString(block, at, to);
            at = stringEnd;
            nameOctets = stringOctets;
          } else {
            const e = this.lookup(index);
            name = e.name;
            nameOctets = e.nameOctets;
          }
          const value = readString(block, at, to);
          at = stringEnd;
          if (name === undefined) unknown++;
          if (incremental) {
            const e = newEntry(name, value, nameOctets, stringOctets);
            fields[count++] = e.field;
            this.insert(e);
          } else {
            fields[count++] = { name: name ?? UNKNOWN_NAME, value };
          }
        }
      }
    } catch (e) {
      if (!(e instanceof BlockError)) throw e;
      // The rest of the block may have changed the peer's table.
      this.forget();
      out.malformed = e.message;
    }
    if (fields.length !== count) fields.length = count; // (setting a length is a runtime call)
    out.unknown = unknown;
  }

  /** The entry at `index` (>= 1). Bounds are checked before reading: a read past an array's end is slow in V8. */
  private lookup(index: number): Entry {
    if (index <= STATIC_ENTRIES.length) return STATIC_ENTRIES[index - 1]!;
    const e = this.entries.at(index - STATIC_ENTRIES.length - 1);
    if (e !== undefined) return e;
    if (this.tailUnknown) return UNKNOWN_ENTRY;
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
      this.entries.clear();
      this.octets = 0;
      return;
    }
    this.evictTo(this.maxSize - e.size);
    this.entries.addNewest(e);
    this.octets += e.size;
  }

  private evictTo(limit: number): void {
    const bound = Math.min(limit, TABLE_CAPACITY);
    while (this.octets > bound && this.entries.length > 0) {
      this.octets -= this.entries.removeOldest()!.size;
      // Evicted for our memory bound only: the peer still has it.
      if (limit > TABLE_CAPACITY) this.tailUnknown = true;
    }
  }
}

/** RFC 7541 5.1 integer with an N-bit prefix: [value, offset after it]. */
export function readInt(b: Uint8Array, at: number, prefixBits: number): [number, number] {
  const value = readIntAt(b, at, b.length, prefixBits);
  return [value, intEnd];
}

/** Where the integer readIntAt last read ended: no tuple per integer on the hot path. */
let intEnd = 0;

/** The integer at b[at] (the block ends at `end`). */
function readIntAt(b: Uint8Array, at: number, end: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  let value = b[at]! & max;
  at++;
  if (value < max) {
    intEnd = at;
    return value;
  }
  let shift = 0;
  for (;;) {
    if (at >= end) throw new BlockError('truncated integer');
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
  return to - from <= 8 ? shortText(bytes, from, to - from) : latin1Slice.call(bytes, from, to);
}

const fromCharCode = String.fromCharCode;

/**
 * Up to 8 ASCII octets as a string, in one builtin call: a third of what
 * the native latin1 slice costs for such short values (content-length,
 * :status, small numbers), which are a good part of the literals.
 */
function shortText(b: Uint8Array, i: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[i]!);
    case 2:
      return fromCharCode(b[i]!, b[i + 1]!);
    case 3:
      return fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!);
    case 4:
      return fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    case 5:
      return fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!);
    case 6:
      return fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
    case 7:
      return fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!);
    default:
      return fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
  }
}

/** Where the string readString last read ended, and its decoded octets (no object per string). */
let stringEnd = 0;
let stringOctets = 0;

/** The string literal at b[at] (the block ends at `blockEnd`); sets stringEnd and stringOctets. */
function readString(b: Uint8Array, at: number, blockEnd: number): string {
  if (at >= blockEnd) throw new BlockError('truncated string');
  const huffman = (b[at]! & 0x80) !== 0;
  const length = readIntAt(b, at, blockEnd, 7);
  const start = intEnd;
  const end = start + length;
  if (end > blockEnd) throw new BlockError('string longer than the block');
  stringEnd = end;
  if (!huffman) {
    stringOctets = length;
    return textOf(b, start, end);
  }
  const bound = huffmanDecodedBound(length);
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const n = decodeHuffmanInto(b, start, end, scratch);
  if (n < 0) throw new BlockError('bad Huffman code');
  stringOctets = n;
  return textOf(scratch, 0, n);
}
