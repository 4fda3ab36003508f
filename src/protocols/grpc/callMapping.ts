/**
 * A gRPC call (one HTTP/2 stream) in OpenTelemetry's RPC semantic
 * conventions. Besides the standard `rpc.*` attributes, message counts
 * and sizes per direction are reported under `rpc.grpc.request.*` and
 * `rpc.grpc.response.*` (ours, namespaced like the rest of rpc.grpc):
 *
 *   rpc.grpc.request.message_count   messages the client sent (compressed ones included)
 *   rpc.grpc.response.message_count  messages the server sent
 *   rpc.grpc.request.body.size       sum of the client's message lengths, as on the wire
 *   rpc.grpc.response.body.size      the same for the server (5-byte prefixes excluded)
 *
 * When the call ended with RST_STREAM, `http2.rst_stream.error_code`
 * names the HTTP/2 error code (and `error.type` repeats it).
 *
 * Allow-listed metadata (attributes.grpcRequestMetadata /
 * grpcResponseMetadata) is reported as `rpc.grpc.request.metadata.<key>`
 * and `rpc.grpc.response.metadata.<key>`, string arrays; response metadata
 * includes the trailers. Binary keys ("-bin") are reported as sent: base64
 * text, never decoded.
 */
import type { Exchange } from '../contract.ts';
import type { AttributeValue } from '../../spans/span.ts';
import type { CapturedValues } from '../attributeCapture/index.ts';
import type { GrpcMessageCounter } from './messageFraming.ts';
import { GrpcStatus, isServerError, statusFromHttp, statusFromResetCode } from './status.ts';

export interface GrpcCall {
  readonly streamId: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly path?: string;
  readonly authority?: string;
  readonly traceparent?: string;
  /** The grpc-timeout the client sent, in nanoseconds. */
  readonly timeoutNs?: bigint;
  readonly httpStatus?: number;
  /** grpc-status and grpc-message, from the trailers or a Trailers-Only response. */
  readonly grpcStatus?: number;
  readonly grpcMessage?: string;
  /** The response header blocks held fields this observer could not resolve (a missing grpc-status proves nothing). */
  readonly responseUnresolved: boolean;
  readonly reset?: { readonly errorCode: number; readonly errorName: string; readonly by: 'client' | 'server' };
  /** The server's GOAWAY left this stream unprocessed (its error code name). */
  readonly refusedByGoaway?: string;
  readonly request: GrpcMessageCounter;
  readonly response: GrpcMessageCounter;
  /** Values of allow-listed request and response metadata, when any. */
  readonly requestMetadata?: CapturedValues;
  readonly responseMetadata?: CapturedValues;
}

/** content-type application/grpc, application/grpc+proto, application/grpc;... (not grpc-web, framed otherwise). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc(?:$|[+;])/i.test(contentType.trim());
}

/** "/package.Service/Method" -> service and method. */
export function splitGrpcPath(path: string): { service: string; method: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m ? { service: m[1]!, method: m[2]! } : undefined;
}

