/**
 * The pcap and pcapng reader (readDecryptedCapture, what `hydrophone
 * replay` reads), and the pipeline behind it, on mutations of real and
 * built captures: cut at every kind of boundary, header fields and block
 * lengths corrupted (huge snaplen and caplen, 2^31, lengths just under
 * and over the record limit), wrong magics, bytes flipped, inserted and
 * deleted, link, IP and TCP headers damaged. The reader either reads or
 * stops with a CaptureError naming the file and an offset inside it;
 * nothing else escapes, no case hangs, and no buffer is allocated in
 * proportion to a corrupt length (what it allocates is bounded by the
 * file's own size).
 */
import fc from 'fast-check';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { CaptureError, readDecryptedCapture } from '../../src/source/pcap/index.ts';
import type { Perspective } from '../../src/source/pcap/index.ts';
import { Conversation, frame, pcapFile, pcapngFile, timed, type Link } from '../../src/source/pcap/testing/captureBuilder.ts';
import type { Span } from '../../src/spans/span.ts';
import type { CaptureFile, Corpus } from './corpus.ts';
import { captureLayout, setField } from './captureLayout.ts';
import { type FuzzProperty, guardedAsync, seedFrom, withinTime } from './fuzzProperty.ts';
import { scratchFile, writeScratch } from './scratchFiles.ts';
import { checkSpan, Violation } from './wellFormed.ts';

/** Values a corrupt 32-bit length or count takes: limits, their neighbours, sign bits. */
const HOSTILE_U32 = [0, 1, 4, 11, 12, 13, 15, 16, 27, 28, 0xffff, 0x10000, 0x40000, 0xffffff, 0x3fffffc, 0x4000000, 0x4000004, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff] as const;
const MAGICS = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1, 0x0a0d0d0a, 0x1f8b0800, 0, 0xffffffff] as const;

export type CaptureMutation =
  | { readonly kind: 'truncate'; readonly boundary: number; readonly delta: number }
  | { readonly kind: 'field'; readonly field: number; readonly value: number; readonly relative: boolean }
  | { readonly kind: 'magic'; readonly value: number }
  | { readonly kind: 'packetHeader'; readonly packet: number; readonly at: number; readonly value: number }
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'repeat'; readonly at: number; readonly length: number };

const index = fc.nat({ max: 1 << 20 });

const mutationArb: fc.Arbitrary<CaptureMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), boundary: index, delta: fc.integer({ min: -12, max: 12 }) }) },
  { weight: 4, arbitrary: fc.record({
    kind: fc.constant('field' as const), field: index,
    value: fc.oneof(fc.constantFrom(...HOSTILE_U32), fc.nat({ max: 0xffffffff })), relative: fc.boolean(),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('magic' as const), value: fc.oneof(fc.constantFrom(...MAGICS), fc.nat({ max: 0xffffffff })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('packetHeader' as const), packet: index, at: fc.nat({ max: 80 }), value: fc.constantFrom(0x00, 0x01, 0x06, 0x0f, 0x2c, 0x40, 0x45, 0x4f, 0x50, 0x60, 0x81, 0xf0, 0xff) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: index, bit: fc.nat({ max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: index, bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: index, length: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), at: index, length: fc.integer({ min: 1, max: 256 }) }) },
);

/** Applies mutations in order; each is aimed with the layout of the file as it is by then. */
export function mutateCapture(original: Buffer, mutations: readonly CaptureMutation[]): Buffer {
  let b = Buffer.from(original);
  for (const m of mutations) {
    const layout = captureLayout(b);
    const at = (n: number) => (b.length === 0 ? 0 : n % b.length);
    switch (m.kind) {
      case 'truncate': {
        const boundary = layout.boundaries[m.boundary % layout.boundaries.length] ?? 0;
        b = b.subarray(0, Math.max(0, Math.min(b.length, boundary + m.delta)));
        break;
      }
      case 'field': {
        const f = layout.fields[m.field % Math.max(1, layout.fields.length)];
        // Relative: the field's own value nudged (off-by-one lengths), else an absolute value.
        if (f) setField(b, f, m.relative ? (f.width === 4 ? (f.le ? b.readUInt32LE(f.offset) : b.readUInt32BE(f.offset)) : 0) + (m.value % 9) - 4 : m.value);
        break;
      }
      case 'magic':
        if (b.length >= 4) b.writeUInt32BE(m.value >>> 0, 0);
        break;
      case 'packetHeader': {
        const p = layout.packets[m.packet % Math.max(1, layout.packets.length)];
        if (p !== undefined && p + m.at < b.length) b[p + m.at] = m.value;
        break;
      }
      case 'flip':
        if (b.length > 0) b[at(m.at)]! ^= 1 << m.bit;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at(m.at)), m.bytes, b.subarray(at(m.at))]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at(m.at)), b.subarray(at(m.at) + m.length)]);
        break;
      case 'repeat':
        b = Buffer.concat([b.subarray(0, at(m.at) + m.length), b.subarray(at(m.at))]);
        break;
    }
  }
  return b;
}

