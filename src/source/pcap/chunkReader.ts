/**
 * A window over a file, read in chunks: the formats parse records straight
 * out of `buf` (a DataView over the same bytes, no copies), and ask for a
 * refill only when a record crosses the end of the window. Memory is the
 * window (grown only for a record larger than it), never the file.
 */
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 1 << 20;
/** No record of any capture format we read is larger; beyond it, the length is corrupt. */
export const MAX_RECORD = 64 << 20;

export class ChunkReader {
  buf: Buffer;
  view: DataView;
  /** Window: valid bytes are buf[start, end); `start` is where the parser is. */
  start = 0;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  private readonly fh: FileHandle;

  constructor(fh: FileHandle, chunk = CHUNK) {
    this.fh = fh;
    this.buf = Buffer.allocUnsafe(chunk);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** File offset of the parser's position. */
  get offset(): number {
    return this.base + this.start;
  }

  /**
   * Makes at least `n` bytes available from `start` (fewer only at the end
   * of the file). Returns the bytes available. `n` must be <= MAX_RECORD.
   */
  async fill(n: number): Promise<number> {
    if (this.available >= n || this.eof) return this.available;
    // A record's length is read before its bytes: a corrupt one (up to
    // MAX_RECORD) must not size the window, so it grows only to what the
    // file still holds; the read below then meets the end, and the format
    // reports the record cut short.
    const want = n > this.buf.length ? Math.min(n, await this.bytesLeft()) : n;
    if (want > this.buf.length) {
      let size = this.buf.length;
      while (size < want) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      this.buf.copy(bigger, 0, this.start, this.end);
      this.replace(bigger);
    } else if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    while (this.available < n && !this.eof) {
      if (this.end === this.buf.length) {
        // Full, grown as far as the file reached: it ends here (or grew since; then it is read as cut short).
        this.eof = true;
        break;
      }
      const { bytesRead } = await this.fh.read(this.buf, this.end, this.buf.length - this.end, this.base + this.end);
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
    }
    return this.available;
  }

  /** Bytes the file holds from the parser's position; unknown (Infinity) for a pipe or device. */
  private async bytesLeft(): Promise<number> {
    const st = await this.fh.stat();
    return st.isFile() ? Math.max(0, st.size - this.offset) : Infinity;
  }

  private replace(bigger: Buffer): void {
    this.base += this.start;
    this.end -= this.start;
    this.start = 0;
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }
}
