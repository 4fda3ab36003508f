/**
 * A finished stream as an exchange: a gRPC call when either side said
 * content-type application/grpc, otherwise an HTTP exchange in
 * OpenTelemetry's HTTP semantic conventions. Only the attributes named
 * here leave the parser; header values in general never do, except the
 * allow-listed ones (`http.request.header.<name>`... or, on a gRPC call,
 * `rpc.grpc.request.metadata.<key>`...) and the redacted `url.query` when
 * configured (../attributeCapture).
 *
 * A stream ended by RST_STREAM carries `http2.rst_stream.error_code` (ours:
 * the RFC 9113 name of the error code) and `error.type` with the same name.
 */
import type { Exchange } from '../contract.ts';
import type { AttributeValue } from '../../spans/span.ts';
import { routeOf } from '../../spans/route.ts';
import { grpcExchange, isGrpcContentType, splitAuthority } from '../grpc/index.ts';
import type { Http2Stream } from './stream.ts';

const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** The path of a :path value, without query or fragment. */
export function pathOf(target: string): string {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) return target.slice(0, i);
  }
  return target;
}

export function isGrpcStream(s: Http2Stream): boolean {
  const reqType = s.request.contentType;
  return isGrpcContentType(reqType) || (reqType === undefined && isGrpcContentType(s.response.contentType));
}

export function exchangeOf(s: Http2Stream, endNs: bigint): Exchange {
  if (isGrpcStream(s)) {
    return grpcExchange({
      streamId: s.id,
      startNs: s.startNs,
      endNs,
      ...(s.request.path !== undefined ? { path: pathOf(s.request.path) } : {}),
      ...(s.request.authority !== undefined ? { authority: s.request.authority } : {}),
      ...(s.request.traceparent !== undefined ? { traceparent: s.request.traceparent } : {}),
      ...(s.request.grpcTimeoutNs !== undefined ? { timeoutNs: s.request.grpcTimeoutNs } : {}),
      ...(s.response.status !== undefined ? { httpStatus: s.response.status } : {}),
      ...(s.response.grpcStatus !== undefined ? { grpcStatus: s.response.grpcStatus } : {}),
      ...(s.response.grpcMessage !== undefined ? { grpcMessage: s.response.grpcMessage } : {}),
      responseUnresolved: s.response.unresolved > 0,
      ...(s.reset ? { reset: s.reset } : {}),
      ...(s.refusedByGoaway !== undefined ? { refusedByGoaway: s.refusedByGoaway } : {}),
      request: s.requestMessages,
      response: s.responseMessages,
      ...(s.request.captured !== undefined ? { requestMetadata: s.request.captured } : {}),
      ...(s.response.captured !== undefined ? { responseMetadata: s.response.captured } : {}),
    });
  }
  return httpExchange(s, endNs);
}

function httpExchange(s: Http2Stream, endNs: bigint): Exchange {
  const req = s.request;
  const attributes: Record<string, AttributeValue> = {};
  let method: string | undefined;
  if (req.method !== undefined) {
    method = STANDARD_METHODS.has(req.method) ? req.method : '_OTHER';
    attributes['http.request.method'] = method;
    if (method === '_OTHER') attributes['http.request.method_original'] = req.method;
  }
  let route: string | undefined;
  if (req.path !== undefined && req.path.startsWith('/')) {
    const path = pathOf(req.path);
    route = routeOf(path);
    attributes['url.path'] = path;
    attributes['http.route'] = route;
  }
  if (req.scheme !== undefined) attributes['url.scheme'] = req.scheme;
  if (req.authority) {
    const { address, port } = splitAuthority(req.authority);
    attributes['server.address'] = address;
    if (port !== undefined) attributes['server.port'] = port;
  }
  const status = s.response.status;
  if (status !== undefined) attributes['http.response.status_code'] = status;
  attributes['network.protocol.name'] = 'http';
  attributes['network.protocol.version'] = '2';
  attributes['http.request.body.size'] = s.requestBodySize;
  attributes['http.response.body.size'] = s.responseBodySize;
  if (req.userAgent !== undefined) attributes['user_agent.original'] = req.userAgent;
  if (req.query !== undefined) attributes['url.query'] = req.query;
  req.captured?.addTo(attributes, 'http');
  s.response.captured?.addTo(attributes, 'http');

  let error: Exchange['error'];
  if (s.reset && (s.reset.errorName !== 'NO_ERROR' || status === undefined)) {
    attributes['http2.rst_stream.error_code'] = s.reset.errorName;
    attributes['error.type'] = s.reset.errorName;
    error = { server: true, client: true, message: `RST_STREAM ${s.reset.errorName} from the ${s.reset.by}` };
  } else if (s.refusedByGoaway !== undefined) {
    attributes['error.type'] = s.refusedByGoaway;
    error = { server: true, client: true, message: `GOAWAY ${s.refusedByGoaway}: stream not processed` };
  } else if (status !== undefined && status >= 400) {
    error = { server: status >= 500, client: true, message: `HTTP ${status}` };
  } else {
    error = { server: false, client: false };
  }
  const head = method === undefined || method === '_OTHER' ? 'HTTP' : method;
  const name = route !== undefined ? `${head} ${route}` : head;
  const pairKey = String(s.id);
  // Two literals rather than a spread of an optional key: a spread inside a
  // literal builds the object key by key, at a cost seen once per exchange.
  return req.traceparent
    ? { protocol: 'http2', name, startNs: s.startNs, endNs, attributes, error, traceparent: req.traceparent, pairKey }
    : { protocol: 'http2', name, startNs: s.startNs, endNs, attributes, error, pairKey };
}

/** Set on a stream some of whose header fields could not be read (HPACK state missing, a block lost or cut short). */
export const HEADERS_MISSING = 'hydrophone.http2.headers_missing';

/**
 * The exchange, marked when a header block of its stream was not read
 * whole: it is still reported (timing, sizes, what was resolved), and the
 * mark says why :path, :status or grpc-status may be absent.
 */
export function withHeadersMissing(s: Http2Stream, exchange: Exchange): Exchange {
  if (s.request.unresolved <= 0 && s.response.unresolved <= 0) return exchange;
  return { ...exchange, attributes: { ...exchange.attributes, [HEADERS_MISSING]: true } };
}