/** Built captures for what the real ones lack: big-endian, nanosecond and multi-section files, SPB and OPB, every link type. */
export function builtCaptures(): CaptureFile[] {
  const packets = (link: Link) => {
    const conv = new Conversation();
    return timed([
      ...conv.handshake(), conv.c('GET /a HTTP/1.1\r\nHost: h\r\n\r\n'), conv.s('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
      conv.c('POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'), conv.s('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n'), conv.cFin(), conv.sFin(),
    ], link);
  };
  const v6 = new Conversation({ client: ['fd00::1', 50000], server: ['fd00::2', 8080] });
  const v6Packets = timed([...v6.handshake(), v6.c('GET / HTTP/1.1\r\n\r\n'), v6.s('HTTP/1.1 204 No Content\r\n\r\n')], 'sll2');
  return [
    { name: 'built big-endian nanosecond pcap', bytes: pcapFile(packets('ethernet'), { le: false, ns: true }) },
    { name: 'built pcap, linux cooked', bytes: pcapFile(packets('sll'), { linkType: 113 }) },
    {
      name: 'built two-section pcapng (little- and big-endian, SPB, OPB, unknown blocks)',
      bytes: pcapngFile([
        { interfaces: [{ linkType: 1, tsresol: 9 }, { linkType: 276, snaplen: 65535 }], packets: packets('ethernet').map((p, i) => ({ ...p, block: i % 3 === 0 ? ('opb' as const) : ('epb' as const) })), unknownBlocks: [5, 0x80000001] },
        { le: false, interfaces: [{ linkType: 276, tsresol: 0x86 }], packets: v6Packets.map((p, i) => ({ ...p, block: i === 1 ? ('spb' as const) : ('epb' as const) })) },
      ]),
    },
    { name: 'built pcap, raw IP with a VLAN-free frame', bytes: pcapFile(timed([frame('raw', packets('raw')[3]!.data)], 'raw'), { linkType: 101 }) },
  ];
}

/** Largest single Buffer.alloc / allocUnsafe / allocUnsafeSlow made while `run` runs. */
export async function largestAllocation<T>(run: () => Promise<T>): Promise<{ value: T; largest: number }> {
  const originals = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  let largest = 0;
  const watch = <F extends (size: number, ...rest: never[]) => Buffer>(f: F): F =>
    ((size: number, ...rest: never[]) => {
      if (size > largest) largest = size;
      return f.call(Buffer, size, ...rest);
    }) as F;
  Buffer.alloc = watch(originals.alloc);
  Buffer.allocUnsafe = watch(originals.allocUnsafe);
  Buffer.allocUnsafeSlow = watch(originals.allocUnsafeSlow);
  try {
    return { value: await run(), largest };
  } finally {
    Object.assign(Buffer, originals);
  }
}

export interface CaptureOutcome {
  readonly spans: Span[];
  readonly error?: CaptureError;
  readonly largestAllocation: number;
}

/** Reads a capture file into a pipeline; a CaptureError is returned, anything else thrown. */
export async function readIntoPipeline(file: string, capture: Pick<CaptureFile, 'keylog'>, perspective: Perspective, chunkBytes: number): Promise<CaptureOutcome> {
  const spans: Span[] = [];
  const pipeline = new Pipeline({ write: (s) => void spans.push(...s), close: async () => {} });
  const { value: error, largest } = await largestAllocation(async () => {
    try {
      for await (const batch of readDecryptedCapture(file, { perspective, comm: 'fuzz', chunkBytes, ...(capture.keylog ? { keylog: capture.keylog } : {}) })) pipeline.accept(batch);
      return undefined;
    } catch (err) {
      if (err instanceof CaptureError) return err;
      throw new Violation(`reading ${file} threw ${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)}, not a CaptureError`);
    } finally {
      await pipeline.close();
    }
  });
  return { spans, ...(error ? { error } : {}), largestAllocation: largest };
}

/** The most the reader may allocate at once for a file: its window, or twice the file (a record can be no longer). */
export const allocationBound = (chunkBytes: number, fileBytes: number) => Math.max(chunkBytes, 2 * fileBytes, 256 * 1024);

/**
 * Writes `bytes` to `file` and reads it into a pipeline: quickly; ending or
 * stopping with a CaptureError that names the file and an offset inside
 * it; allocating no more than the file could need; making well-formed spans.
 */
export async function readAndCheck(file: string, bytes: Buffer, capture: CaptureFile, perspective: Perspective, chunkBytes: number): Promise<CaptureOutcome> {
  writeScratch(file, bytes);
  const start = performance.now();
  const outcome = await readIntoPipeline(file, capture, perspective, chunkBytes);
  withinTime(`reading ${bytes.length} bytes of ${capture.name}, changed`, performance.now() - start, 3_000 + bytes.length / 1_000);
  const e = outcome.error;
  if (e) {
    if (e.file !== file) throw new Violation(`CaptureError names ${e.file}, not ${file}`);
    if (!(Number.isInteger(e.offset) && e.offset >= -1 && e.offset <= bytes.length)) throw new Violation(`CaptureError offset ${e.offset} is outside the ${bytes.length}-byte file`);
    if (e.offset >= 0 && !e.message.includes(`offset ${e.offset}`)) throw new Violation(`CaptureError message does not name its offset: ${e.message}`);
  }
  const bound = allocationBound(chunkBytes, bytes.length);
  if (outcome.largestAllocation > bound) {
    throw new Violation(`reading a ${bytes.length}-byte file allocated ${outcome.largestAllocation} bytes at once (bound ${bound}): a corrupt length was trusted${e ? ` before: ${e.message}` : ''}`);
  }
  for (const s of outcome.spans) checkSpan(s);
  return outcome;
}

export function captureProperties(corpus: Corpus): FuzzProperty[] {
  const captures = [...corpus.captures, ...builtCaptures()];
  const file = scratchFile('mutated-capture');
  const name = 'captures: mutated pcap and pcapng files read or stop with a CaptureError at an offset, bounded and quick';
  return [{
    name,
    group: 'captures',
    budget: { runs: 300, timeLimitMs: 5_000 },
    property: fc.asyncProperty(
      seedFrom(captures, (c) => c.name),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      fc.constantFrom<Perspective>('server', 'client'),
      fc.constantFrom(64, 1000, 4096, 1 << 20),
      guardedAsync(name, async (capture, mutations, perspective, chunkBytes) => {
        await readAndCheck(file, mutateCapture(capture.bytes, mutations), capture, perspective, chunkBytes);
      }),
    ),
  }];
}
