/**
 * Packet timestamps as the formats store them, turned into nanoseconds
 * since the epoch only when an event needs one (a BigInt per packet would
 * be most of the cost of a pure-ACK packet).
 */

export interface CaptureClock {
  /** Nanoseconds since the epoch of a timestamp stored as the pair (a, b). */
  ns(a: number, b: number): bigint;
  /** The same, approximately, in seconds (for idle timeouts). */
  seconds(a: number, b: number): number;
}

/** Classic pcap: a = seconds, b = micro- or nanoseconds. */
export function pcapClock(nanosecond: boolean): CaptureClock {
  const scale = nanosecond ? 1 : 1000;
  // Packets come many to a second: the second's nanoseconds are made once
  // for all of them (one BigInt multiplication fewer per packet).
  let second = -1;
  let secondNs = 0n;
  return {
    ns: (a, b) => {
      if (a !== second) {
        second = a;
        secondNs = BigInt(a) * 1_000_000_000n;
      }
      return secondNs + BigInt(b * scale);
    },
    seconds: (a) => a,
  };
}

/**
 * pcapng: (a, b) = the high and low 32 bits of a count of units of
 * if_tsresol (10^-n or 2^-n seconds), plus if_tsoffset seconds.
 */
export function pcapngClock(tsresol: number, offsetSeconds: bigint): CaptureClock {
  const pow2 = (tsresol & 0x80) !== 0;
  const exp = tsresol & 0x7f;
  const offsetNs = offsetSeconds * 1_000_000_000n;
  const unitsPerSecond = pow2 ? 2 ** exp : 10 ** exp;
  let toNs: (units: bigint) => bigint;
  if (pow2) {
    const shift = BigInt(exp);
    toNs = (u) => (u * 1_000_000_000n) >> shift;
  } else if (exp <= 9) {
    const mul = 10n ** BigInt(9 - exp);
    toNs = (u) => u * mul;
  } else {
    const div = 10n ** BigInt(exp - 9);
    toNs = (u) => u / div;
  }
  const offsetSec = Number(offsetSeconds);
  return {
    ns: (a, b) => toNs((BigInt(a) << 32n) | BigInt(b)) + offsetNs,
    seconds: (a, b) => (a * 4294967296 + b) / unitsPerSecond + offsetSec,
  };
}

/** Default pcapng resolution: microseconds. */
export const PCAPNG_DEFAULT_TSRESOL = 6;
