/**
 * What a failed OTLP/gRPC export means for the queue: which status codes
 * are worth retrying is fixed by the OTLP specification (RESOURCE_EXHAUSTED
 * only when the server says when to come back), and the server's pause
 * comes from google.rpc.RetryInfo in the grpc-status-details-bin trailer.
 */
import type { SendOutcome } from '../exporter.ts';
import { protoFields as fields } from './protoReader.ts';

/** grpc-js status codes, by name, for the ones this module reasons about. */
const Code = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12,
  INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;
const NAMES = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k])) as Record<number, string>;

const RETRYABLE = new Set<number>([Code.CANCELLED, Code.DEADLINE_EXCEEDED, Code.ABORTED, Code.OUT_OF_RANGE, Code.UNAVAILABLE, Code.DATA_LOSS]);

/** What to do about each permanent code, for the log line. */
const FIX: Partial<Record<number, string>> = {
  [Code.UNAUTHENTICATED]: 'the collector refused our credentials: check the basic-auth user and password or the bearer token',
  [Code.PERMISSION_DENIED]: 'the collector does not allow this sensor to send: check its auth extension settings',
  [Code.UNIMPLEMENTED]: 'the endpoint is not an OTLP trace receiver: check the host and port (4317 is the Collector default)',
  [Code.INVALID_ARGUMENT]: 'the collector rejected the data',
};

/** grpc-js's words for an HTTP answer that is not gRPC: a proxy or load balancer answered, not the collector. */
const HTTP_REFUSAL_FIX = 'an HTTP proxy in front of the collector refused the request: check that it accepts this sensor\'s client certificate (nginx answers 400 to one it refuses, e.g. a revoked one) and that the endpoint is the OTLP/gRPC port';

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** The fields of a grpc-js ServiceError this module reads. */
export interface GrpcFailure {
  readonly code?: number;
  readonly details?: string;
  readonly message?: string;
  readonly metadata?: { get(key: string): readonly (string | Buffer)[] };
}

export function outcomeOfGrpcFailure(err: GrpcFailure): SendOutcome {
  if (typeof err.code !== 'number') return { kind: 'retryable', reason: err.message ?? String(err) };
  const name = NAMES[err.code] ?? `code ${err.code}`;
  const reason = `${name}: ${err.details || err.message || 'no details'}`;
  const retryAfterMs = retryDelayMs(err);
  // A deadline or cancellation can strike after the collector took the request: delivery unknown.
  const maybeDelivered = err.code === Code.DEADLINE_EXCEEDED || err.code === Code.CANCELLED;
  if (RETRYABLE.has(err.code)) {
    return { kind: 'retryable', reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...(maybeDelivered ? { maybeDelivered } : {}) };
  }
  if (err.code === Code.RESOURCE_EXHAUSTED && retryAfterMs !== undefined) return { kind: 'retryable', reason, retryAfterMs };
  const fix = /Received HTTP status code 4\d\d/.test(reason) ? HTTP_REFUSAL_FIX : FIX[err.code];
  return { kind: 'permanent', reason: fix ? `${reason} (${fix})` : reason };
}

function retryDelayMs(err: GrpcFailure): number | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (bin === undefined || typeof bin === 'string') return undefined;
  try {
    return retryDelayFromStatusDetails(bin);
  } catch {
    return undefined; // a malformed trailer is the server's bug; fall back to our own backoff
  }
}

/** Reads google.rpc.Status { repeated Any details = 3 } for a RetryInfo { Duration retry_delay = 1 }. */
export function retryDelayFromStatusDetails(status: Uint8Array): number | undefined {
  for (const [field, any] of fields(status)) {
    if (field !== 3 || !(any instanceof Uint8Array)) continue;
    let typeUrl = '';
    let value: Uint8Array | undefined;
    for (const [f, v] of fields(any)) {
      if (f === 1 && v instanceof Uint8Array) typeUrl = Buffer.from(v).toString('utf8');
      if (f === 2 && v instanceof Uint8Array) value = v;
    }
    if (typeUrl !== RETRY_INFO_TYPE || value === undefined) continue;
    for (const [f, duration] of fields(value)) {
      if (f !== 1 || !(duration instanceof Uint8Array)) continue;
      let seconds = 0;
      let nanos = 0;
      for (const [df, dv] of fields(duration)) {
        if (df === 1 && typeof dv === 'number') seconds = dv;
        if (df === 2 && typeof dv === 'number') nanos = dv;
      }
      return seconds * 1000 + Math.round(nanos / 1e6);
    }
    return 0;
  }
  return undefined;
}