/** grpc-message is percent-encoded UTF-8. */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(s[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The call's status, and why when no grpc-status said so. */
function outcome(call: GrpcCall): { status?: number; reason?: string } {
  if (call.grpcStatus !== undefined) return { status: call.grpcStatus };
  if (call.reset) {
    const { errorCode, errorName, by } = call.reset;
    const elapsed = call.endNs - call.startNs;
    // When the deadline passes, whichever end notices first cancels the stream (a client,
    // or a grpc-go server): the client's own status is DEADLINE_EXCEEDED either way.
    if (errorName === 'CANCEL' && call.timeoutNs !== undefined && elapsed * 50n >= call.timeoutNs * 49n) {
      return { status: GrpcStatus.DEADLINE_EXCEEDED, reason: `deadline exceeded: RST_STREAM ${errorName} from the ${by}` };
    }
    return { status: statusFromResetCode(errorCode), reason: `RST_STREAM ${errorName} from the ${by}` };
  }
  if (call.refusedByGoaway !== undefined) return { status: GrpcStatus.UNAVAILABLE, reason: `GOAWAY ${call.refusedByGoaway}: stream not processed` };
  if (call.httpStatus !== undefined && call.httpStatus !== 200) return { status: statusFromHttp(call.httpStatus), reason: `HTTP ${call.httpStatus}` };
  if (call.responseUnresolved) return {};
  return { status: GrpcStatus.UNKNOWN, reason: 'no grpc-status in the response' };
}

export function grpcExchange(call: GrpcCall): Exchange {
  const parts = call.path !== undefined ? splitGrpcPath(call.path) : undefined;
  const attributes: Record<string, AttributeValue> = {
    'rpc.system': 'grpc',
    'network.protocol.name': 'http',
    'network.protocol.version': '2',
  };
  if (parts) {
    attributes['rpc.service'] = parts.service;
    attributes['rpc.method'] = parts.method;
  }
  const { status, reason } = outcome(call);
  if (status !== undefined) attributes['rpc.grpc.status_code'] = status;
  if (call.authority) {
    const { address, port } = splitAuthority(call.authority);
    attributes['server.address'] = address;
    if (port !== undefined) attributes['server.port'] = port;
  }
  attributes['rpc.grpc.request.message_count'] = call.request.count;
  attributes['rpc.grpc.response.message_count'] = call.response.count;
  attributes['rpc.grpc.request.body.size'] = call.request.bytes;
  attributes['rpc.grpc.response.body.size'] = call.response.bytes;
  if (call.reset) {
    attributes['http2.rst_stream.error_code'] = call.reset.errorName;
    attributes['error.type'] = call.reset.errorName;
  }
  call.requestMetadata?.addTo(attributes, 'grpc');
  call.responseMetadata?.addTo(attributes, 'grpc');
  const failed = status !== undefined && status !== GrpcStatus.OK;
  const message = call.grpcMessage !== undefined && call.grpcMessage !== '' ? percentDecode(call.grpcMessage) : failed ? reason : undefined;
  return {
    protocol: 'grpc',
    name: parts ? `${parts.service}/${parts.method}` : (call.path || 'grpc'),
    startNs: call.startNs,
    endNs: call.endNs,
    attributes,
    error: {
      server: status !== undefined && isServerError(status),
      client: failed,
      ...(failed && message !== undefined ? { message } : {}),
    },
    ...(call.traceparent ? { traceparent: call.traceparent } : {}),
    pairKey: String(call.streamId),
  };
}

/**
 * :authority "host[:port]" or "[v6]:port". By hand rather than by regular
 * expression (once per exchange): the rules of
 * /^\[([^\]]+)\](?::(\d+))?$/ first, then /^([^:]*)(?::(\d+))?$/, and
 * the whole text as the address when neither fits.
 */
export function splitAuthority(authority: string): { address: string; port?: number } {
  const at = authority.lastIndexOf('@'); // userinfo is deprecated but legal; never report it
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  if (hostPort.charCodeAt(0) === 0x5b /* [ */) {
    const close = hostPort.indexOf(']');
    if (close > 1) {
      if (close + 1 === hostPort.length) return { address: hostPort.slice(1, close) };
      if (hostPort.charCodeAt(close + 1) === 0x3a /* : */ && allDigits(hostPort, close + 2)) {
        return withPort(hostPort.slice(1, close), hostPort, close + 2);
      }
    }
  }
  const colon = hostPort.indexOf(':');
  if (colon < 0) return { address: hostPort };
  if (allDigits(hostPort, colon + 1)) return withPort(hostPort.slice(0, colon), hostPort, colon + 1);
  return { address: hostPort };
}

/** Whether text[from...] is one or more ASCII digits. */
function allDigits(text: string, from: number): boolean {
  if (from >= text.length) return false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The address with the port when text[from...] is one (at most 65535), else the address alone. */
function withPort(address: string, text: string, from: number): { address: string; port?: number } {
  const port = text.length - from <= 5 ? Number(text.slice(from)) : NaN;
  return port <= 65535 ? { address, port } : { address };
}
