import { describe, expect, it } from 'vitest';
import { decodeHuffman, EOS, huffmanCode } from './huffman.ts';
import { hex } from './testing.ts';

describe('Huffman code (RFC 7541 Appendix B)', () => {
  // Codes copied from the RFC's table, spread over every code length.
  it.each([
    [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [22, 0x3ffffffe, 30],
    [32, 0x14, 6], [33, 0x3f8, 10], [38, 0xf8, 8], [39, 0x7fa, 11], [48, 0x0, 5], [58, 0x5c, 7],
    [60, 0x7ffc, 15], [62, 0xffb, 12], [92, 0x7fff0, 19], [94, 0x3ffc, 14], [97, 0x3, 5], [116, 0x9, 5],
    [126, 0x1ffd, 13], [127, 0xffffffc, 28], [128, 0xfffe6, 20], [153, 0x1fffdc, 21], [192, 0x3ffffe0, 26],
    [199, 0x1ffffec, 25], [203, 0x7ffffde, 27], [220, 0xffffffd, 28], [255, 0x3ffffee, 26], [EOS, 0x3fffffff, 30],
  ])('symbol %i is %s/%i bits', (sym, code, len) => {
    expect(huffmanCode(sym)).toEqual([code, len]);
  });

  it('is complete (Kraft sum of exactly 1)', () => {
    let sum = 0;
    for (let s = 0; s <= EOS; s++) sum += 2 ** -huffmanCode(s)[1];
    expect(sum).toBe(1);
  });

  it('decodes every symbol alone, padded with ones', () => {
    for (let s = 0; s < EOS; s++) {
      const [code, len] = huffmanCode(s);
      const bits = Math.ceil(len / 8) * 8;
      const padded = BigInt(code) * 2n ** BigInt(bits - len) + (2n ** BigInt(bits - len) - 1n);
      const bytes = hex(padded.toString(16).padStart(bits / 4, '0'));
      expect(decodeHuffman(bytes)).toEqual(Uint8Array.of(s));
    }
  });

  // RFC 7541 C.4 and C.6 string literals.
  it.each([
    ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
    ['a8eb 1064 9cbf', 'no-cache'],
    ['25a8 49e9 5ba9 7d7f', 'custom-key'],
    ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
    ['6402', '302'],
    ['aec3 771a 4b', 'private'],
    ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
    ['640e ff', '307'],
    ['9bd9 ab', 'gzip'],
    ['94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
      'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ['', ''],
  ])('%s -> %s', (h, text) => {
    expect(Buffer.from(decodeHuffman(hex(h))!).toString('latin1')).toBe(text);
  });

  it.each([
    ['EOS inside the string', 'ffff fffc'],
    ['padding longer than 7 bits', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff ff'],
    ['padding that is not ones', '64'],
    ['a lone zero byte (not a prefix of EOS)', '00'],
  ])('rejects %s', (_what, h) => {
    expect(decodeHuffman(hex(h))).toBeUndefined();
  });
});
