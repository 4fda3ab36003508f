/**
 * What two tools saw, as multisets of exchange keys, and how they agree:
 * HTTP/1.1 as "METHOD path status", HTTP/2 as ":path :status", gRPC as
 * "service/method grpc-status". Paths never include the query string.
 */
import type { Span } from '../spans/span.ts';

export interface Observed {
  http1: string[];
  http2: string[];
  grpc: string[];
}

export interface Agreement {
  matched: number;
  onlyOurs: string[];
  onlyTshark: string[];
}

export function emptyObserved(): Observed {
  return { http1: [], http2: [], grpc: [] };
}

/** Keys of our spans (server perspective: one span per exchange). */
export function observedFromSpans(spans: readonly Span[], into: Observed = emptyObserved()): Observed {
  for (const s of spans) {
    const a = s.attributes;
    if (a['rpc.system'] === 'grpc') {
      into.grpc.push(`${a['rpc.service']}/${a['rpc.method']} ${a['rpc.grpc.status_code'] ?? '-'}`);
    } else if (a['network.protocol.version'] === '2') {
      into.http2.push(`${a['url.path']} ${a['http.response.status_code'] ?? '-'}`);
    } else if (a['http.request.method'] !== undefined) {
      const method = a['http.request.method'] === '_OTHER' ? a['http.request.method_original'] : a['http.request.method'];
      into.http1.push(`${method} ${a['url.path']} ${a['http.response.status_code']}`);
    }
  }
  return into;
}

/** Multiset comparison; the lists keep one entry per unmatched occurrence. */
export function agreement(ours: readonly string[], theirs: readonly string[]): Agreement {
  const left = new Map<string, number>();
  for (const k of theirs) left.set(k, (left.get(k) ?? 0) + 1);
  const onlyOurs: string[] = [];
  let matched = 0;
  for (const k of ours) {
    const n = left.get(k) ?? 0;
    if (n > 0) {
      matched++;
      left.set(k, n - 1);
    } else onlyOurs.push(k);
  }
  const onlyTshark = [...left].flatMap(([k, n]) => Array<string>(n).fill(k));
  return { matched, onlyOurs, onlyTshark };
}

/** "/a/b?x=1" or "http://h/a/b?x" -> "/a/b". */
export function pathOfUri(uri: string): string {
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*(\/[^?#]*)?/.exec(uri);
  if (abs) return abs[1] ?? '/';
  const q = uri.search(/[?#]/);
  return q < 0 ? uri : uri.slice(0, q);
}
