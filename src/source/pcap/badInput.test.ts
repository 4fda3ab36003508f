/**
 * Damaged and foreign files: each stops with a CaptureError naming the file,
 * the byte offset and the problem, after the events before the damage have
 * been delivered. Never a hang, never a crash inside the reader.
 */
import { describe, expect, it } from 'vitest';
import { CaptureError } from './index.ts';
import { Conversation, dataOf, pcapFile, pcapngFile, readAll, tempCapture, timed } from './testing/captureBuilder.ts';

function packets() {
  const conv = new Conversation();
  return timed([...conv.handshake(), conv.c('GET / HTTP/1.1\r\n\r\n'), conv.s('HTTP/1.1 204 No Content\r\n\r\n')]);
}

const recordSize = (i: number) => 16 + packets()[i]!.data.length;
/** Offset of record `i` in a pcap file of packets(). */
const recordOffset = (i: number) => 24 + Array.from({ length: i }, (_, k) => recordSize(k)).reduce((a, b) => a + b, 0);

/** Offset of block `i` in a single-section pcapng file of packets() (SHB 28 bytes, IDB 20). */
function blockOffset(file: Buffer, i: number): number {
  let at = 0;
  for (let k = 0; k < i; k++) at += file.readUInt32LE(at + 4);
  return at;
}

