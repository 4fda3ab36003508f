/**
 * How busy the whole machine was over an interval, from /proc/stat: on a
 * small shared host another workload (a test run, a noisy neighbour's
 * steal time) changes a throughput figure as much as the code measured.
 */
import { readFileSync } from 'node:fs';

export interface CpuSample {
  busyTicks: number;
  stealTicks: number;
  atMs: number;
}

const TICKS_PER_S = 100; // USER_HZ on every Linux architecture Node supports

export function sampleCpu(): CpuSample {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return { busyTicks: user + nice + system + irq + softirq, stealTicks: steal, atMs: performance.now() };
}

/** Cores busy on average (all processes) and cores stolen by the hypervisor, between two samples. */
export function coresBetween(a: CpuSample, b: CpuSample): { busy: number; steal: number } {
  const seconds = (b.atMs - a.atMs) / 1000;
  if (seconds <= 0) return { busy: 0, steal: 0 };
  return {
    busy: (b.busyTicks - a.busyTicks) / TICKS_PER_S / seconds,
    steal: (b.stealTicks - a.stealTicks) / TICKS_PER_S / seconds,
  };
}

/** Cores busy between two samples beyond `ownCpuSeconds` (what the measured processes used themselves). */
export function otherCores(a: CpuSample, b: CpuSample, ownCpuSeconds: number): number {
  const seconds = (b.atMs - a.atMs) / 1000;
  if (seconds <= 0) return 0;
  return Math.max(0, ((b.busyTicks - a.busyTicks) / TICKS_PER_S - ownCpuSeconds) / seconds);
}
