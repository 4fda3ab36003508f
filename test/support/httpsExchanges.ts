/**
 * The HTTP/1.1 exchanges the TLS tests make against a server that answers
 * as test/peers/python/https.py does (the rustls peer answers the same),
 * and what their spans must say.
 */
import { expect } from 'vitest';
import type { Span } from '../../src/spans/span.ts';
import { CLIENT } from './spanPairs.ts';
import { pythonHttpsAnswer } from './pythonHttps.ts';

export interface HttpsExchange {
  readonly method: string;
  readonly path: string;
  readonly body?: number;
  /** The span name: the route, identifiers collapsed. */
  readonly name: string;
}

/** Every shape the server answers, a body each way. */
export const HTTPS_EXCHANGES: readonly HttpsExchange[] = [
  { method: 'GET', path: '/orders/17', name: 'GET /orders/{id}' },
  { method: 'POST', path: '/orders', body: 1000, name: 'POST /orders' },
  { method: 'GET', path: '/fail/now', name: 'GET /fail/now' },
  { method: 'GET', path: '/missing', name: 'GET /missing' },
];

/** Method, path, status, kind, scheme, sizes and status code of one span, from what the server answers. */
export function expectHttpsExchange(span: Span, ex: HttpsExchange, kind: number, port: number): void {
  const answer = pythonHttpsAnswer(ex.method, ex.path, ex.body ?? 0);
  expect(span.name).toBe(ex.name);
  expect(span.kind, ex.name).toBe(kind);
  expect(span.attributes, ex.name).toMatchObject({
    'http.request.method': ex.method,
    'url.path': ex.path,
    'url.scheme': 'https',
    'http.response.status_code': answer.status,
    'http.request.body.size': ex.body ?? 0,
    'http.response.body.size': answer.body.length,
    'server.port': port,
  });
  // Clients err on 4xx and 5xx, servers on 5xx.
  const error = answer.status >= (kind === CLIENT ? 400 : 500);
  expect(span.status.code === 2, `${ex.name} status`).toBe(error);
}
