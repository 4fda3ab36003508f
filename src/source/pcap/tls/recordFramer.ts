/**
 * Cuts one direction's byte stream into TLS records, whatever the chunking.
 * Buffers at most one record; anything that cannot be a record stops it.
 */

/** RFC 5246 §6.2.3: TLSCiphertext.length is at most 2^14 + 2048. */
export const MAX_RECORD_FRAGMENT = (1 << 14) + 2048;
export const RECORD_HEADER_LENGTH = 5;

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  heartbeat: 24,
} as const;

export interface TlsRecord {
  readonly type: number;
  /** The 5-byte header (TLS 1.3 authenticates it as additional data). */
  readonly header: Uint8Array;
  readonly fragment: Uint8Array;
  /** Timestamp of the chunk that completed the record. */
  readonly tsNs: bigint;
}

export class RecordFramer {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Why the stream can no longer be framed; set once. */
  malformed: string | undefined;

  get buffered(): number {
    return this.#buffered;
  }

  /** Drops the partial record, e.g. after a gap. */
  reset(): void {
    this.#chunks = [];
    this.#buffered = 0;
  }

  push(bytes: Uint8Array, tsNs: bigint): TlsRecord[] {
    const out: TlsRecord[] = [];
    if (this.malformed !== undefined || bytes.length === 0) return out;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    while (this.#buffered >= RECORD_HEADER_LENGTH) {
      const head = this.#peek(RECORD_HEADER_LENGTH);
      const type = head[0]!;
      const length = (head[3]! << 8) | head[4]!;
      if (type < ContentType.changeCipherSpec || type > ContentType.heartbeat || head[1] !== 3) {
        this.malformed = `not a TLS record header (${Buffer.from(head).toString('hex')})`;
        this.reset();
        break;
      }
      if (length > MAX_RECORD_FRAGMENT) {
        this.malformed = `record claims ${length} bytes (limit ${MAX_RECORD_FRAGMENT})`;
        this.reset();
        break;
      }
      if (this.#buffered < RECORD_HEADER_LENGTH + length) break;
      const whole = this.#take(RECORD_HEADER_LENGTH + length);
      out.push({
        type,
        header: whole.subarray(0, RECORD_HEADER_LENGTH),
        fragment: whole.subarray(RECORD_HEADER_LENGTH),
        tsNs,
      });
    }
    return out;
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Uint8Array {
    let whole = this.#peek(n);
    const first = this.#chunks[0]!;
    whole = Uint8Array.from(whole); // own copy: callers keep plaintext views of it
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return whole;
  }
}
