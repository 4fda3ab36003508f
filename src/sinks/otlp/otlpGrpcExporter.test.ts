/**
 * The OTLP/gRPC exporter against a real gRPC server (grpc-js) that serves
 * the OTLP trace Export method, requires client certificates, records what
 * it received and answers what a test tells it to. The real OpenTelemetry
 * Collector is in test/sinks/otlpCollector.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, ServerCredentials, Metadata, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { OtlpGrpcExporter } from './otlpGrpcExporter.ts';
import { encodeExportTraceRequest } from './otlpProtobuf.ts';
import type { OtlpSinkConfig } from './otlpConfig.ts';
import { loadTlsMaterial } from '../tls/tlsMaterial.ts';
import type { Span } from '../../spans/span.ts';
import { makeTestPki, type TestPki } from '../../../test/support/testPki.ts';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const identity = (b: Buffer) => b;

interface Received {
  body: Buffer;
  authorization: string | undefined;
  peerCn: string | undefined;
}

/** What the server answers next: OK, or a status with optional RetryInfo delay. */
type Answer = { code: number; details?: string; retryDelayS?: number } | { partial: { rejected: number; message: string } } | 'ok';

class FakeCollector {
  readonly received: Received[] = [];
  answers: Answer[] = [];
  private server = new Server();
  port = 0;

  async start(pki: TestPki): Promise<void> {
    this.server.addService(
      { export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
      {
        export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          const cert = call.getAuthContext()?.sslPeerCertificate;
          this.received.push({ body: call.request, authorization: call.metadata.get('authorization')[0]?.toString(), peerCn: [cert?.subject?.CN].flat()[0] });
          const answer = this.answers.shift() ?? 'ok';
          if (answer === 'ok') return callback(null, Buffer.alloc(0));
          if ('partial' in answer) return callback(null, partialSuccess(answer.partial.rejected, answer.partial.message));
          const trailer = new Metadata();
          if (answer.retryDelayS !== undefined) trailer.set('grpc-status-details-bin', statusWithRetryInfo(answer.code, answer.retryDelayS));
          callback({ code: answer.code, details: answer.details ?? 'test', metadata: trailer });
        },
      },
    );
    const creds = ServerCredentials.createSsl(Buffer.from(pki.caPem), [{ cert_chain: Buffer.from(pki.server.certPem), private_key: Buffer.from(pki.server.keyPem) }], true);
    this.port = await new Promise((resolve, reject) => this.server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))));
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** ExportTraceServiceResponse { partial_success = 1: { rejected_spans = 1, error_message = 2 } } */
function partialSuccess(rejected: number, message: string): Buffer {
  const body = Buffer.concat([Buffer.from([0x08, rejected]), Buffer.from([0x12, message.length]), Buffer.from(message)]);
  return Buffer.concat([Buffer.from([0x0a, body.length]), body]);
}

/** google.rpc.Status { code = 1, details = 3: Any { type_url = 1, value = 2: RetryInfo { retry_delay = 1: Duration { seconds = 1 } } } } */
function statusWithRetryInfo(code: number, seconds: number): Buffer {
  const ld = (field: number, body: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, body.length]), body]);
  const duration = Buffer.from([0x08, seconds]);
  const retryInfo = ld(1, duration);
  const any = Buffer.concat([ld(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), ld(2, retryInfo)]);
  return Buffer.concat([Buffer.from([0x08, code]), ld(3, any)]);
}

const SPANS: Span[] = [1, 2, 3].map((i) => ({
  traceId: `${i}`.repeat(32),
  spanId: `${i}`.repeat(16),
  parentSpanId: '',
  name: `GET /items/{id}`,
  kind: 2,
  startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
  endTimeUnixNano: 1_700_000_000_500_000_000n + BigInt(i),
  attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
  status: { code: 0 },
  resource: { 'service.name': 'cart' },
}));

let dir: string;
let pki: TestPki;
const collector = new FakeCollector();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-otlp-'));
  pki = await makeTestPki(path.join(dir, 'pki'));
  await collector.start(pki);
  await writeFile(path.join(dir, 'password'), 's3cret-pass\n', { mode: 0o600 });
}, 30_000);

afterAll(async () => {
  collector.stop();
  await rm(dir, { recursive: true, force: true });
});

