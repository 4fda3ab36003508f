/**
 * Other Hydrophone sensors loaded on this machine (another bench, a test
 * run, a running capture) slow every syscall they hook and make a run's
 * figures wrong. Each sensor loads exactly one program named hp_proc_exec,
 * so counting those, minus our own, tells how many others there are.
 */
import { execFileSync } from 'node:child_process';

/** Sensors loaded besides `own` of ours; undefined when bpftool cannot tell. */
export function otherSensors(own: number): number | undefined {
  try {
    const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
    const programs = JSON.parse(out) as Array<{ name?: string }>;
    return Math.max(0, programs.filter((p) => p.name === 'hp_proc_exec').length - own);
  } catch {
    return undefined;
  }
}
