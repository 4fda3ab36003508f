/**
 * The recovery rules of SlimListWatch against a small HTTP server that
 * answers list and watch requests as the API server does (JSON list, then
 * a stream of watch events): resume, 410 Gone, silence, errors. The real
 * API server is exercised by the end-to-end test; these are the cases a
 * real one does not produce on demand.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { SlimListWatch } from './slimListWatch.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

const pod = (name: string, rv: string): V1Pod => ({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: rv } });
const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

async function fakeApi(handler: Handler): Promise<KubeConfig> {
  const server = createServer((req, res) => handler(req, res, new URL(req.url!, 'http://x')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain HTTP: client-node accepts it only with skipTLSVerify.
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return kc;
}

function listWatch(kc: KubeConfig, seen: { upserts: string[]; removes: string[]; retains: number }, silentMs = 60_000) {
  const core = kc.makeApiClient(CoreV1Api);
  const w = new SlimListWatch<V1Pod>(kc, {
    kind: 'pods',
    path: '/api/v1/pods',
    fieldSelector: 'spec.nodeName=n1',
    list: (p) => core.listPodForAllNamespaces(p),
    keyOf: (o) => o.metadata!.uid!,
    upsert: (o) => seen.upserts.push(o.metadata!.name!),
    remove: (o) => seen.removes.push(o.metadata!.name!),
    retain: () => seen.retains++,
  }, { silentMs, minBackoffMs: 20, maxBackoffMs: 50 });
  cleanups.push(() => w.stop());
  return w;
}

const until = async (ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('slim list-watch', () => {
  it('lists in pages with the field selector, then watches from the list\'s resourceVersion', async () => {
    const watches: URLSearchParams[] = [];
    const kc = await fakeApi((_req, res, url) => {
      if (url.searchParams.get('watch') === 'true') {
        watches.push(url.searchParams);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`${JSON.stringify({ type: 'ADDED', object: pod('c', '12') })}\n`);
        res.write(`${JSON.stringify({ type: 'DELETED', object: pod('a', '13') })}\n`);
        return; // held open
      }
      expect(url.searchParams.get('fieldSelector')).toBe('spec.nodeName=n1');
      const page2 = url.searchParams.get('continue') === 'p2';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '11', ...(page2 ? {} : { continue: 'p2' }) }, items: [page2 ? pod('b', '9') : pod('a', '8')] }));
    });
    const seen = { upserts: [] as string[], removes: [] as string[], retains: 0 };
    const w = listWatch(kc, seen);
    expect(await w.start()).toBe(true);
    await until(() => seen.removes.length === 1);
    expect(seen).toEqual({ upserts: ['a', 'b', 'c'], removes: ['a'], retains: 1 });
    expect(watches[0]!.get('resourceVersion')).toBe('11');
    expect(watches[0]!.get('allowWatchBookmarks')).toBe('true');
    expect(w.state).toBe('watching');
  });

  it('lists again after 410 Gone, and resumes without a list when the server ends a watch', async () => {
    let lists = 0;
    let watchCount = 0;
    const kc = await fakeApi((_req, res, url) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') !== 'true') {
        lists++;
        res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: String(100 * lists) }, items: [] }));
        return;
      }
      watchCount++;
      if (watchCount === 1) res.end(); // the server's timeout: resume from the same version
      else if (watchCount === 2) res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`);
      // later watches: held open
    });
    const seen = { upserts: [] as string[], removes: [] as string[], retains: 0 };
    const w = listWatch(kc, seen);
    await w.start();
    await until(() => lists === 2 && w.state === 'watching' && watchCount >= 3);
    expect(w.counters).toMatchObject({ lists: 2, gone: 1 });
    expect(seen.retains).toBe(2);
  });

  it('abandons a silent watch for a fresh list', async () => {
    let lists = 0;
    const kc = await fakeApi((_req, res, url) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') return; // connected, then nothing at all
      lists++;
      res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] }));
    });
    const problems: string[] = [];
    const seen = { upserts: [] as string[], removes: [] as string[], retains: 0 };
    const core = kc.makeApiClient(CoreV1Api);
    const w = new SlimListWatch<V1Pod>(kc, {
      kind: 'pods', path: '/api/v1/pods', list: (p) => core.listPodForAllNamespaces(p), keyOf: (o) => o.metadata!.uid!,
      upsert: () => {}, remove: () => {}, retain: () => seen.retains++,
    }, { silentMs: 1000, onProblem: (m) => problems.push(m) });
    cleanups.push(() => w.stop());
    await w.start();
    await until(() => lists >= 2, 8000);
    expect(w.counters.silentRestarts).toBeGreaterThanOrEqual(1);
    expect(problems[0]).toMatch(/silent for 1 s: listing again/);
  });

  it('backs off and retries when the API server fails, and says so', async () => {
    let calls = 0;
    const kc = await fakeApi((_req, res, url) => {
      calls++;
      if (calls <= 2) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 500, message: 'etcd unavailable' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') return;
      res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '5' }, items: [pod('a', '5')] }));
    });
    const problems: string[] = [];
    const core = kc.makeApiClient(CoreV1Api);
    const seen: string[] = [];
    const w = new SlimListWatch<V1Pod>(kc, {
      kind: 'pods', path: '/api/v1/pods', list: (p) => core.listPodForAllNamespaces(p), keyOf: (o) => o.metadata!.uid!,
      upsert: (o) => seen.push(o.metadata!.name!), remove: () => {}, retain: () => {},
    }, { minBackoffMs: 20, maxBackoffMs: 50, onProblem: (m) => problems.push(m) });
    cleanups.push(() => w.stop());
    expect(await w.start(5000)).toBe(true);
    expect(seen).toEqual(['a']);
    expect(w.counters.errors).toBe(2);
    expect(problems[0]).toMatch(/^listing pods failed: .*retrying in/);
  });
});
