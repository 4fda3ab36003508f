import { describe, expect, it } from 'vitest';
import { outcomeOfGrpcFailure, type GrpcFailure } from './grpcOutcome.ts';

/** google.rpc.Status { details: [Any { type_url: RetryInfo, value: RetryInfo { retry_delay: { seconds, nanos } } }] }, encoded by hand. */
function statusWithRetryDelay(seconds: number, nanos: number): Buffer {
  const len = (b: Buffer) => Buffer.from([b.length]);
  const field = (n: number, b: Buffer) => Buffer.concat([Buffer.from([(n << 3) | 2]), len(b), b]);
  const duration = Buffer.from([0x08, seconds, 0x10, ...varint(nanos)]);
  const retryInfo = field(1, duration);
  const any = Buffer.concat([field(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), field(2, retryInfo)]);
  return field(3, any);
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return out;
}
const withDetails = (bin: Buffer) => ({ get: (key: string) => (key === 'grpc-status-details-bin' ? [bin] : []) });

describe('outcomeOfGrpcFailure', () => {
  it.each<[string, GrpcFailure, object]>([
    ['no status code (a local error): retried', { message: 'socket hang up' }, { kind: 'retryable', reason: 'socket hang up' }],
    ['UNAVAILABLE: retried', { code: 14, details: 'connection refused' }, { kind: 'retryable', reason: 'UNAVAILABLE: connection refused' }],
    ['DEADLINE_EXCEEDED: retried, maybe delivered', { code: 4, details: 'deadline' }, { kind: 'retryable', maybeDelivered: true }],
    ['RESOURCE_EXHAUSTED without RetryInfo: dropped', { code: 8, details: 'full' }, { kind: 'permanent', reason: 'RESOURCE_EXHAUSTED: full' }],
    ['RESOURCE_EXHAUSTED with RetryInfo: retried after its delay', { code: 8, details: 'full', metadata: withDetails(statusWithRetryDelay(2, 500_000_000)) }, { kind: 'retryable', retryAfterMs: 2500 }],
    ['UNAUTHENTICATED: dropped, with what to check', { code: 16, details: 'bad creds' }, { kind: 'permanent', reason: expect.stringMatching(/^UNAUTHENTICATED: bad creds \(.*basic-auth user and password/) }],
    ['an HTTP 400 from a proxy: dropped, naming the proxy and the client certificate', { code: 13, details: 'Received HTTP status code 400' }, { kind: 'permanent', reason: expect.stringMatching(/^INTERNAL: Received HTTP status code 400 \(an HTTP proxy in front of the collector refused the request: check that it accepts this sensor's client certificate/) }],
    ['INTERNAL otherwise: dropped as it is', { code: 13, details: 'boom' }, { kind: 'permanent', reason: 'INTERNAL: boom' }],
  ])('%s', (_, err, expected) => {
    expect(outcomeOfGrpcFailure(err)).toMatchObject(expected);
  });
});
