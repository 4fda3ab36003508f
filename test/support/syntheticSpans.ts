/**
 * Spans shaped like the ones the pipeline builds (HTTP server and client
 * spans, a few workloads' resources shared by reference, parents within a
 * trace), deterministic for a seed: for sink tests and benchmarks that need
 * many spans without running traffic.
 */
import type { Span } from '../../src/spans/span.ts';

export interface SyntheticOptions {
  readonly seed?: number;
  /** Spans per trace (a server span and its client calls). Default 3. */
  readonly perTrace?: number;
}

/** A small deterministic generator (mulberry32): the same seed gives the same spans. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (rnd: () => number, chars: number) => {
  let s = '';
  while (s.length < chars) s += Math.floor(rnd() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, chars);
};

const WORKLOADS = ['cart', 'checkout', 'payments', 'catalog'].map((name, i) => ({
  'service.name': name,
  'k8s.namespace.name': 'shop',
  'k8s.pod.name': `${name}-7d9f8c6b5-${'abcde'[i]}x2kq`,
  'k8s.deployment.name': name,
  'k8s.node.name': 'worker-1',
  'container.id': `${i}`.repeat(64),
  'process.pid': 1000 + i,
  'process.executable.name': 'node',
}));

const ROUTES = ['/api/cart/{id}', '/api/items', '/healthz', '/api/orders/{uuid}/pay'];
const STATUS = [200, 200, 200, 201, 404, 500];

export function syntheticSpans(count: number, options: SyntheticOptions = {}): Span[] {
  const rnd = random(options.seed ?? 1);
  const perTrace = options.perTrace ?? 3;
  const out: Span[] = [];
  let t = 1_763_900_000_000_000_000n + BigInt(Math.floor(rnd() * 1e9));
  while (out.length < count) {
    const traceId = hex(rnd, 32);
    let parent = '';
    for (let k = 0; k < perTrace && out.length < count; k++) {
      const spanId = hex(rnd, 16);
      const route = ROUTES[Math.floor(rnd() * ROUTES.length)]!;
      const status = STATUS[Math.floor(rnd() * STATUS.length)]!;
      const server = k === 0;
      const resource = WORKLOADS[Math.floor(rnd() * WORKLOADS.length)]!;
      const start = t + BigInt(k * 1000);
      const attributes: Record<string, string | number> = {
        'http.request.method': server ? 'GET' : 'POST',
        'http.route': route,
        'url.path': route.replace('{id}', String(Math.floor(rnd() * 1e6))).replace('{uuid}', hex(rnd, 8)),
        'http.response.status_code': status,
        'network.protocol.version': '1.1',
        'server.address': 'cart.shop.svc.cluster.local',
        'server.port': 8080,
        'client.address': '10.244.1.17',
        'user_agent.original': 'curl/8.14.1',
        'http.request.body.size': Math.floor(rnd() * 2000),
        'http.response.body.size': Math.floor(rnd() * 20000),
      };
      out.push({
        traceId,
        spanId,
        parentSpanId: parent,
        name: `${attributes['http.request.method']} ${route}`,
        kind: server ? 2 : 3,
        startTimeUnixNano: start,
        endTimeUnixNano: start + BigInt(50_000 + Math.floor(rnd() * 5_000_000)),
        attributes,
        status: status >= 500 ? { code: 2 } : { code: 0 },
        resource,
      });
      if (server) parent = spanId;
    }
    t += 10_000_000n;
  }
  return out;
}
