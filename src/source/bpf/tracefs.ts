/**
 * Syscall tracepoints need tracefs mounted; a fresh host often has it
 * unmounted. Mounting it is what `mount -t tracefs` would do as root.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const MOUNT_POINTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

export function tracefsMounted(): boolean {
  return MOUNT_POINTS.some((m) => existsSync(`${m}/events/syscalls`));
}

/** Ensures tracefs is mounted. Returns what it did, or throws with the fix. */
export function ensureTracefs(): 'already-mounted' | 'mounted' {
  if (tracefsMounted()) return 'already-mounted';
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', MOUNT_POINTS[0]!], { stdio: 'pipe' });
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw Object.assign(
      new Error(`tracefs is not mounted and mounting it failed (${detail}): run 'mount -t tracefs nodev /sys/kernel/tracing' as root, or mount the host's /sys/kernel/tracing into the sensor's container`),
      { code: 'HP_TRACEFS_MISSING' },
    );
  }
  if (!tracefsMounted()) {
    throw Object.assign(new Error('tracefs mounted but /sys/kernel/tracing/events/syscalls is missing: this kernel lacks CONFIG_FTRACE_SYSCALLS'), { code: 'HP_TRACEFS_MISSING' });
  }
  return 'mounted';
}
