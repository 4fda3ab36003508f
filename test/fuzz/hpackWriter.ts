/**
 * An HPACK encoder (RFC 7541) for the privacy properties: each field is
 * written the way the generated plan says (indexed from the static or
 * dynamic table, a literal with or without indexing or never indexed, its
 * name by index or literal, Huffman or raw), with a dynamic table kept as
 * a peer's encoder keeps it, so a later field (or block) can refer to a
 * sensitive entry by index. Only what a test needs: no compression choices.
 */
import { STATIC_TABLE, DEFAULT_TABLE_SIZE } from '../../src/protocols/http2/hpack.ts';
import { EOS, huffmanCode } from '../../src/protocols/http2/huffman.ts';
import { intPrefix } from '../../src/protocols/http2/testing.ts';

/** How one field goes on the wire. */
export interface FieldEncoding {
  /** 'incremental' adds the field to the dynamic table (6.2.1); 'without' (6.2.2); 'never' (6.2.3). */
  readonly literal: 'incremental' | 'without' | 'never';
  /** Refer to the name by its static or dynamic index when there is one. */
  readonly nameByIndex: boolean;
  /** The whole field as one index (6.1) when the table holds it; else a literal. */
  readonly indexedIfPresent: boolean;
  readonly huffmanName: boolean;
  readonly huffmanValue: boolean;
}

/** Huffman codes of every octet, made once. */
const CODES: ReadonlyArray<readonly [number, number]> = Array.from({ length: EOS }, (_, s) => huffmanCode(s));

function huffman(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    const [code, len] = CODES[b]!;
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  // Padding: the most significant bits of EOS (all ones).
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return out;
}

function string(out: number[], text: string, useHuffman: boolean): void {
  const raw = Buffer.from(text, 'latin1');
  if (useHuffman) {
    const coded = huffman(raw);
    intPrefix(out, coded.length, 7, 0x80);
    out.push(...coded);
  } else {
    intPrefix(out, raw.length, 7, 0);
    out.push(...raw);
  }
}

const ENTRY_OVERHEAD = 32;

/** One direction's encoder: its dynamic table lives across the blocks it writes. */
export class HpackWriter {
  /** Newest first (index 62 is [0]). */
  private readonly table: Array<readonly [string, string]> = [];
  private size = 0;
  private maxSize = DEFAULT_TABLE_SIZE;

  /** A header block of `fields`, each encoded as its plan says; `tableSize` first, when given (4.2). */
  block(fields: ReadonlyArray<readonly [string, string, FieldEncoding]>, tableSize?: number): Uint8Array {
    const out: number[] = [];
    if (tableSize !== undefined) {
      intPrefix(out, tableSize, 5, 0x20);
      this.maxSize = tableSize;
      this.evictTo(tableSize);
    }
    for (const [name, value, how] of fields) this.field(out, name, value, how);
    return Uint8Array.from(out);
  }

  private field(out: number[], name: string, value: string, how: FieldEncoding): void {
    if (how.indexedIfPresent) {
      const whole = this.indexOf(name, value);
      if (whole > 0) {
        intPrefix(out, whole, 7, 0x80);
        return;
      }
    }
    const nameIndex = how.nameByIndex ? this.indexOf(name, undefined) : 0;
    const [prefixBits, high] = how.literal === 'incremental' ? [6, 0x40] : how.literal === 'without' ? [4, 0x00] : [4, 0x10];
    intPrefix(out, nameIndex, prefixBits, high);
    if (nameIndex === 0) string(out, name, how.huffmanName);
    string(out, value, how.huffmanValue);
    if (how.literal === 'incremental') this.insert(name, value);
  }

  /** The index of the field (value given) or of its name (value undefined), static first; 0 when none. */
  private indexOf(name: string, value: string | undefined): number {
    const s = STATIC_TABLE.findIndex(([n, v]) => n === name && (value === undefined || v === value));
    if (s >= 0) return s + 1;
    const d = this.table.findIndex(([n, v]) => n === name && (value === undefined || v === value));
    return d >= 0 ? STATIC_TABLE.length + 1 + d : 0;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      this.table.length = 0;
      this.size = 0;
      return;
    }
    this.evictTo(this.maxSize - size);
    this.table.unshift([name, value]);
    this.size += size;
  }

  private evictTo(limit: number): void {
    while (this.size > limit && this.table.length > 0) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
    }
  }
}
