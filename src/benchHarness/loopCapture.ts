/**
 * A capture repeated N times in one classic pcap file, each copy shifted in
 * time after the previous one and onto other IP addresses (so every copy's
 * connections are new 4-tuples to us and to tshark, not retransmissions),
 * so small corpus files make a measurement that lasts, and a 1 GiB file
 * can be built from them. pcapng inputs are
 * first converted with editcap (Wireshark's tool, shipped with tshark).
 */
import { closeSync, openSync, readFileSync, writeSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode, newTcpSegment, Decoded } from '../source/pcap/packetDecoder.ts';
import { newPacketRecord } from '../source/pcap/packetRecord.ts';
import { pcapClock } from '../source/pcap/clock.ts';

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

export interface LoopedCapture {
  file: string;
  /** Removes the temporary files. */
  dispose(): void;
}

function classicPcap(file: string, dir: string): Buffer {
  const head = readFileSync(file).subarray(0, 4);
  if (head.length === 4 && head.readUInt32BE(0) === 0x0a0d0d0a) {
    const converted = path.join(dir, 'converted.pcap');
    execFileSync('editcap', ['-F', 'pcap', file, converted], { stdio: 'pipe' });
    return readFileSync(converted);
  }
  return readFileSync(file);
}

export function loopCapture(file: string, times: number): LoopedCapture {
  const dir = mkdtempSync(path.join(tmpdir(), 'hp-bench-'));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    const buf = classicPcap(file, dir);
    const le = buf.readUInt32LE(0) === MAGIC_US || buf.readUInt32LE(0) === MAGIC_NS;
    const magic = le ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
    if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error(`${file}: not a pcap file`);
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const put = (b: Buffer, o: number, v: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
    // Whole records only: a file cut short ends at its last complete one.
    const linkType = u32(20);
    const records: Array<{ at: number; end: number; sec: number; addrs: number[] }> = [];
    const rec = newPacketRecord(pcapClock(false));
    const seg = newTcpSegment();
    for (let at = 24; at + 16 <= buf.length; ) {
      const end = at + 16 + u32(at + 8);
      if (end > buf.length) break;
      Object.assign(rec, { linkType, data: buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), offset: at + 16, capLen: end - at - 16, origLen: u32(at + 12) });
      // Two middle bytes of each address change per copy (checksums are not
      // verified by either reader): 65536 distinct copies.
      const addrs = decode(rec, seg) === Decoded.TCP ? [seg.srcAddr + seg.addrLen - 2, seg.dstAddr + seg.addrLen - 2] : [];
      records.push({ at, end, sec: u32(at), addrs });
      at = end;
    }
    if (records.length === 0) throw new Error(`${file}: no complete packet record`);
    const span = records.at(-1)!.sec - records[0]!.sec + 1;
    const out = path.join(dir, `${path.basename(file).replace(/\.pcapng?$/, '')}.x${times}.pcap`);
    const fd = openSync(out, 'w');
    try {
      writeSync(fd, buf.subarray(0, 24));
      const body = buf.subarray(records[0]!.at, records.at(-1)!.end);
      for (let i = 0; i < times; i++) {
        const copy = Buffer.from(body);
        for (const r of records) {
          const o = r.at - records[0]!.at;
          put(copy, o, r.sec + i * span);
          for (const a of r.addrs) {
            copy[a - records[0]!.at] = (buf[a]! + i) & 0xff;
            copy[a - 1 - records[0]!.at] = (buf[a - 1]! + (i >> 8)) & 0xff;
          }
        }
        writeSync(fd, copy);
      }
    } finally {
      closeSync(fd);
    }
    return { file: out, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
