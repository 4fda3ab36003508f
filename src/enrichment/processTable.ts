/**
 * What /proc says about a process, read once when its first connection
 * opens (while it surely exists): its executable (comm is not enough:
 * programs rename their threads, and Node calls its main thread
 * "MainThread"), its container (from its cgroup), and its command line
 * only when configured (it can carry secrets). Bounded; forgotten when the
 * process exits.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { containerOfProcCgroup, type ContainerIdentity } from './container/cgroupContainer.ts';

export interface ProcessInfo {
  /** Basename of the executable, or the comm when /proc has nothing. */
  readonly name: string;
  /** Full path, when known. */
  readonly path?: string;
  readonly container?: ContainerIdentity;
  /** Arguments joined by spaces; only with `commandLine: true`. */
  readonly commandLine?: string;
}

export interface ProcessTableOptions {
  /** null: never look at /proc (replaying a recording or a capture: its pids are history). */
  readonly procRoot?: string | null;
  readonly max?: number;
  /** Read /proc/<pid>/cmdline (off by default: arguments can hold secrets). */
  readonly commandLine?: boolean;
}

/** Longest command line kept. */
const MAX_COMMAND_LINE = 1024;

export class ProcessTable {
  private readonly byPid = new Map<number, ProcessInfo>();
  private readonly procRoot: string | null;
  private readonly max: number;
  private readonly commandLine: boolean;

  constructor(options: ProcessTableOptions = {}) {
    this.procRoot = options.procRoot === undefined ? '/proc' : options.procRoot;
    this.max = options.max ?? 8192;
    this.commandLine = options.commandLine ?? false;
  }

  /** Looks the process up if not known yet; `comm` is the fallback name. */
  observe(pid: number, comm: string): ProcessInfo {
    const known = this.byPid.get(pid);
    if (known) return known;
    const found = this.procRoot === null ? { name: comm } : this.read(pid, comm, this.procRoot);
    if (this.byPid.size >= this.max) this.byPid.delete(this.byPid.keys().next().value!);
    this.byPid.set(pid, found);
    return found;
  }

  private read(pid: number, comm: string, root: string): ProcessInfo {
    let name = comm;
    let exe: string | undefined;
    try {
      exe = readlinkSync(`${root}/${pid}/exe`).replace(/ \(deleted\)$/, '');
      name = path.basename(exe);
    } catch {
      // Gone already, or a kernel thread: the comm is all there is.
    }
    let container: ContainerIdentity | undefined;
    try {
      container = containerOfProcCgroup(readFileSync(`${root}/${pid}/cgroup`, 'utf8'));
    } catch {
      // Gone: no container known.
    }
    let commandLine: string | undefined;
    if (this.commandLine) {
      try {
        commandLine = readFileSync(`${root}/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').replaceAll('\0', ' ').slice(0, MAX_COMMAND_LINE);
      } catch {
        // Gone.
      }
    }
    return { name, ...(exe ? { path: exe } : {}), ...(container ? { container } : {}), ...(commandLine ? { commandLine } : {}) };
  }

  get(pid: number): ProcessInfo | undefined {
    return this.byPid.get(pid);
  }

  forget(pid: number): void {
    this.byPid.delete(pid);
  }
}
