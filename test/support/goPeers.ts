/**
 * The Go peer of test/peers (one program: gRPC echo and net/http over
 * crypto/tls) in the three builds prepare.sh makes: with DWARF (as `go
 * build -trimpath` leaves it), without (-ldflags=-w) and position-
 * independent (-buildmode=pie). Its HTTPS modes are driven from here.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { homedir } from 'node:os';
import path from 'node:path';
import { preparedPeerPaths } from './grpcPeers.ts';

export interface GoPeerBinaries {
  readonly go: string;
  readonly noDwarf: string;
  readonly pie: string;
}

/** Builds them on first use (see prepare.sh); throws with prepare.sh's words when it cannot. */
export async function goPeerBinaries(): Promise<GoPeerBinaries> {
  const paths = await preparedPeerPaths();
  const go = paths.get('go');
  const noDwarf = paths.get('go_nodwarf');
  const pie = paths.get('go_pie');
  if (!go || !noDwarf || !pie) throw new Error(`test/peers/prepare.sh printed no go=, go_nodwarf= or go_pie= line`);
  return { go, noDwarf, pie };
}

/** `echo-peer https-server PORT` arguments. */
export const httpsServerArgs = (port: number) => ['https-server', String(port)];

/**
 * A running `echo-peer https-client`: one keep-alive connection, one request
 * per call of send(), each answered before it resolves, so a test decides
 * what happens between two requests (start a sensor...).
 */
export class HttpsClient {
  readonly process: ChildProcess;
  private out = '';
  private err = '';
  private waiters: Array<() => void> = [];

  constructor(binary: string, url: string, protocol: 'h1' | 'h2', args: string[] = ['https-client', url, protocol]) {
    this.process = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      for (const w of this.waiters) w();
    });
    this.process.stderr!.on('data', (d: Buffer) => { this.err += d.toString(); });
    this.process.on('exit', () => { for (const w of this.waiters) w(); });
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Sends "METHOD PATH [BODYBYTES]"; resolves to the client's "STATUS PROTO BODYBYTES" line. */
  async send(request: string, timeoutMs = 10_000): Promise<string> {
    const before = this.lines().length;
    this.process.stdin!.write(`${request}\n`);
    const deadline = Date.now() + timeoutMs;
    while (this.lines().length === before) {
      if (this.process.exitCode !== null) throw new Error(`https-client exited (${this.process.exitCode}): ${this.err}`);
      if (Date.now() > deadline) throw new Error(`https-client did not answer '${request}' in ${timeoutMs} ms: ${this.err}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
      this.waiters = [];
    }
    return this.lines().at(-1)!;
  }

  /** Ends stdin; resolves to the exit code. */
  async end(): Promise<number | null> {
    const exited = this.process.exitCode !== null ? Promise.resolve([this.process.exitCode]) : once(this.process, 'exit');
    this.process.stdin!.end();
    const [code] = (await exited) as [number | null];
    return code;
  }

  private lines(): string[] {
    return this.out.split('\n').filter((l) => l.length > 0);
  }
}

/**
 * A running `echo-peer grpc-session HOST:PORT [tls]`: one gRPC client
 * connection, one call per send() ("Unary TEXT" or "Fail CODE:message"),
 * each resolving to the call's JSON line ({"method","code",...}).
 */
export class GrpcSession extends HttpsClient {
  constructor(binary: string, target: string, tls: boolean) {
    super(binary, target, 'h2', ['grpc-session', target, ...(tls ? ['tls'] : [])]);
  }
}

/** The Go toolchain prepare.sh uses: `go` on PATH, else /usr/local/go/bin/go; undefined when neither runs. */
export function goTool(): string | undefined {
  for (const go of ['go', '/usr/local/go/bin/go']) {
    try {
      execFileSync(go, ['version'], { stdio: 'ignore' });
      return go;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The caches prepare.sh keeps, so a small program builds in seconds. */
function goEnv(): NodeJS.ProcessEnv {
  const cache = process.env.HYDROPHONE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'hydrophone');
  return { ...process.env, GOMODCACHE: path.join(cache, 'go/mod'), GOCACHE: path.join(cache, 'go/build'), CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
}

/** Builds one Go source file (standard library only) into `out`. */
export function buildGoFile(go: string, source: string, out: string, ldflags = ''): void {
  execFileSync(go, ['build', '-trimpath', ...(ldflags ? [`-ldflags=${ldflags}`] : []), '-o', out, source], {
    cwd: path.dirname(source), env: goEnv(), stdio: ['ignore', 'ignore', 'pipe'],
  });
}
