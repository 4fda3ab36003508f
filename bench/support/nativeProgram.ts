/**
 * The benchmarks' load generators: C programs under bench/native, compiled
 * on demand into build/bench, each run as a child that connects its
 * sockets, prints "ready <pid>" and waits for a line on stdin. The bench
 * attaches a sensor filtered to that pid in between, so the sensor sees
 * every hooked syscall of the measured loop and none of the setup.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';
import { compileC } from '../../test/support/helperPrograms.ts';

/** Compiles bench/native/<name>.c when its binary is missing or older; returns the binary. */
export function nativeProgram(name: string, extraFlags: readonly string[] = []): string {
  return compileC(path.join(projectRoot, 'bench/native', `${name}.c`), path.join(projectRoot, 'build/bench'), extraFlags);
}

/** One run of a generator: ready() gives its pid, go() starts the loop and resolves with its JSON result. */
export class ReadyChild<Result> {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly lines: AsyncIterator<string>;
  private readonly exited: Promise<number | null>;
  private readonly label: string;
  private stderr = '';

  constructor(bin: string, args: readonly string[]) {
    this.label = `${path.basename(bin)} ${args.join(' ')}`;
    this.child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }

  private async line(what: string): Promise<string> {
    const next = await this.lines.next();
    if (next.done) {
      const code = await this.exited;
      throw new Error(`${this.label} exited (${code}) before ${what}: ${this.stderr.trim() || 'no message'}`);
    }
    return next.value;
  }

  /** Waits for "ready <pid>". */
  async ready(): Promise<number> {
    const line = await this.line('it was ready');
    const match = /^ready (\d+)$/.exec(line);
    if (!match) throw new Error(`${this.label}: expected "ready <pid>", got ${JSON.stringify(line)}`);
    return Number(match[1]);
  }

  /** Starts the measured loop; resolves with its result once it has exited. */
  async go(): Promise<Result> {
    this.child.stdin.end('go\n');
    const line = await this.line('printing its result');
    const code = await this.exited;
    if (code !== 0) throw new Error(`${this.label} exited with ${code}: ${this.stderr.trim()}`);
    return JSON.parse(line) as Result;
  }

  /** For error paths: the child must not outlive the bench. */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
