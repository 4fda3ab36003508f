/**
 * TLS plaintext from OpenSSL outside the system's libssl.so.3, through a C
 * client on SSL_write/SSL_read (test/helpers/tlsClient.c) talking to
 * Python's https server (libssl.so.3):
 * - libssl.so.1.1 (OpenSSL 1.1.1, built into the cache by
 *   test/peers/openssl11.sh: Debian 12 packages none). The library sits in
 *   the cache, where no library directory scan looks: the sensor finds it
 *   in the client's mappings, at start (a client older than the sensor) or
 *   after the client's exec;
 * - OpenSSL 3 linked in statically (Debian's libssl.a) and stripped: the
 *   sensor finds its functions by their code (opensslFunctions.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BpfSource } from '../../src/source/bpf/bpfSource.ts';
import type { TlsBinary } from '../../src/source/bpf/tlsAttach.ts';
import type { Span } from '../../src/spans/span.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, expectNested, pairUp } from '../support/spanPairs.ts';
import { freePort, run, type RunResult, type Server } from '../support/peers.ts';
import { pythonHttpsAnswer, selfSigned, startPythonHttps } from '../support/pythonHttps.ts';
import { openSsl11, type OpenSsl11 } from '../support/openssl11.ts';
import { projectRoot } from '../../src/native/addon.ts';

const skipReason = bpfUnavailableReason();

/** Paths the client GETs, and their span names. */
const REQUESTS = [
  { path: '/items/7', name: 'GET /items/{id}' },
  { path: '/missing', name: 'GET /missing' },
  { path: '/fail/legacy', name: 'GET /fail/legacy' },
] as const;

interface ClientOutput {
  statuses: number[];
  library: string;
}