describe('damaged files', () => {
  const cases: Array<{ name: string; bytes: () => Buffer; offset: number | ((b: Buffer) => number); message: RegExp; dataBefore: number }> = [
    {
      name: 'pcap cut inside a record',
      bytes: () => pcapFile(packets()).subarray(0, recordOffset(4) + 30),
      offset: recordOffset(4),
      message: /packet record cut short: the file ends after 30 of its \d+ bytes; the file is truncated/,
      dataBefore: 1,
    },
    {
      name: 'pcap cut inside a record header',
      bytes: () => pcapFile(packets()).subarray(0, recordOffset(4) + 5),
      offset: recordOffset(4),
      message: /record header cut short: the file ends after 5 of its 16 bytes/,
      dataBefore: 1,
    },
    {
      name: 'pcap record longer than the snaplen',
      bytes: () => {
        const b = pcapFile(packets(), { snaplen: 65535 });
        b.writeUInt32LE(0xffffffff, recordOffset(3) + 8);
        return b;
      },
      offset: recordOffset(3),
      message: /record length 4294967295 exceeds snaplen 65535; the file is corrupt or truncated/,
      dataBefore: 0,
    },
    {
      name: 'pcap record of 3 GB with a snaplen that allows it',
      bytes: () => {
        const b = pcapFile(packets(), { snaplen: 0xffffffff });
        b.writeUInt32LE(3_000_000_000, recordOffset(2) + 8);
        return b;
      },
      offset: recordOffset(2),
      message: /record length 3000000000 exceeds the 67108864-byte limit of a record/,
      dataBefore: 0,
    },
    {
      name: 'pcap global header cut short',
      bytes: () => pcapFile([]).subarray(0, 10),
      offset: 0,
      message: /pcap global header cut short/,
      dataBefore: 0,
    },
    {
      name: 'pcapng block length not a multiple of 4',
      bytes: () => {
        const b = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets() }]);
        b.writeUInt32LE(77, blockOffset(b, 6) + 4);
        return b;
      },
      offset: (b) => blockOffset(b, 6),
      message: /block length 77 is invalid/,
      dataBefore: 1,
    },
    {
      name: 'pcapng trailing length differs',
      bytes: () => {
        const b = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets() }]);
        const at = blockOffset(b, 5);
        b.writeUInt32LE(12345, at + b.readUInt32LE(at + 4) - 4);
        return b;
      },
      offset: (b) => blockOffset(b, 5),
      message: /does not match its trailing copy 12345; the file is corrupt/,
      dataBefore: 0,
    },
    {
      name: 'pcapng packet longer than its block',
      bytes: () => {
        const b = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets() }]);
        b.writeUInt32LE(5000, blockOffset(b, 6) + 20);
        return b;
      },
      offset: (b) => blockOffset(b, 6),
      message: /packet length 5000 exceeds its \d+-byte block/,
      dataBefore: 1,
    },
    {
      name: 'pcapng packet on an interface never described',
      bytes: () => pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets().map((p, i) => ({ ...p, iface: i === 4 ? 3 : 0 })) }]),
      offset: (b) => blockOffset(b, 6),
      message: /packet on interface 3, but this section describes 1/,
      dataBefore: 1,
    },
    {
      name: 'pcapng cut inside a block',
      bytes: () => {
        const b = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets() }]);
        return b.subarray(0, blockOffset(b, 6) + 40);
      },
      offset: (b) => blockOffset(b, 6),
      message: /-byte block cut short: the file ends after 40 of its \d+ bytes; the file is truncated/,
      dataBefore: 1,
    },
    {
      name: 'pcapng with a huge block length',
      bytes: () => {
        const b = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets() }]);
        b.writeUInt32LE(0xfffffff0, blockOffset(b, 2) + 4);
        return b;
      },
      offset: (b) => blockOffset(b, 2),
      message: /block length 4294967280 is invalid/,
      dataBefore: 0,
    },
    {
      name: 'not a capture',
      bytes: () => Buffer.from('{"format":"hydrophone-recording"}\n'),
      offset: 0,
      message: /not a pcap or pcapng file: magic 0x7b22666f/,
      dataBefore: 0,
    },
    {
      name: 'gzip-compressed capture',
      bytes: () => Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]),
      offset: 0,
      message: /gzip-compressed: gunzip it first/,
      dataBefore: 0,
    },
  ];

  it.each(cases)('$name', async ({ bytes, offset, message, dataBefore }) => {
    const b = bytes();
    const file = tempCapture(b);
    const { events, error } = await readAll(file);
    expect(error).toBeInstanceOf(CaptureError);
    const at = typeof offset === 'number' ? offset : offset(b);
    expect(error!.code).toBe('HP_CAPTURE_INVALID');
    expect(error!.offset).toBe(at);
    expect(error!.message.startsWith(`${file}: offset ${at}: `)).toBe(true);
    expect(error!.message).toMatch(message);
    expect(dataOf(events)).toHaveLength(dataBefore);
  });

  it('an empty or missing file', async () => {
    const empty = await readAll(Buffer.alloc(0));
    expect(empty.error?.message).toMatch(/is empty, not a pcap or pcapng file/);
    const missing = await readAll('/nonexistent/capture.pcap');
    expect(missing.error).toBeInstanceOf(CaptureError);
    expect(missing.error!.message).toMatch(/^\/nonexistent\/capture\.pcap: cannot be read: ENOENT/);
  });

  it('random bytes after a valid header end in an error or cleanly, never a hang', async () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 50; round++) {
      const good = round % 2 ? pcapFile(packets()) : pcapngFile([{ interfaces: [{ linkType: 1 }], packets: packets() }]);
      const bad = Buffer.from(good);
      for (let i = 0; i < 6; i++) bad[28 + Math.floor(rand() * (bad.length - 28))] = Math.floor(rand() * 256);
      const { error } = await readAll(bad.subarray(0, Math.floor(bad.length * (0.5 + rand() / 2))));
      if (error) expect(error).toBeInstanceOf(CaptureError);
    }
  });
});

describe('chunk boundaries', () => {
  it('a tiny read window gives the same events as the default, records crossing every boundary', async () => {
    const conv = new Conversation();
    const big = 'z'.repeat(3000);
    const ips = [...conv.handshake(), conv.c(big), conv.s(big), conv.c('tail')];
    for (const bytes of [pcapFile(timed(ips)), pcapngFile([{ interfaces: [{ linkType: 1 }], packets: timed(ips) }])]) {
      const whole = await readAll(bytes);
      for (const chunkBytes of [64, 100, 1000]) {
        const small = await readAll(bytes, { chunkBytes });
        expect(small.error).toBeUndefined();
        expect(dataOf(small.events)).toEqual(dataOf(whole.events));
      }
    }
  });

  it('batches hold at most batchSize events, in order', async () => {
    const conv = new Conversation();
    const ips = [...conv.handshake(), ...Array.from({ length: 20 }, (_, i) => conv.c(`m${i}`))];
    const { events, batches } = await readAll(pcapFile(timed(ips)), { batchSize: 3 });
    expect(batches).toBe(7);
    expect(dataOf(events).map((d) => d[2])).toEqual(Array.from({ length: 20 }, (_, i) => (i < 10 ? 2 * i : 20 + 3 * (i - 10))));
  });
});
