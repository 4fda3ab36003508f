/**
 * A pcap or pcapng file as a source of the sensor's event model: packets
 * are read in chunks (memory does not grow with the file), decoded to TCP
 * segments, and reassembled into connection and data events, yielded a
 * batch at a time. A damaged file stops the read with a CaptureError that
 * names the offset, after every event before it has been yielded.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { SensorEvent } from '../events.ts';
import { CaptureError } from './captureError.ts';
import { ChunkReader } from './chunkReader.ts';
import { pcapClock } from './clock.ts';
import { Decoded, decode, newTcpSegment } from './packetDecoder.ts';
import { END, NEED_MORE, PACKET, newPacketRecord, type CaptureFormat } from './packetRecord.ts';
import { PCAP_GLOBAL_HEADER, PcapFormat, pcapMagic } from './pcapFormat.ts';
import { PcapngFormat } from './pcapngFormat.ts';
import { DEFAULT_REASSEMBLY_OPTIONS, TcpReassembler, type Perspective, type ReassemblyStats } from './tcpReassembler.ts';

export interface CaptureOptions {
  /** Whose view the events take: the server's (default) or the client's. */
  readonly perspective?: Perspective;
  /** Events per batch at most (default 1024). A batch also ends where a gap was emitted. */
  readonly batchSize?: number;
  /** Out-of-order segments held per direction before a hole is declared lost (default 64). */
  readonly holdSegments?: number;
  /** `comm` of every connection (default ''): packets name no process. */
  readonly comm?: string;
  /** Read window in bytes (default 1 MiB); tests use small ones to cross chunk boundaries. */
  readonly chunkBytes?: number;
}

export interface CaptureStats extends ReassemblyStats {
  format: 'pcap' | 'pcapng' | '';
  /** Packet records read, and their captured bytes. */
  packets: number;
  bytes: number;
  tcpPackets: number;
  /** Packets that are not TCP (UDP, ARP, ICMP...): counted, skipped. */
  skippedNonTcp: number;
  /** IPv4/IPv6 fragments carrying TCP: counted, skipped. */
  fragments: number;
  /** Packets the snaplen cut (captured < length on the wire). */
  truncatedPackets: number;
  /** Packets cut inside their IP or TCP header: skipped. */
  truncatedHeaders: number;
  /** Packets whose IP or TCP header is inconsistent: skipped. */
  malformed: number;
  /** Packets on a link type this reader does not decode (e.g. 802.11): skipped. */
  unsupportedLinkType: number;
  events: number;
}

const MAGIC_PCAPNG = [0x0a, 0x0d, 0x0d, 0x0a];

/** Whether these first bytes of a file (4 are enough) are a pcap or pcapng magic. */
export function isPacketCapture(firstBytes: Uint8Array): boolean {
  if (firstBytes.length < 4) return false;
  if (MAGIC_PCAPNG.every((b, i) => firstBytes[i] === b)) return true;
  return pcapMagic(firstBytes) !== undefined;
}

export class PacketCaptureSource {
  readonly file: string;
  readonly stats: CaptureStats;
  private readonly options: CaptureOptions;
  private readonly reassembler: TcpReassembler;

  constructor(file: string, options: CaptureOptions = {}) {
    this.file = file;
    this.options = options;
    const batchSize = options.batchSize ?? 1024;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    this.reassembler = new TcpReassembler({
      ...DEFAULT_REASSEMBLY_OPTIONS,
      perspective: options.perspective ?? 'server',
      holdSegments: options.holdSegments ?? DEFAULT_REASSEMBLY_OPTIONS.holdSegments,
      comm: options.comm ?? '',
    });
    const zero = { format: '' as const, packets: 0, bytes: 0, tcpPackets: 0, skippedNonTcp: 0, fragments: 0, truncatedPackets: 0, truncatedHeaders: 0, malformed: 0, unsupportedLinkType: 0, events: 0 };
    this.stats = Object.assign(zero, this.reassembler.stats);
  }

  /** The events, a batch at a time, in capture order; returns the statistics. */
  async *batches(): AsyncGenerator<readonly SensorEvent[], CaptureStats> {
    const batchSize = this.options.batchSize ?? 1024;
    const fh = await this.openFile();
    try {
      const r = new ChunkReader(fh, this.options.chunkBytes);
      const format = await this.detect(r);
      this.stats.format = format.name;
      const rec = newPacketRecord(pcapClock(false));
      const seg = newTcpSegment();
      const reasm = this.reassembler;
      const s = this.stats;
      for (;;) {
        let step: number;
        try {
          step = format.next(r, rec);
        } catch (err) {
          // What came before the damage is still the capture's: deliver it, then stop.
          reasm.finish();
          while (reasm.pending > 0) yield this.take(batchSize);
          throw err;
        }
        if (step === NEED_MORE) {
          await r.fill(format.need);
          continue;
        }
        if (step === END) break;
        if (step !== PACKET) continue;
        s.packets++;
        s.bytes += rec.capLen;
        if (rec.capLen < rec.origLen) s.truncatedPackets++;
        switch (decode(rec, seg)) {
          case Decoded.TCP:
            s.tcpPackets++;
            reasm.segment(rec, seg);
            while (reasm.ready(batchSize)) yield this.take(batchSize);
            break;
          case Decoded.NOT_TCP:
            s.skippedNonTcp++;
            break;
          case Decoded.FRAGMENT:
            s.fragments++;
            break;
          case Decoded.TRUNCATED:
            s.truncatedHeaders++;
            break;
          case Decoded.MALFORMED:
            s.malformed++;
            break;
          case Decoded.UNSUPPORTED_LINK:
            s.unsupportedLinkType++;
            break;
        }
      }
      reasm.finish();
      while (reasm.pending > 0) yield this.take(batchSize);
      return this.stats;
    } finally {
      await fh.close();
    }
  }

  private take(batchSize: number): SensorEvent[] {
    const events = this.reassembler.take(batchSize);
    this.stats.events += events.length;
    Object.assign(this.stats, this.reassembler.stats);
    return events;
  }

  private async openFile(): Promise<FileHandle> {
    try {
      return await open(this.file, 'r');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new CaptureError(this.file, -1, `cannot be read: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
    }
  }

  private async detect(r: ChunkReader): Promise<CaptureFormat> {
    await r.fill(PCAP_GLOBAL_HEADER);
    const first = r.buf.subarray(r.start, r.start + Math.min(4, r.available));
    if (r.available === 0) throw new CaptureError(this.file, -1, 'is empty, not a pcap or pcapng file');
    if (first.length === 4 && MAGIC_PCAPNG.every((b, i) => first[i] === b)) return new PcapngFormat(this.file);
    if (pcapMagic(first)) {
      if (r.available < PCAP_GLOBAL_HEADER) {
        throw new CaptureError(this.file, 0, `pcap global header cut short: the file has ${r.available} of its ${PCAP_GLOBAL_HEADER} bytes; the file is truncated`);
      }
      return new PcapFormat(this.file, r);
    }
    const hex = Buffer.from(first).toString('hex');
    const hint = first[0] === 0x1f && first[1] === 0x8b ? ' (gzip-compressed: gunzip it first)' : '';
    throw new CaptureError(this.file, 0, `not a pcap or pcapng file: magic 0x${hex}${hint}`);
  }
}

/** Reads a capture: `for await (const batch of readCapture(file))`; the generator returns the statistics. */
export function readCapture(file: string, options: CaptureOptions = {}): AsyncGenerator<readonly SensorEvent[], CaptureStats> {
  return new PacketCaptureSource(file, options).batches();
}