/** The uprobes on this binary, once the sensor has attached them (rescans follow an exec for 1.5 s). */
async function attachedTo(source: BpfSource, binary: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = source.tls().attached.find((b) => b.path === binary);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no uprobes on ${binary} after ${timeoutMs} ms: ${source.tls().summary}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectClientSpan(span: Span, req: (typeof REQUESTS)[number], port: number): void {
  const answer = pythonHttpsAnswer('GET', req.path);
  expect(span.name).toBe(req.name);
  expect(span.kind, req.name).toBe(CLIENT);
  expect(span.attributes, req.name).toMatchObject({
    'url.path': req.path,
    'url.scheme': 'https',
    'http.response.status_code': answer.status,
    'http.response.body.size': answer.body.length,
    'server.port': port,
    'user_agent.original': 'hp-tls-client',
  });
  expect(span.status.code === 2, `${req.name} status`).toBe(answer.status >= 400);
}

/** The client ran REQUESTS on `library` against Python's https server: each has its nested client and server spans. */
async function expectEveryRequestAtBothEnds(live: LiveSpans, client: RunResult, serverPid: number, port: number, library: RegExp): Promise<void> {
  const out = JSON.parse(client.stdout.split('\n').find((l) => l.startsWith('{'))!) as ClientOutput;
  expect(out.library).toMatch(library);
  expect(out.statuses).toEqual(REQUESTS.map((r) => pythonHttpsAnswer('GET', r.path).status));
  await live.until((s) => s.length >= 2 * REQUESTS.length, `${REQUESTS.length} client and ${REQUESTS.length} server spans`);
  await new Promise((r) => setTimeout(r, 300));
  expect(live.spans).toHaveLength(2 * REQUESTS.length);
  const pairs = pairUp(live.spans, client.pid, serverPid);
  expect(pairs.map(({ server: s }) => [s.name, s.attributes['http.response.status_code']])).toEqual(
    REQUESTS.map((r) => [r.name, pythonHttpsAnswer('GET', r.path).status]),
  );
  pairs.forEach(expectNested);
  for (const [i, req] of REQUESTS.entries()) expectClientSpan(pairs[i]!.client, req, port);
  expect(live.pipeline.stats().parsers.http1?.invalidBytes).toBe(0);
}

describe.skipIf(skipReason)('TLS spans from libssl.so.1.1 (OpenSSL 1.1.1)', () => {
  let ssl11: OpenSsl11;
  let libssl: string;
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    ssl11 = await openSsl11(); // cold: downloads and builds OpenSSL 1.1.1 (75 s to 3 min on 2 cores)
    libssl = realpathSync(ssl11.libssl);
    dir = mkdtempSync(path.join(tmpdir(), 'hp-tls-11-'));
    port = await freePort();
    server = await startPythonHttps(port, selfSigned(dir));
  }, 900_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a client started after the sensor: libssl.so.1.1 found after its exec, all four functions probed, nested spans', async () => {
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      expect(live.source.tls().attached.some((b) => b.path === libssl), 'not found before the client ran').toBe(false);
      let binary: TlsBinary | Error | undefined;
      const client = await run(ssl11.client, [String(port), '--wait', ...REQUESTS.map((r) => r.path)], {
        waitFor: 'ready',
        input: 'go\n',
        // The client connects only once the uprobes are on its library (or
        // the wait gave up: then the client runs, and the checks below say why).
        beforeInput: async () => {
          binary = await attachedTo(live.source, libssl).catch((err: Error) => err);
        },
      });
      expect(client.code, client.stderr).toBe(0);
      if (binary instanceof Error) throw binary;
      expect(binary).toMatchObject({ kind: 'libssl', functions: ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex'] });
      expect(binary!.openedAs).toMatch(/^\/proc\/\d+\/root\//);
      await expectEveryRequestAtBothEnds(live, client, server.pid, port, /^OpenSSL 1\.1\.1/);
    } finally {
      await live.close();
    }
  });

  it('a connection opened before the sensor: libssl.so.1.1 found by the start scan, every later exchange has its client span', async () => {
    let live: LiveSpans | undefined;
    let atStart: TlsBinary | undefined;
    try {
      const client = await run(ssl11.client, [String(port), '--hold', '1', '/before/1', ...REQUESTS.map((r) => r.path)], {
        waitFor: 'held',
        input: 'go\n',
        beforeInput: async () => {
          live = new LiveSpans({ ports: [port], tls: true });
          atStart = live.source.tls().attached.find((b) => b.path === libssl);
        },
      });
      expect(client.code, client.stderr).toBe(0);
      // Found while the sensor started, not by a later exec: the client was already running.
      expect(atStart?.functions).toEqual(['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex']);
      const sensor = live!;
      await sensor.until((s) => s.filter((x) => x.kind === CLIENT).length >= REQUESTS.length, `${REQUESTS.length} client spans`);
      await new Promise((r) => setTimeout(r, 300));
      const spans = sensor.byPid(client.pid);
      expect(spans).toHaveLength(REQUESTS.length);
      for (const [i, req] of REQUESTS.entries()) expectClientSpan(spans[i]!, req, port);
    } finally {
      await live?.close();
    }
  });
});

describe.skipIf(skipReason)('TLS spans from a stripped program with OpenSSL 3 linked in statically', () => {
  let dir: string;
  let client: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-tls-static-'));
    client = path.join(dir, 'tls-client-static');
    execFileSync('cc', ['-O2', '-Wall', '-static', '-s', '-o', client, path.join(projectRoot, 'test/helpers/tlsClient.c'), '-lssl', '-lcrypto', '-lpthread'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    port = await freePort();
    server = await startPythonHttps(port, selfSigned(dir));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a client started after the sensor: its functions found by their code after its exec, nested spans', async () => {
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      let binary: TlsBinary | Error | undefined;
      const run1 = await run(client, [String(port), '--wait', ...REQUESTS.map((r) => r.path)], {
        waitFor: 'ready',
        input: 'go\n',
        beforeInput: async () => {
          binary = await attachedTo(live.source, client).catch((err: Error) => err);
        },
      });
      expect(run1.code, run1.stderr).toBe(0);
      if (binary instanceof Error) throw binary;
      expect(binary).toMatchObject({ kind: 'executable', functions: ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex'], foundBy: 'stripped OpenSSL 3, functions found by the names their errors record' });
      await expectEveryRequestAtBothEnds(live, run1, server.pid, port, /^OpenSSL 3\./);
    } finally {
      await live.close();
    }
  });
});
