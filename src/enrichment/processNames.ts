/**
 * A process's executable (from /proc/<pid>/exe), looked up once when its
 * first connection opens, while the process surely exists. comm is not
 * enough: programs rename their threads, and Node calls its main thread
 * "MainThread". Bounded; forgotten when the process exits.
 */
import { readlinkSync } from 'node:fs';
import path from 'node:path';

export interface ProcessName {
  /** Basename of the executable, or the comm when /proc has nothing. */
  readonly name: string;
  /** Full path, when known. */
  readonly path?: string;
}

export class ProcessNames {
  private readonly byPid = new Map<number, ProcessName>();
  private readonly procRoot: string | null;
  private readonly max: number;

  /** procRoot null: never look at /proc (replaying a recording: its pids are history). */
  constructor(procRoot: string | null = '/proc', max = 8192) {
    this.procRoot = procRoot;
    this.max = max;
  }

  /** Looks the process up if not known yet; `comm` is the fallback. */
  observe(pid: number, comm: string): ProcessName {
    const known = this.byPid.get(pid);
    if (known) return known;
    let found: ProcessName = { name: comm };
    if (this.procRoot !== null) try {
      const exe = readlinkSync(`${this.procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, '');
      found = { name: path.basename(exe), path: exe };
    } catch {
      // Gone already, or a kernel thread: the comm is all there is.
    }
    if (this.byPid.size >= this.max) this.byPid.delete(this.byPid.keys().next().value!);
    this.byPid.set(pid, found);
    return found;
  }

  get(pid: number): ProcessName | undefined {
    return this.byPid.get(pid);
  }

  forget(pid: number): void {
    this.byPid.delete(pid);
  }
}
