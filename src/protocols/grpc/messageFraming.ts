/**
 * gRPC length-prefixed messages (PROTOCOL-HTTP2.md "Length-Prefixed-Message"):
 * a 1-byte compressed flag, a 4-byte big-endian length, then the message.
 * Messages run across DATA frames freely, so this counts them from the
 * DATA payload of one direction of a stream, fed in any cut.
 */

const PREFIX_LENGTH = 5;

export class GrpcMessageCounter {
  /** Messages whose prefix was seen (compressed ones included). */
  count = 0;
  compressed = 0;
  /** Sum of the message lengths given in the prefixes (prefixes excluded). */
  bytes = 0;
  /** Bytes were lost where the framing cannot be followed: counts are a lower bound. */
  lost = false;
  private prefix = new Uint8Array(PREFIX_LENGTH);
  private prefixHave = 0;
  /** Bytes of the current message body still to come. */
  private remaining = 0;

  push(data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, data.length - at);
        this.remaining -= n;
        at += n;
        continue;
      }
      const n = Math.min(PREFIX_LENGTH - this.prefixHave, data.length - at);
      this.prefix.set(data.subarray(at, at + n), this.prefixHave);
      this.prefixHave += n;
      at += n;
      if (this.prefixHave === PREFIX_LENGTH) this.onPrefix();
    }
  }

  /** `n` bytes of this direction are missing. */
  skip(n: number): void {
    if (this.remaining >= n && this.prefixHave === 0) {
      this.remaining -= n;
      return;
    }
    this.lost = true;
    this.remaining = 0;
    this.prefixHave = 0;
  }

  /** True when the data ended between messages. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.prefixHave === 0;
  }

  private onPrefix(): void {
    const p = this.prefix;
    const length = ((p[1]! << 24) >>> 0) + (p[2]! << 16) + (p[3]! << 8) + p[4]!;
    this.count++;
    if (p[0]! & 1) this.compressed++;
    this.bytes += length;
    this.remaining = length;
    this.prefixHave = 0;
  }
}
