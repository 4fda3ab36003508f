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
  /**
   * The chunks are chunks[first, end). Consumed slots are cleared and the
   * indices moved, rather than shift()ing the list: a queue usually holds
   * one chunk at a time, and shifting out the last one gives up the list's
   * storage, so every packet paid for a new one.
   */
  private chunks: Array<Chunk | undefined> = [];
  private first = 0;
  private end = 0;
  private head = 0; // offset into chunks[first]
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array, tsNs: bigint): void {
    if (bytes.length === 0) return;
    const chunks = this.chunks;
    if (this.end === chunks.length && this.first > 0) {
      // Full up to its end: move the live chunks down to the start.
      chunks.copyWithin(0, this.first, this.end);
      this.end -= this.first;
      chunks.fill(undefined, this.end);
      this.first = 0;
    }
    const c = { bytes, tsNs };
    if (this.end === chunks.length) chunks.push(c);
    else chunks[this.end] = c;
    this.end++;
    this.size += bytes.length;
  }

  /** Up to `max` bytes from the front, contiguous (copies only across chunks). */
  peek(max = this.size): Uint8Array {
    const n = Math.min(max, this.size);
    const first = this.chunks[this.first];
    if (this.size === 0 || !first) return new Uint8Array(0);
    if (first.bytes.length - this.head >= n) return first.bytes.subarray(this.head, this.head + n);
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = this.first; i < this.end && at < n; i++) {
      const c = this.chunks[i]!;
      const from = i === this.first ? this.head : 0;
      const take = Math.min(c.bytes.length - from, n - at);
      out.set(c.bytes.subarray(from, from + take), at);
      at += take;
    }
    return out;
  }

  /**
   * Where the bytes of the last contiguous() call start in the array it
   * returned: an offset beside the array instead of a view of it, because
   * a view (subarray) per frame is a visible part of a parser's cost.
   */
  viewOffset = 0;

  /**
   * The first `n` bytes (at most length) contiguous: an array holding them
   * at [viewOffset, viewOffset + n). That is the first chunk's own array
   * when they lie in it (nearly always: nothing is copied or allocated),
   * else a copy. Never write to it; it stays valid after consume().
   */
  contiguous(n: number): Uint8Array {
    const first = this.chunks[this.first];
    if (this.size > 0 && first && first.bytes.length - this.head >= n) {
      this.viewOffset = this.head;
      return first.bytes;
    }
    this.viewOffset = 0;
    return this.peek(n);
  }

  /** The first chunk's array (its unconsumed bytes start at frontOffset), or undefined when empty. */
  frontArray(): Uint8Array | undefined {
    return this.size > 0 ? this.chunks[this.first]!.bytes : undefined;
  }

  /** Where the unconsumed bytes of frontArray() start. */
  get frontOffset(): number {
    return this.head;
  }

  /** When the first chunk arrived (0n when empty). */
  frontTsNs(): bigint {
    return this.size > 0 ? this.chunks[this.first]!.tsNs : 0n;
  }

  /** The first chunk's unconsumed bytes and their time, without copying. */
  front(): { readonly bytes: Uint8Array; readonly tsNs: bigint } | undefined {
    if (this.size === 0) return undefined;
    const c = this.chunks[this.first]!;
    return this.head === 0 ? c : { bytes: c.bytes.subarray(this.head), tsNs: c.tsNs };
  }

  /** When the byte at `offset` from the front arrived. */
  tsAt(offset: number): bigint {
    if (this.size === 0) return 0n;
    let at = -this.head;
    for (let i = this.first; i < this.end; i++) {
      const c = this.chunks[i]!;
      if (offset < at + c.bytes.length) return c.tsNs;
      at += c.bytes.length;
    }
    return this.chunks[this.end - 1]!.tsNs;
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const avail = c.bytes.length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks[this.first++] = undefined;
      this.head = 0;
    }
    if (this.size === 0) {
      // Empty: start again at the front of the list (its storage is kept).
      this.first = 0;
      this.end = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.end = 0;
    this.head = 0;
    this.size = 0;
  }

  /** Index of `needle` in the first `limit` bytes, or -1. */
  indexOf(needle: Uint8Array, limit = this.size): number {
    const view = this.peek(limit);
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength).indexOf(needle);
  }
}
