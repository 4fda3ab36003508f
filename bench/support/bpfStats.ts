/**
 * Time the kernel spends inside BPF programs, from its own accounting
 * (kernel.bpf_stats_enabled: run_time_ns and run_cnt per program, read
 * with bpftool). It separates what the sensor's programs cost from the
 * rest of what attaching costs (tracepoint dispatch, wake-ups, caches).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export interface ProgramRuns {
  runTimeNs: number;
  runCount: number;
}

/** Runs fn with BPF run-time statistics on, and restores the setting after. */
export async function withBpfStats<T>(fn: () => Promise<T>): Promise<T> {
  const previous = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '1');
  try {
    return await fn();
  } finally {
    writeFileSync(SYSCTL, previous);
  }
}

/** Cumulative run time and count of the programs with these ids. */
export function programRuns(ids: readonly number[]): Map<number, ProgramRuns> {
  const wanted = new Set(ids);
  const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const runs = new Map<number, ProgramRuns>();
  for (const p of JSON.parse(out) as Array<{ id: number; run_time_ns?: number; run_cnt?: number }>) {
    if (wanted.has(p.id)) runs.set(p.id, { runTimeNs: p.run_time_ns ?? 0, runCount: p.run_cnt ?? 0 });
  }
  return runs;
}
