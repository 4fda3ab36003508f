/**
 * The unconsumed bytes of one side of a connection, as a list of chunks
 * that remember when they were seen. Parsers look at the front, consume
 * what they parsed, and ask when a given byte arrived (span timing).
 * Chunks are not copied until a parser needs a contiguous view.
 */

interface Chunk {
  bytes: Uint8Array;
  tsNs: bigint;
}

export class ByteQueue {
  private chunks: Chunk[] = [];
  private head = 0; // offset into chunks[0]
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array, tsNs: bigint): void {
    if (bytes.length === 0) return;
    this.chunks.push({ bytes, tsNs });
    this.size += bytes.length;
  }

  /** Up to `max` bytes from the front, contiguous (copies only across chunks). */
  peek(max = this.size): Uint8Array {
    const n = Math.min(max, this.size);
    const first = this.chunks[0];
    if (!first) return new Uint8Array(0);
    if (first.bytes.length - this.head >= n) return first.bytes.subarray(this.head, this.head + n);
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = 0; i < this.chunks.length && at < n; i++) {
      const c = this.chunks[i]!;
      const from = i === 0 ? this.head : 0;
      const take = Math.min(c.bytes.length - from, n - at);
      out.set(c.bytes.subarray(from, from + take), at);
      at += take;
    }
    return out;
  }

  /** The first chunk's unconsumed bytes and their time, without copying. */
  front(): { readonly bytes: Uint8Array; readonly tsNs: bigint } | undefined {
    const c = this.chunks[0];
    return c && (this.head === 0 ? c : { bytes: c.bytes.subarray(this.head), tsNs: c.tsNs });
  }

  /** When the byte at `offset` from the front arrived. */
  tsAt(offset: number): bigint {
    let at = -this.head;
    for (const c of this.chunks) {
      if (offset < at + c.bytes.length) return c.tsNs;
      at += c.bytes.length;
    }
    return this.chunks.at(-1)?.tsNs ?? 0n;
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.bytes.length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.size = 0;
  }

  /** Index of `needle` in the first `limit` bytes, or -1. */
  indexOf(needle: Uint8Array, limit = this.size): number {
    const view = this.peek(limit);
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength).indexOf(needle);
  }
}
