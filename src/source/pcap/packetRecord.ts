/**
 * What a capture format hands on for each packet: where its bytes are in
 * the reader's window and how to read its time. One object, reused for
 * every packet; valid until the next call to `next`.
 */
import type { CaptureClock } from './clock.ts';
import type { ChunkReader } from './chunkReader.ts';

export interface PacketRecord {
  linkType: number;
  /** The packet's captured bytes are data[offset, offset + capLen). */
  data: Buffer;
  view: DataView;
  offset: number;
  capLen: number;
  /** Length of the packet on the wire (>= capLen when the snaplen cut it). */
  origLen: number;
  tsA: number;
  tsB: number;
  clock: CaptureClock;
  /** File offset of the record (for messages). */
  fileOffset: number;
}

export function newPacketRecord(clock: CaptureClock): PacketRecord {
  return { linkType: 0, data: Buffer.alloc(0), view: new DataView(new ArrayBuffer(0)), offset: 0, capLen: 0, origLen: 0, tsA: 0, tsB: 0, clock, fileOffset: 0 };
}

/** Results of CaptureFormat.next. */
export const PACKET = 1;
/** A block with no packet (interface description, statistics...): call again. */
export const NO_PACKET = 0;
export const END = -1;
/** The window holds less than `need` bytes: fill the reader and call again. */
export const NEED_MORE = -2;

export interface CaptureFormat {
  readonly name: 'pcap' | 'pcapng';
  /** Bytes the last NEED_MORE asked for (from the reader's `start`). */
  readonly need: number;
  /** Parses the next record at the reader's `start`; throws CaptureError on damage. */
  next(r: ChunkReader, rec: PacketRecord): number;
}