function config(overrides: Partial<OtlpSinkConfig> = {}): OtlpSinkConfig {
  return {
    endpoint: `127.0.0.1:${collector.port}`,
    allowPlaintext: false,
    tls: { caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile },
    auth: { kind: 'basic', username: 'sensor-1', passwordFile: path.join(dir, 'password') },
    compression: 'gzip',
    timeoutMs: 5_000,
    ...overrides,
  };
}

describe('OtlpGrpcExporter against a gRPC server requiring client certificates', () => {
  it('sends the OTLP request over mTLS with basic auth and the spans unchanged', async () => {
    const ex = new OtlpGrpcExporter(config(), () => {});
    const before = collector.received.length;
    expect(await ex.send(SPANS)).toEqual({ kind: 'sent' });
    const got = collector.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.body.equals(Buffer.from(encodeExportTraceRequest(SPANS)))).toBe(true);
    expect(got[0]!.authorization).toBe(`Basic ${Buffer.from('sensor-1:s3cret-pass').toString('base64')}`);
    expect(got[0]!.peerCn).toBe('hydrophone-test-sensor');
    expect(ex.describe()).toMatch(/^OTLP\/gRPC to 127\.0\.0\.1:\d+, mTLS as CN=hydrophone-test-sensor .*basic auth, gzip$/);
    expect(ex.describe()).not.toContain('s3cret');
    await ex.close();
  });

  it.each([
    ['UNAVAILABLE is retried', { code: status.UNAVAILABLE }, { kind: 'retryable' }],
    ['RESOURCE_EXHAUSTED with RetryInfo is retried after the server\'s delay', { code: status.RESOURCE_EXHAUSTED, retryDelayS: 3 }, { kind: 'retryable', retryAfterMs: 3000 }],
    ['RESOURCE_EXHAUSTED without RetryInfo is permanent', { code: status.RESOURCE_EXHAUSTED }, { kind: 'permanent' }],
    ['UNAVAILABLE with RetryInfo waits the server\'s delay', { code: status.UNAVAILABLE, retryDelayS: 7 }, { kind: 'retryable', retryAfterMs: 7000 }],
    ['UNAUTHENTICATED is permanent and says what to check', { code: status.UNAUTHENTICATED, details: 'invalid credentials' }, { kind: 'permanent', reason: expect.stringMatching(/UNAUTHENTICATED: invalid credentials .*password/) }],
    ['INVALID_ARGUMENT is permanent', { code: status.INVALID_ARGUMENT }, { kind: 'permanent' }],
  ] as const)('%s', async (_name, answer, expected) => {
    const ex = new OtlpGrpcExporter(config(), () => {});
    collector.answers.push(answer);
    expect(await ex.send(SPANS)).toMatchObject(expected);
    await ex.close();
  });

  it('reports the spans a collector accepted but dropped (partial success), so they are counted, not called sent', async () => {
    const ex = new OtlpGrpcExporter(config(), () => {});
    collector.answers.push({ partial: { rejected: 2, message: 'span too old' } });
    expect(await ex.send(SPANS)).toEqual({ kind: 'sent', rejected: 2, rejectedReason: 'span too old' });
    expect(await ex.send(SPANS)).toEqual({ kind: 'sent' });
    await ex.close();
  });

  it('reports a server certificate from a CA it does not trust as retryable, with the reason', async () => {
    const ex = new OtlpGrpcExporter(config({ tls: { caFile: pki.otherCaFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile } }), () => {});
    const outcome = await ex.send(SPANS);
    expect(outcome.kind).toBe('retryable');
    expect((outcome as { reason: string }).reason).toMatch(/UNAVAILABLE: .*(certificate|verify)/i);
    await ex.close();
  });

  it('is refused by the server with a client certificate from another CA, without crashing', async () => {
    const before = collector.received.length;
    const ex = new OtlpGrpcExporter(config({ tls: { caFile: pki.caFile, certFile: pki.foreignClient.certFile, keyFile: pki.foreignClient.keyFile } }), () => {});
    const outcome = await ex.send(SPANS);
    expect(outcome.kind).toBe('retryable');
    expect(collector.received.length).toBe(before);
    await ex.close();
  });

  it('picks up a rotated client certificate without a restart, and keeps the old one through a broken rotation', async () => {
    const certFile = path.join(dir, 'rot.crt');
    const keyFile = path.join(dir, 'rot.key');
    await copyFile(pki.client.certFile, certFile);
    await copyFile(pki.client.keyFile, keyFile);
    const lines: string[] = [];
    const ex = new OtlpGrpcExporter(config({ tls: { caFile: pki.caFile, certFile, keyFile } }), (l) => lines.push(l));
    expect(await ex.send(SPANS)).toEqual({ kind: 'sent' });
    expect(collector.received.at(-1)!.peerCn).toBe('hydrophone-test-sensor');

    // Half a rotation: the new certificate without its key. The old pair stays in use.
    const next = await pki.issueClient('rotated', 'hydrophone-test-sensor-rotated');
    await copyFile(next.certFile, certFile);
    await waitFor(() => ex.failedReloads > 0);
    expect(lines.join('\n')).toMatch(/certificate reload failed, still using the previous credentials: otlp.keyFile: .* is not the key of the certificate/);
    expect(await ex.send(SPANS)).toEqual({ kind: 'sent' });
    expect(collector.received.at(-1)!.peerCn).toBe('hydrophone-test-sensor');

    await copyFile(next.keyFile, keyFile);
    await waitFor(() => ex.reloads === 1);
    expect(await ex.send(SPANS)).toEqual({ kind: 'sent' });
    expect(collector.received.at(-1)!.peerCn).toBe('hydrophone-test-sensor-rotated');
    await ex.close();
  });

  it('picks up a changed password file', async () => {
    const passwordFile = path.join(dir, 'password2');
    await writeFile(passwordFile, 'first');
    const ex = new OtlpGrpcExporter(config({ auth: { kind: 'basic', username: 'u', passwordFile } }), () => {});
    await ex.send(SPANS);
    expect(collector.received.at(-1)!.authorization).toBe(`Basic ${Buffer.from('u:first').toString('base64')}`);
    await writeFile(passwordFile, 'second');
    await waitFor(() => ex.reloads === 1);
    await ex.send(SPANS);
    expect(collector.received.at(-1)!.authorization).toBe(`Basic ${Buffer.from('u:second').toString('base64')}`);
    await ex.close();
  });
});

