/**
 * A small Kubernetes REST client for tests, on node:https: create, get,
 * list, patch, replace, delete and watch any resource by its API path. It
 * is what tests use to set up objects quickly; the code under test uses
 * its own client (@kubernetes/client-node) against the same server.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';

export interface KubeClientOptions {
  /** https://host:port */
  readonly server: string;
  /** PEM */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

/** Metadata as far as tests use it. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** An API error: the server's Status object, kept whole. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(method: string, apiPath: string, res: KubeResponse) {
    let message = res.body;
    try { message = (JSON.parse(res.body) as { message?: string }).message ?? res.body; } catch { /* not JSON */ }
    super(`${method} ${apiPath}: ${res.status} ${message}`);
    this.status = res.status;
    this.body = res.body;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export type PatchType = 'merge' | 'strategic' | 'json';

const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export class KubeClient {
  readonly server: string;
  private readonly agent: Agent;
  private readonly tls: { ca: string; cert: string; key: string };
  private readonly host: string;
  private readonly port: number;

  constructor(opts: KubeClientOptions) {
    this.server = opts.server;
    const url = new URL(opts.server);
    this.host = url.hostname;
    this.port = Number(url.port || 443);
    this.tls = { ca: opts.ca, cert: opts.cert, key: opts.key };
    this.agent = new Agent({ keepAlive: true, ...this.tls, maxSockets: 16 });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** One request; resolves with any status (no throw on 4xx/5xx). */
  request(method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const req = httpsRequest({
        agent: this.agent,
        host: this.host,
        port: this.port,
        method,
        path: apiPath,
        headers: {
          accept: 'application/json',
          ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${apiPath}: no answer in 30 s`)));
      req.end(data);
    });
  }

  /** A request whose 2xx JSON answer is returned; anything else throws KubeApiError. */
  async json<T>(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.request(method, apiPath, body, contentType);
    if (res.status < 200 || res.status > 299) throw new KubeApiError(method, apiPath, res);
    return JSON.parse(res.body) as T;
  }

  /** POST to a collection path, e.g. `/api/v1/namespaces/default/pods`. */
  create<T extends KubeObject>(collectionPath: string, obj: T): Promise<T> {
    return this.json<T>('POST', collectionPath, obj);
  }

  get<T extends KubeObject>(objectPath: string): Promise<T> {
    return this.json<T>('GET', objectPath);
  }

  list<T extends KubeObject>(collectionPath: string, query: Query = {}): Promise<KubeList<T>> {
    return this.json<KubeList<T>>('GET', withQuery(collectionPath, query));
  }

  /** PUT the whole object (resourceVersion in it makes it a compare-and-swap). */
  replace<T extends KubeObject>(objectPath: string, obj: T): Promise<T> {
    return this.json<T>('PUT', objectPath, obj);
  }

  /** PATCH; `objectPath` may end in `/status` for the status subresource. */
  patch<T extends KubeObject>(objectPath: string, patch: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.json<T>('PATCH', objectPath, patch, patchContentType[type]);
  }

  async delete(objectPath: string, query: Query = {}): Promise<void> {
    await this.json<unknown>('DELETE', withQuery(objectPath, query));
  }

  /**
   * Opens a watch on a collection (`watch=1` is added): resolves once the
   * server answered 200, then events arrive in order through the returned
   * Watch. Give `resourceVersion` from a list to miss nothing after it.
   */
  watch<T extends KubeObject = KubeObject>(collectionPath: string, query: Query = {}): Promise<Watch<T>> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        // A watch holds its connection for as long as it runs: not from the pool.
        agent: false,
        ...this.tls,
        host: this.host,
        port: this.port,
        method: 'GET',
        path: withQuery(collectionPath, { ...query, watch: 1 }),
        headers: { accept: 'application/json' },
      }, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new KubeApiError('WATCH', collectionPath, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() })));
          return;
        }
        resolve(new Watch<T>(res, () => req.destroy()));
      });
      req.on('error', reject);
      req.end();
    });
  }
}

/** The events of one watch, as they arrive. */
export class Watch<T extends KubeObject = KubeObject> {
  /** Every event received so far, in order. */
  readonly events: WatchEvent<T>[] = [];
  private buffered = '';
  private waiters: (() => void)[] = [];
  private ended = false;
  private readonly abort: () => void;

  constructor(res: IncomingMessage, abort: () => void) {
    this.abort = abort;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl).trim();
        this.buffered = this.buffered.slice(nl + 1);
        if (line) this.events.push(JSON.parse(line) as WatchEvent<T>);
      }
      this.wake();
    });
    const end = () => { this.ended = true; this.wake(); };
    res.on('end', end);
    res.on('error', end);
    res.on('close', end);
  }

  /** Resolves with the first event (already received or to come) that matches, or throws after `timeoutMs`. */
  async next(match: (e: WatchEvent<T>) => boolean, timeoutMs = 10_000): Promise<WatchEvent<T>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (this.ended) throw new Error(`the watch ended before a matching event (${this.events.length} events received)`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching watch event in ${timeoutMs} ms (${this.events.length} received: ${this.events.map((e) => `${e.type} ${e.object.metadata?.name}`).join(', ')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  get closed(): boolean {
    return this.ended;
  }

  stop(): void {
    this.abort();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function withQuery(apiPath: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const q = params.toString();
  return q ? `${apiPath}${apiPath.includes('?') ? '&' : '?'}${q}` : apiPath;
}
