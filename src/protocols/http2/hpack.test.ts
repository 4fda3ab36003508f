import { describe, expect, it } from 'vitest';
import { HpackDecoder, readInt, UNKNOWN_NAME } from './hpack.ts';
import type { HeaderField } from './hpack.ts';
import { hex } from './testing.ts';

const f = (name: string, value: string | undefined): HeaderField => ({ name, value });
const table = (d: HpackDecoder): HeaderField[] => {
  const out: HeaderField[] = [];
  for (let i = 62; d.dynamicEntry(i); i++) out.push(d.dynamicEntry(i)!);
  return out;
};

describe('HPACK integers (RFC 7541 C.1)', () => {
  it.each([
    ['0a', 5, 10, 1],
    ['1f9a0a', 5, 1337, 3],
    ['2a', 8, 42, 1],
  ])('%s with a %i-bit prefix is %i', (h, bits, value, next) => {
    expect(readInt(hex(h), 0, bits)).toEqual([value, next]);
  });
});

describe('HPACK field representations (RFC 7541 C.2)', () => {
  it.each([
    ['C.2.1 literal with indexing', '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', [f('custom-key', 'custom-header')], [f('custom-key', 'custom-header')], 55],
    ['C.2.2 literal without indexing', '040c 2f73 616d 706c 652f 7061 7468', [f(':path', '/sample/path')], [], 0],
    ['C.2.3 literal never indexed', '1008 7061 7373 776f 7264 0673 6563 7265 74', [f('password', 'secret')], [], 0],
    ['C.2.4 indexed', '82', [f(':method', 'GET')], [], 0],
  ])('%s', (_name, h, fields, dyn, size) => {
    const d = new HpackDecoder(true);
    expect(d.decode(hex(h))).toEqual({ fields, unknown: 0 });
    expect(table(d)).toEqual(dyn);
    expect(d.tableSize).toBe(size);
  });
});

interface Step {
  readonly block: string;
  readonly fields: HeaderField[];
  readonly table: HeaderField[];
  readonly size: number;
}

const AUTH = f(':authority', 'www.example.com');
const REQUESTS: Step[] = [
  { block: '', fields: [f(':method', 'GET'), f(':scheme', 'http'), f(':path', '/'), AUTH], table: [AUTH], size: 57 },
  { block: '', fields: [f(':method', 'GET'), f(':scheme', 'http'), f(':path', '/'), AUTH, f('cache-control', 'no-cache')], table: [f('cache-control', 'no-cache'), AUTH], size: 110 },
  {
    block: '',
    fields: [f(':method', 'GET'), f(':scheme', 'https'), f(':path', '/index.html'), AUTH, f('custom-key', 'custom-value')],
    table: [f('custom-key', 'custom-value'), f('cache-control', 'no-cache'), AUTH],
    size: 164,
  },
];
const C3 = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
const C4 = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];

const D21 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const D22 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = f('location', 'https://www.example.com');
const COOKIE = f('set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1');
const RESPONSES: Step[] = [
  { block: '', fields: [f(':status', '302'), f('cache-control', 'private'), f('date', D21), LOC], table: [LOC, f('date', D21), f('cache-control', 'private'), f(':status', '302')], size: 222 },
  { block: '', fields: [f(':status', '307'), f('cache-control', 'private'), f('date', D21), LOC], table: [f(':status', '307'), LOC, f('date', D21), f('cache-control', 'private')], size: 222 },
  {
    block: '',
    fields: [f(':status', '200'), f('cache-control', 'private'), f('date', D22), LOC, f('content-encoding', 'gzip'), COOKIE],
    table: [COOKIE, f('content-encoding', 'gzip'), f('date', D22)],
    size: 215,
  },
];
const C5 = [
  '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '4803 3330 37c1 c0bf',
  '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
];
const C6 = [
  '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
  '4883 640e ffc1 c0bf',
  '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
];

describe.each([
  ['C.3 requests', C3, REQUESTS, 4096],
  ['C.4 requests with Huffman', C4, REQUESTS, 4096],
  ['C.5 responses, eviction at 256 octets', C5, RESPONSES, 256],
  ['C.6 responses with Huffman, eviction at 256 octets', C6, RESPONSES, 256],
])('RFC 7541 %s', (_name, blocks, steps, tableSize) => {
  it('decode in sequence with one dynamic table', () => {
    const d = new HpackDecoder(true);
    d.setSettingsLimit(tableSize);
    steps.forEach((step, i) => {
      expect(d.decode(hex(blocks[i]!))).toEqual({ fields: step.fields, unknown: 0 });
      expect(table(d)).toEqual(step.table);
      expect(d.tableSize).toBe(step.size);
    });
  });
});

describe('HPACK size updates and bounds', () => {
  it('a size update evicts, and zero empties the table', () => {
    const d = new HpackDecoder(true);
    d.decode(hex(C3[0]!));
    d.decode(hex(C3[1]!));
    expect(d.decode(hex('3f22'))).toEqual({ fields: [], unknown: 0 }); // 001 11111 + 34 -> 65
    expect(d.tableMaxSize).toBe(65);
    expect(table(d)).toEqual([f('cache-control', 'no-cache')]);
    d.decode(hex('20'));
    expect(d.tableLength).toBe(0);
  });

  it('an entry larger than the table empties it', () => {
    const d = new HpackDecoder(true);
    d.decode(hex(C3[0]!));
    d.decode(hex('3f11')); // max 48
    expect(d.tableLength).toBe(0);
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(d.tableLength).toBe(0);
  });

  it('a lowered SETTINGS_HEADER_TABLE_SIZE drops what can no longer be referred to', () => {
    const d = new HpackDecoder(true);
    d.decode(hex(C3[0]!));
    d.decode(hex(C3[1]!));
    d.setSettingsLimit(60);
    expect(table(d)).toEqual([f('cache-control', 'no-cache')]);
  });
});

describe('HPACK without the state of the connection', () => {
  it('resolves static entries and marks dynamic ones unknown', () => {
    const d = new HpackDecoder(false);
    // :status 200 (static 8), then dynamic 62, then a literal with an unknown indexed name (63).
    const r = d.decode(hex('88 be 7f00 0378 7978'));
    expect(r).toEqual({ fields: [f(':status', '200'), f(UNKNOWN_NAME, undefined), f(UNKNOWN_NAME, 'xyx')], unknown: 2 });
  });

  it('entries inserted since it lost track resolve; older ones stay unknown', () => {
    const d = new HpackDecoder(false);
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(d.decode(hex('be bf'))).toEqual({ fields: [f('custom-key', 'custom-header'), f(UNKNOWN_NAME, undefined)], unknown: 1 });
  });

  it('forget() after a gap: nothing held is trusted any more', () => {
    const d = new HpackDecoder(true);
    d.decode(hex(C3[0]!));
    d.forget();
    expect(d.trusted).toBe(false);
    expect(d.decode(hex('be'))).toEqual({ fields: [f(UNKNOWN_NAME, undefined)], unknown: 1 });
  });

  it.each([
    ['index 0', '80'],
    ['a truncated integer', '7f'],
    ['a huge integer', '7fffffffffff0f'],
    ['a string longer than the block', '0005 6162'],
    ['a bad Huffman string', '0081 00 00'],
    ['a reference past a trusted table', 'c0'],
  ])('reports %s as malformed, keeping what came before', (_what, h) => {
    const d = new HpackDecoder(true);
    const r = d.decode(hex('82' + h));
    expect(r.fields[0]).toEqual(f(':method', 'GET'));
    expect(r.malformed).toBeTypeOf('string');
    expect(d.trusted).toBe(false);
  });
});
