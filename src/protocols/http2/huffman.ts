/**
 * The HPACK Huffman code (RFC 7541 Appendix B), decoding only.
 *
 * The code of Appendix B is canonical: codes of the same length are
 * consecutive in symbol order, and each length starts where the previous
 * one ended, shifted left. So the table is fully given by the code length
 * of each of the 257 symbols (256 = EOS), transcribed below; the codes
 * themselves are rebuilt from it and checked against the RFC's values in
 * the tests.
 */

// Code length in bits of symbols 0..256, in rows of 16.
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0x00
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0x10
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 0x20  ' ' .. '/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 0x30  '0' .. '?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 0x40  '@' .. 'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 0x50  'P' .. '_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 0x60  '`' .. 'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 0x70  'p' .. 0x7f
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 0x80
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 0x90
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 0xa0
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 0xb0
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 0xc0
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 0xd0
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 0xe0
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 0xf0
  30, // EOS
];

export const EOS = 256;
const MAX_LENGTH = 30;

interface CanonicalTable {
  /** Symbols sorted by (code length, symbol). */
  readonly symbols: Uint16Array;
  /** Per length: first code, number of codes, index of the first symbol in `symbols`. */
  readonly firstCode: Int32Array;
  readonly count: Int32Array;
  readonly offset: Int32Array;
}

function buildTable(): CanonicalTable {
  const count = new Int32Array(MAX_LENGTH + 1);
  for (const len of CODE_LENGTHS) count[len]!++;
  const symbols = new Uint16Array(CODE_LENGTHS.length);
  const offset = new Int32Array(MAX_LENGTH + 2);
  for (let len = 1; len <= MAX_LENGTH; len++) offset[len + 1] = offset[len]! + count[len]!;
  const fill = offset.slice();
  CODE_LENGTHS.forEach((len, sym) => {
    symbols[fill[len]!++] = sym;
  });
  const firstCode = new Int32Array(MAX_LENGTH + 1);
  let code = 0;
  for (let len = 1; len <= MAX_LENGTH; len++) {
    code = (code + count[len - 1]!) << 1;
    firstCode[len] = code;
  }
  return { symbols, firstCode, count, offset };
}

const TABLE = buildTable();

/** The code of each symbol as [code, length], rebuilt from the lengths (for tests and encoders in tests). */
export function huffmanCode(symbol: number): readonly [number, number] {
  const len = CODE_LENGTHS[symbol];
  if (len === undefined) throw new RangeError(`no symbol ${symbol}`);
  let rank = 0;
  for (let s = 0; s < symbol; s++) if (CODE_LENGTHS[s] === len) rank++;
  return [TABLE.firstCode[len]! + rank, len];
}

/**
 * Codes of up to 8 bits (every letter, digit and common punctuation) by
 * the 8-bit prefix that starts with them: symbol << 4 | length, 0 for a
 * prefix that starts a longer code. Decoding a byte at a time this way is
 * several times faster than walking the code bit by bit.
 */
const SHORT_CODES: Uint16Array = (() => {
  const lut = new Uint16Array(256);
  for (let sym = 0; sym < EOS; sym++) {
    const len = CODE_LENGTHS[sym]!;
    if (len > 8) continue;
    const [code] = huffmanCode(sym);
    const first = code << (8 - len);
    for (let p = first; p < first + (1 << (8 - len)); p++) lut[p] = (sym << 4) | len;
  }
  return lut;
})();

/**
 * Decodes a Huffman-encoded string literal into its octets. Returns undefined when the
 * input is not a valid encoding: the EOS symbol inside, padding longer
 * than 7 bits, or padding that is not the most significant bits of EOS.
 */
export function decodeHuffman(input: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(huffmanDecodedBound(input.length));
  const n = decodeHuffmanInto(input, 0, input.length, out);
  return n < 0 ? undefined : out.subarray(0, n);
}

/** The most octets `length` Huffman-coded octets can decode to (the shortest code has 5 bits). */
export function huffmanDecodedBound(length: number): number {
  return Math.ceil((length * 8) / 5);
}

/**
 * decodeHuffman over input[from, to), into `out` (at least
 * huffmanDecodedBound long): the number of octets, or -1 when invalid. No
 * allocation: HPACK decodes a literal per header field.
 */
export function decodeHuffmanInto(input: Uint8Array, from: number, to: number, out: Uint8Array): number {
  let n = 0;
  // Unread bits, right-aligned in acc (at most 31 of them).
  let acc = 0;
  let bits = 0;
  let at = from;
  const { firstCode, count, offset, symbols } = TABLE;
  for (;;) {
    while (bits <= 23 && at < to) {
      acc = ((acc << 8) | input[at++]!) & 0x7fffffff;
      bits += 8;
    }
    if (bits === 0) break;
    // Fast path: a code of at most 8 bits at the front (at the end, the
    // missing bits are read as ones, as padding would be).
    const prefix = bits >= 8 ? (acc >>> (bits - 8)) & 0xff : ((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff;
    const short = SHORT_CODES[prefix]!;
    if (short !== 0 && (short & 15) <= bits) {
      out[n++] = short >> 4;
      bits -= short & 15;
      acc &= (1 << bits) - 1;
      continue;
    }
    // Slow path: a longer code, bit by bit (refilling as bits are taken).
    let code = 0;
    let len = 0;
    for (;;) {
      if (bits === 0) {
        if (at >= to) {
          // Input ended inside a code: valid only as padding, at most 7
          // bits, all ones (the most significant bits of EOS).
          return len <= 7 && code === (1 << len) - 1 ? n : -1;
        }
        acc = input[at++]!;
        bits = 8;
      }
      bits--;
      code = (code << 1) | ((acc >>> bits) & 1);
      acc &= (1 << bits) - 1;
      len++;
      const rank = code - firstCode[len]!;
      if (rank >= 0 && rank < count[len]!) {
        const sym = symbols[offset[len]! + rank]!;
        if (sym === EOS) return -1;
        out[n++] = sym;
        break;
      }
      if (len >= MAX_LENGTH) return -1;
    }
  }
  return n;
}
