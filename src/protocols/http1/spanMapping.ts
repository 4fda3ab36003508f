/**
 * An HTTP/1.x exchange in OpenTelemetry's HTTP semantic conventions.
 * Only the attributes named here leave the parser: header values in
 * general never do (they carry credentials), except those of allow-listed
 * headers (`http.request.header.<name>`, `http.response.header.<name>`,
 * string arrays), and the query string only when configured, its values
 * redacted (`url.query`): see ../attributeCapture.
 */
import type { Exchange } from '../contract.ts';
import type { AttributeValue } from '../../spans/span.ts';
import { queryOf, type AttributeCapture } from '../attributeCapture/index.ts';
import { routeOf } from '../../spans/route.ts';
import type { ResponseHead } from './messageHead.ts';
import type { PendingRequest } from './http1Parser.ts';

const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

interface HostParts {
  readonly address: string;
  readonly port?: number;
}

/** Recent Host values (they repeat on every request of a client): bounded, emptied when full. */
const hosts = new Map<string, HostParts>();

/** Host header "name[:port]" or "[v6]:port". */
export function splitHost(host: string): HostParts {
  let parts = hosts.get(host);
  if (parts === undefined) {
    parts = parseHost(host);
    if (hosts.size >= 1024) hosts.clear();
    hosts.set(host, parts);
  }
  return parts;
}

function parseHost(hostWithUserinfo: string): HostParts {
  // Userinfo ("user:password@") is deprecated but seen: credentials, never
  // reported (as HTTP/2's splitAuthority does for :authority).
  const host = hostWithUserinfo.slice(hostWithUserinfo.lastIndexOf('@') + 1);
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(host) ?? /^([^:]+)(?::(\d+))?$/.exec(host);
  if (!m) return { address: host };
  // A port is at most 65535: anything else (fuzzing found 70000 and 400 nines) is reported as no port.
  const port = m[2] && m[2].length <= 5 ? Number(m[2]) : NaN;
  return port >= 0 && port <= 65535 ? { address: m[1]!, port } : { address: m[1]! };
}

export function pathOf(target: string): string {
  if (target === '*') return '*';
  // Origin form without query or fragment, by far the most common: as it is.
  if (target.charCodeAt(0) === 0x2f && target.indexOf('?') < 0 && target.indexOf('#') < 0) return target;
  // Absolute form (proxies): http://host/path?q
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*(\/[^?#]*)?/.exec(target);
  if (abs) return abs[1] ?? '/';
  const q = target.search(/[?#]/);
  return q < 0 ? target : target.slice(0, q);
}

export function exchangeOf(req: PendingRequest, res: ResponseHead, _resStartNs: bigint, endNs: bigint, responseBodySize: number, capture?: AttributeCapture): Exchange {
  const method = STANDARD_METHODS.has(req.head.method) ? req.head.method : '_OTHER';
  const path = pathOf(req.head.target);
  const route = routeOf(path);
  const attributes: Record<string, AttributeValue> = {
    'http.request.method': method,
    'url.path': path,
    'url.scheme': 'http',
    'http.route': route,
    'http.response.status_code': res.status,
    'network.protocol.name': 'http',
    'network.protocol.version': req.head.version,
    'http.request.body.size': req.bodySize,
    'http.response.body.size': responseBodySize,
  };
  if (method === '_OTHER') attributes['http.request.method_original'] = req.head.method;
  const host = req.head.headers.get('host');
  if (host) {
    const { address, port } = splitHost(host);
    attributes['server.address'] = address;
    if (port !== undefined) attributes['server.port'] = port;
  }
  const ua = req.head.headers.get('user-agent');
  if (ua) attributes['user_agent.original'] = ua;
  if (capture !== undefined) addCaptured(attributes, req, res, capture);
  const traceparent = req.head.headers.get('traceparent');
  return {
    protocol: 'http1',
    name: `${method === '_OTHER' ? 'HTTP' : method} ${route}`,
    startNs: req.startNs,
    endNs: endNs > req.endNs ? endNs : req.endNs,
    attributes,
    error: {
      server: res.status >= 500,
      client: res.status >= 400,
      ...(res.status >= 400 ? { message: `HTTP ${res.status}` } : {}),
    },
    ...(traceparent ? { traceparent } : {}),
    // The request's stream position is the same number on both ends only
    // when both saw the connection from its first byte (gaps are counted in it).
    ...(req.pairable ? { pairKey: `@${req.offset}` } : {}),
  };
}

/** The allow-listed header values and the redacted query, when configured. */
function addCaptured(attributes: Record<string, AttributeValue>, req: PendingRequest, res: ResponseHead, capture: AttributeCapture): void {
  if (capture.capturesQuery) {
    const query = queryOf(req.head.target);
    const redacted = query === undefined ? undefined : capture.urlQuery(query);
    if (redacted !== undefined) attributes['url.query'] = redacted;
  }
  req.head.headers.captured?.addTo(attributes, 'http');
  res.headers.captured?.addTo(attributes, 'http');
}
