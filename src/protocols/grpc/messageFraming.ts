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
  /**
   * The prefix so far, as numbers: its flag octet and its length octets
   * accumulated (no buffer per counter: two counters per HTTP/2 stream).
   */
  private prefixFlag = 0;
  private prefixLength = 0;
  private prefixHave = 0;
  /** Bytes of the current message body still to come. */
  private remaining = 0;

  /** DATA payload octets data[from, to) (all of data by default). */
  push(data: Uint8Array, from = 0, to = data.length): void {
    let at = from;
    while (at < to) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, to - at);
        this.remaining -= n;
        at += n;
        continue;
      }
      const octet = data[at++]!;
      if (this.prefixHave === 0) {
        this.prefixFlag = octet;
        this.prefixLength = 0;
      } else {
        this.prefixLength = this.prefixLength * 256 + octet;
      }
      if (++this.prefixHave === PREFIX_LENGTH) this.onPrefix();
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
    const length = this.prefixLength;
    this.count++;
    if (this.prefixFlag & 1) this.compressed++;
    this.bytes += length;
    this.remaining = length;
    this.prefixHave = 0;
  }
}