describe('OtlpGrpcExporter configuration errors at start', () => {
  it.each([
    ['plain text without consent', () => config({ endpoint: 'http://127.0.0.1:4317', tls: {} }), /plain text.*--otlp-insecure/],
    ['a path in the endpoint', () => config({ endpoint: 'https://collector:4317/v1/traces' }), /gRPC takes no path/],
    ['an unreadable key', () => config({ tls: { caFile: pki.caFile, certFile: pki.client.certFile, keyFile: '/nonexistent/key.pem' } }), /otlp\.keyFile: cannot read \/nonexistent\/key\.pem \(ENOENT\)/],
    ['a key of another certificate', () => config({ tls: { caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.foreignClient.keyFile } }), /otlp\.keyFile: .* is not the key of the certificate/],
    ['a server certificate given as the CA', () => config({ tls: { caFile: pki.server.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile } }), /otlp\.caFile: .* holds no CA certificate/],
    ['a certificate without its key', () => config({ tls: { caFile: pki.caFile, certFile: pki.client.certFile } }), /certFile and keyFile go together/],
    ['a password from nowhere', () => config({ auth: { kind: 'basic', username: 'u' } }), /HYDROPHONE_OTLP_PASSWORD/],
  ] as const)('%s', (_name, make, message) => {
    expect(() => new OtlpGrpcExporter(make(), () => {})).toThrow(message);
  });

  it('refuses an expired client certificate', () => {
    // The two-day test certificate, checked as if it were three days from now.
    const later = new Date(Date.now() + 3 * 86_400_000);
    expect(() => loadTlsMaterial('otlp', { caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile }, later)).toThrow(/otlp\.certFile: the certificate in .* expired on .*: issue a new one/);
  });

  it('allows plain text when told, for a collector on the same host', async () => {
    const ex = new OtlpGrpcExporter(config({ endpoint: 'http://127.0.0.1:1', allowPlaintext: true, tls: {} }), () => {});
    expect(ex.describe()).toContain('plain text (allowed by config)');
    await ex.close();
  });
});

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

