/**
 * The endpoints a kubelet and a Prometheus scrape: /healthz (the process
 * is alive and its event loop is turning), /readyz (probes attached and
 * sinks configured) and /metrics. Plain HTTP on its own port: it carries
 * no span data and no secrets, and binding it to the pod address is the
 * operator's choice (--health-address).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Readiness {
  readonly ready: boolean;
  /** What is not ready yet, one phrase each; empty when ready. */
  readonly waitingFor: readonly string[];
}

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readiness(): Readiness;
  /** The loop is called stalled when no heartbeat came for this long (default 5 s). */
  readonly stallMs?: number;
}

const HEARTBEAT_MS = 250;

export class HealthServer {
  private readonly server: Server;
  private readonly options: HealthServerOptions;
  private lastBeat = performance.now();
  /** The longest gap between heartbeats since the last /healthz: a stall that is over still shows once. */
  private worstGapMs = 0;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(options: HealthServerOptions) {
    this.options = options;
    this.heartbeat = setInterval(() => {
      const now = performance.now();
      this.worstGapMs = Math.max(this.worstGapMs, now - this.lastBeat);
      this.lastBeat = now;
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/', req.method ?? 'GET').then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`error: ${err.message}\n`);
        },
      );
    });
  }

  static async start(options: HealthServerOptions): Promise<HealthServer> {
    const s = new HealthServer(options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', (err: NodeJS.ErrnoException) => {
        clearInterval(s.heartbeat);
        reject(new Error(`health endpoint: cannot listen on ${options.host}:${options.port} (${err.code}): choose another --health-port, or 0 to turn it off`));
      });
      s.server.listen(options.port, options.host, () => resolve());
    });
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private async handle(url: string, method: string): Promise<{ status: number; type: string; body: string }> {
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, type: 'text/plain', body: 'GET only\n' };
    const path = url.split('?')[0];
    if (path === '/healthz') {
      const gap = Math.max(this.worstGapMs, performance.now() - this.lastBeat);
      this.worstGapMs = 0;
      const stallMs = this.options.stallMs ?? 5_000;
      return gap > stallMs
        ? { status: 503, type: 'text/plain', body: `event loop stalled for ${Math.round(gap)} ms (limit ${stallMs} ms)\n` }
        : { status: 200, type: 'text/plain', body: 'ok\n' };
    }
    if (path === '/readyz') {
      const r = this.options.readiness();
      return r.ready ? { status: 200, type: 'text/plain', body: 'ready\n' } : { status: 503, type: 'text/plain', body: `not ready: waiting for ${r.waitingFor.join(', ')}\n` };
    }
    if (path === '/metrics') return { status: 200, type: this.options.registry.contentType, body: await this.options.registry.metrics() };
    return { status: 404, type: 'text/plain', body: 'not found: /healthz, /readyz, /metrics\n' };
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
  }
}
