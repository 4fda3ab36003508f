/**
 * Long-running server processes a test starts (etcd, kube-apiserver, a
 * Kafka broker): output kept for error messages, readiness polled, and a
 * kill at exit for any still running, so a crashed test never leaves one
 * behind holding ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last 64 KiB of stderr and stdout. */
  log(): string;
  exited(): boolean;
  /** `signal` (default SIGTERM), then SIGKILL after `killAfterMs`; resolves once it exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

export function startProc(name: string, file: string, args: string[], killAfterMs = 10_000): Proc {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
  }
  let tail = '';
  const keep = (d: Buffer) => { tail = (tail + d.toString()).slice(-65536); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (e) => { spawnError = e; });
  const exit = once(child, 'exit').catch(() => undefined);
  child.once('exit', () => live.delete(child));
  const exited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;
  return {
    name,
    child,
    log: () => (spawnError ? `${spawnError.message}\n` : '') + tail,
    exited,
    async stop(signal = 'SIGTERM') {
      if (exited()) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

export function lastLines(log: string, n = 30): string {
  return log.trimEnd().split('\n').slice(-n).join('\n');
}

/** Polls `ready` until true; a process that exits first, or the timeout (the process is then stopped), throws with its log. */
export async function waitUntil(timeoutMs: number, proc: Proc, ready: () => Promise<boolean>, everyMs = 100): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.exited()) throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before it was ready:\n${lastLines(proc.log())}`);
    if (await ready()) return;
    if (performance.now() > deadline) {
      await proc.stop();
      throw new Error(`${proc.name} not ready after ${timeoutMs} ms:\n${lastLines(proc.log())}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
