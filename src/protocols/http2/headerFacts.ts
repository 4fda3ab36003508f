/**
 * The few header fields an exchange is reported with, picked out of a
 * decoded header block. Nothing else is kept: header values carry
 * credentials (authorization, cookie...), and keeping only these bounds
 * the memory an open stream holds. The exception is what an operator
 * allow-listed (../attributeCapture): those values are kept too, bounded,
 * and never those of a sensitive header.
 */
import { parseGrpcTimeout } from '../grpc/index.ts';
import { queryOf, type AttributeCapture, type CapturedValues } from '../attributeCapture/index.ts';
import type { DecodedBlock } from './hpack.ts';

/** Longest value kept of any field (paths and user agents can be long). */
const MAX_VALUE_LENGTH = 4096;

export interface RequestFacts {
  method?: string;
  path?: string;
  scheme?: string;
  authority?: string;
  userAgent?: string;
  contentType?: string;
  traceparent?: string;
  grpcTimeoutNs?: bigint;
  /** Values of allow-listed request headers / gRPC request metadata. */
  captured?: CapturedValues;
  /** url.query, redacted, when configured. */
  query?: string;
  /** Fields of the block this observer could not resolve. */
  unresolved: number;
}

export interface ResponseFacts {
  status?: number;
  contentType?: string;
  grpcStatus?: number;
  grpcMessage?: string;
  /** Values of allow-listed response headers / gRPC response metadata, trailers included. */
  captured?: CapturedValues;
  unresolved: number;
}

function clip(v: string): string {
  return v.length > MAX_VALUE_LENGTH ? v.slice(0, MAX_VALUE_LENGTH) : v;
}

/** `capture`: what the operator allow-listed besides these (nothing by default). */
export function requestFacts(block: DecodedBlock, capture?: AttributeCapture): RequestFacts {
  const f: RequestFacts = { unresolved: block.unknown + (block.malformed ? 1 : 0) };
  const names = capture?.http2Request;
  // Indexed loops, not for...of: the optimising tier short of the top one
  // (Maglev) allocates an iterator result per field.
  const fields = block.fields;
  for (let i = 0; i < fields.length; i++) {
    const { name, value } = fields[i]!;
    if (value === undefined) continue;
    if (names !== undefined) {
      const at = names.match(name);
      if (at >= 0) f.captured = names.keep(f.captured, at, value);
    }
    switch (name) {
      case ':method':
        f.method ??= clip(value);
        break;
      case ':path':
        f.path ??= clip(value);
        break;
      case ':scheme':
        f.scheme ??= clip(value);
        break;
      case ':authority':
        f.authority ??= clip(value);
        break;
      case 'host': // RFC 9113 8.3.1: stands in for :authority
        if (f.authority === undefined) f.authority = clip(value);
        break;
      case 'user-agent':
        f.userAgent ??= clip(value);
        break;
      case 'content-type':
        f.contentType ??= clip(value);
        break;
      case 'traceparent':
        f.traceparent ??= clip(value);
        break;
      case 'grpc-timeout': {
        const t = parseGrpcTimeout(value);
        if (t !== undefined) f.grpcTimeoutNs ??= t;
        break;
      }
    }
  }
  if (capture?.capturesQuery && f.path !== undefined) {
    const query = queryOf(f.path);
    const redacted = query === undefined ? undefined : capture.urlQuery(query);
    if (redacted !== undefined) f.query = redacted;
  }
  return f;
}

/**
 * Facts of a response header block or trailers, merged into `into` (later
 * blocks win for grpc-*). `capture`: what the operator allow-listed besides
 * these (nothing by default); the values of every block are kept.
 */
export function mergeResponseFacts(into: ResponseFacts, block: DecodedBlock, capture?: AttributeCapture): void {
  into.unresolved += block.unknown + (block.malformed ? 1 : 0);
  const names = capture?.http2Response;
  const fields = block.fields;
  for (let i = 0; i < fields.length; i++) {
    const { name, value } = fields[i]!;
    if (value === undefined) continue;
    if (names !== undefined) {
      const at = names.match(name);
      if (at >= 0) into.captured = names.keep(into.captured, at, value);
    }
    switch (name) {
      case ':status': {
        const s = statusCode(value);
        if (s !== undefined) into.status ??= s;
        break;
      }
      case 'content-type':
        into.contentType ??= clip(value);
        break;
      case 'grpc-status':
        if (/^\d{1,3}$/.test(value)) into.grpcStatus = Number(value);
        break;
      case 'grpc-message':
        into.grpcMessage = clip(value);
        break;
    }
  }
}

/** The :status of a block, if it has one that resolved. */
export function statusOf(block: DecodedBlock): number | undefined {
  const fields = block.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.name === ':status') return f.value === undefined ? undefined : statusCode(f.value);
  }
  return undefined;
}

/** A :status value as a number when it is three ASCII digits (/^\d{3}$/, without the regex per response). */
function statusCode(v: string): number | undefined {
  if (v.length !== 3) return undefined;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  // HTTP status codes are 100-599 in use and three digits by syntax; below 100 is not one.
  return n >= 100 ? n : undefined;
}
