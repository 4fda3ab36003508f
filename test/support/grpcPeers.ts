/**
 * The gRPC echo peers of test/peers (Go, Python, Node), as command lines.
 * The first call runs test/peers/prepare.sh, which builds what is missing
 * into ~/.cache/hydrophone and only hashes a few files when warm.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/native/addon.ts';
import { node24 } from './peers.ts';

export const peersDir = path.join(projectRoot, 'test/peers');

export interface CommandLine {
  readonly cmd: string;
  readonly args: string[];
}

export type GrpcImplementation = 'go' | 'python' | 'node';

/** `server(port)` listens on 127.0.0.1:port; `client(target)` runs the scripted calls and prints a JSON summary. */
export interface GrpcPeers {
  goServer(port: number): CommandLine;
  goClient(target: string): CommandLine;
  pyServer(port: number): CommandLine;
  pyClient(target: string): CommandLine;
  nodeServer(port: number): CommandLine;
  nodeClient(target: string): CommandLine;
  /** The same, by implementation. */
  server(impl: GrpcImplementation, port: number): CommandLine;
  client(impl: GrpcImplementation, target: string): CommandLine;
}

/** One call of a client's JSON summary. */
export interface GrpcCallSummary {
  method: string;
  code: number;
  message?: string;
  responses: number;
}

export interface GrpcClientSummary {
  client: GrpcImplementation;
  target: string;
  calls: GrpcCallSummary[];
}

let prepared: Promise<GrpcPeers> | undefined;
let built: Promise<Map<string, string>> | undefined;

/** Builds the peers on first use (minutes when cold, well under a second when warm). */
export function grpcPeers(): Promise<GrpcPeers> {
  prepared ??= prepare();
  return prepared;
}

/** What prepare.sh printed: name -> path (go, go_nodwarf, go_pie, python). Built once per test file. */
export function preparedPeerPaths(): Promise<Map<string, string>> {
  built ??= (async () => {
    const script = path.join(peersDir, 'prepare.sh');
    const { stdout } = await promisify(execFile)('sh', [script], { maxBuffer: 1 << 20 }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`${script} failed: ${err.stderr || err.message}`);
    });
    return new Map(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  })();
  return built;
}

async function prepare(): Promise<GrpcPeers> {
  const script = path.join(peersDir, 'prepare.sh');
  const paths = await preparedPeerPaths();
  const go = paths.get('go');
  const python = paths.get('python');
  if (!go || !python) throw new Error(`${script} printed no go= or python= line: ${[...paths].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const pyScript = path.join(peersDir, 'python/echo.py');
  const nodeScript = path.join(peersDir, 'node/echo.ts');
  const lines: Record<GrpcImplementation, (role: 'server' | 'client', where: string) => CommandLine> = {
    go: (role, where) => ({ cmd: go, args: [role, where] }),
    python: (role, where) => ({ cmd: python, args: [pyScript, role, where] }),
    node: (role, where) => ({ cmd: node24, args: ['--disable-warning=ExperimentalWarning', nodeScript, role, where] }),
  };
  const server = (impl: GrpcImplementation, port: number) => lines[impl]('server', String(port));
  const client = (impl: GrpcImplementation, target: string) => lines[impl]('client', target);
  return {
    goServer: (port) => server('go', port),
    goClient: (target) => client('go', target),
    pyServer: (port) => server('python', port),
    pyClient: (target) => client('python', target),
    nodeServer: (port) => server('node', port),
    nodeClient: (target) => client('node', target),
    server,
    client,
  };
}
