/**
 * How much body follows a message head, and walking through it without
 * keeping it: by Content-Length, chunked transfer coding, or until the
 * connection closes. Body bytes are counted and skipped, so a body that
 * was only partly captured (or lost in a gap) is skipped by its declared
 * length all the same.
 */

export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'untilClose' };

/** Progress through one body. */
export class BodyReader {
  /** Body bytes seen (chunk framing excluded). */
  size = 0;
  private remaining: number;
  private chunkState: 'size' | 'data' | 'dataEnd' | 'trailers' = 'size';
  private readonly framing: BodyFraming;

  constructor(framing: BodyFraming) {
    this.framing = framing;
    this.remaining = framing.kind === 'length' ? framing.length : 0;
  }

  private chunkDone = false;

  /** The whole body has been read (never, for a body that ends at close). */
  get complete(): boolean {
    switch (this.framing.kind) {
      case 'none':
        return true;
      case 'length':
        return this.remaining === 0;
      case 'chunked':
        return this.chunkDone;
      case 'untilClose':
        return false;
    }
  }

  get endsAtClose(): boolean {
    return this.framing.kind === 'untilClose';
  }

  /**
   * Consumes body bytes from the front of `bytes`; returns how many it
   * consumed, or -1 if the chunk framing is malformed.
   */
  feed(bytes: Uint8Array): number {
    switch (this.framing.kind) {
      case 'none':
        return 0;
      case 'untilClose':
        this.size += bytes.length;
        return bytes.length;
      case 'length': {
        const n = Math.min(this.remaining, bytes.length);
        this.remaining -= n;
        this.size += n;
        return n;
      }
      case 'chunked':
        return this.feedChunked(bytes);
    }
  }

  /**
   * `length` body bytes are missing. True if the framing absorbs them (they
   * fall inside a length-known stretch); false if the message is lost.
   */
  skipGap(length: number): boolean {
    if (this.framing.kind === 'untilClose') {
      this.size += length;
      return true;
    }
    const inData = this.framing.kind === 'length' || (this.framing.kind === 'chunked' && this.chunkState === 'data');
    if (!inData || length > this.remaining) return false;
    this.remaining -= length;
    this.size += length;
    if (this.framing.kind === 'chunked' && this.remaining === 0) this.chunkState = 'dataEnd';
    return true;
  }

  private feedChunked(bytes: Uint8Array): number {
    let at = 0;
    while (at < bytes.length && !this.chunkDone) {
      if (this.chunkState === 'data') {
        const n = Math.min(this.remaining, bytes.length - at);
        at += n;
        this.remaining -= n;
        this.size += n;
        if (this.remaining === 0) this.chunkState = 'dataEnd';
        continue;
      }
      const lf = bytes.indexOf(0x0a, at);
      if (lf < 0) {
        // A size or trailer line longer than this is not HTTP.
        return bytes.length - at > 1024 ? -1 : at;
      }
      const line = Buffer.from(bytes.buffer, bytes.byteOffset + at, lf - at).toString('latin1').replace(/\r$/, '');
      at = lf + 1;
      if (this.chunkState === 'dataEnd') {
        if (line !== '') return -1;
        this.chunkState = 'size';
      } else if (this.chunkState === 'size') {
        const m = /^([0-9a-fA-F]{1,8})(?:\s*;.*)?\s*$/.exec(line);
        if (!m) return -1;
        this.remaining = Number.parseInt(m[1]!, 16);
        this.chunkState = this.remaining === 0 ? 'trailers' : 'data';
      } else if (line === '') {
        this.chunkDone = true; // end of trailers
      }
    }
    return at;
  }

}
