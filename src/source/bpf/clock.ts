/**
 * bpf_ktime_get_ns() is CLOCK_MONOTONIC, as is process.hrtime; the offset to
 * the wall clock is taken once at start, so event times keep the kernel's
 * precision and order even if the wall clock is stepped later.
 */
import type { ClockConverter } from './decoder.ts';

export function monotonicToWallClock(): ClockConverter {
  const wallNs = BigInt(Date.now()) * 1_000_000n;
  const monoNs = process.hrtime.bigint();
  const offset = wallNs - monoNs;
  return (mono) => mono + offset;
}
