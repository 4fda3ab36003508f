/**
 * The OTLP/gRPC exporter: OpenTelemetry JS's own OTLPTraceExporter
 * carrying the pipeline's spans, over TLS with a client certificate and an
 * optional authorization header. When the certificate, key, CA or secret
 * files change, a new exporter with the new credentials takes over
 * (rotation without restart); a half-written rotation keeps the old ones.
 */
import { credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Span } from '../../spans/span.ts';
import type { BatchExporter, SendOutcome } from '../exporter.ts';
import { SENSOR_NAME, SENSOR_VERSION } from '../../sensorIdentity.ts';
import { watchFiles, type FileWatch } from '../tls/fileWatch.ts';
import { toReadableSpan } from './readableSpan.ts';
import { outcomeOfGrpcFailure, type GrpcFailure } from './grpcOutcome.ts';
import { credentialFiles, loadOtlpCredentials, parseOtlpEndpoint, type OtlpCredentials, type OtlpEndpoint, type OtlpSinkConfig } from './otlpConfig.ts';

export class OtlpGrpcExporter implements BatchExporter {
  readonly name = 'otlp';
  readonly endpoint: OtlpEndpoint;
  /** Credential reloads that took effect; failed ones are logged and counted apart. */
  reloads = 0;
  failedReloads = 0;
  private readonly config: OtlpSinkConfig;
  private readonly log: (line: string) => void;
  private credentials: OtlpCredentials;
  private exporter: OTLPTraceExporter;
  private readonly watch: FileWatch | undefined;

  /** Reads and checks every file now: a bad config fails here, at start. */
  constructor(config: OtlpSinkConfig, log: (line: string) => void) {
    this.config = config;
    this.log = log;
    this.endpoint = parseOtlpEndpoint(config.endpoint, config.allowPlaintext);
    if (this.endpoint.plaintext && (config.tls.certFile || config.tls.caFile)) {
      throw new Error('otlp: certificate files are set but the endpoint is plain text (http://): use https:// for TLS');
    }
    this.credentials = loadOtlpCredentials(config);
    this.exporter = this.build(this.credentials);
    const files = credentialFiles(config);
    this.watch = files.length > 0 ? watchFiles(files, () => this.reload()) : undefined;
  }

  /** One line for the start-up log: where, how, as whom. No secrets. */
  describe(): string {
    const c = this.credentials;
    const how = this.endpoint.plaintext ? 'plain text (allowed by config)' : c.tls.cert ? `mTLS as ${c.tls.clientIdentity?.subject} (valid to ${c.tls.clientIdentity?.validTo})` : 'TLS';
    const auth = this.config.auth ? `, ${this.config.auth.kind} auth` : '';
    return `OTLP/gRPC to ${this.endpoint.host}:${this.endpoint.port}, ${how}${auth}, ${this.config.compression === 'gzip' ? 'gzip' : 'uncompressed'}`;
  }

  private build(c: OtlpCredentials): OTLPTraceExporter {
    const metadata = new Metadata();
    if (c.authorization) metadata.set('authorization', c.authorization);
    return new OTLPTraceExporter({
      url: this.endpoint.url,
      credentials: this.endpoint.plaintext ? grpcCredentials.createInsecure() : grpcCredentials.createSsl(c.tls.ca ?? null, c.tls.key ?? null, c.tls.cert ?? null),
      metadata,
      compression: (this.config.compression === 'gzip' ? 'gzip' : 'none') as never,
      timeoutMillis: this.config.timeoutMs,
      userAgent: `${SENSOR_NAME}/${SENSOR_VERSION}`,
      // The queue in front sends one batch at a time; a small limit only guards against misuse.
      concurrencyLimit: 4,
    });
  }

  /** Re-reads the files; swaps exporters only when their contents changed and still check out. */
  reload(): void {
    let next: OtlpCredentials;
    try {
      next = loadOtlpCredentials(this.config);
    } catch (err) {
      // Mid-rotation (key written before certificate) or a broken file: keep what works.
      this.failedReloads++;
      this.log(`otlp: certificate reload failed, still using the previous credentials: ${(err as Error).message}`);
      return;
    }
    if (next.fingerprint === this.credentials.fingerprint) return;
    const old = this.exporter;
    this.credentials = next;
    this.exporter = this.build(next);
    this.reloads++;
    this.log(`otlp: credentials reloaded; ${this.describe()}`);
    void old.shutdown().catch(() => {});
  }

  send(spans: readonly Span[]): Promise<SendOutcome> {
    const readable = spans.map(toReadableSpan);
    return new Promise((resolve) => {
      try {
        this.exporter.export(readable, (result: ExportResult) => {
          if (result.code === ExportResultCode.SUCCESS) resolve({ kind: 'sent' });
          else resolve(outcomeOfGrpcFailure((result.error ?? {}) as GrpcFailure));
        });
      } catch (err) {
        resolve({ kind: 'retryable', reason: `export failed before sending: ${(err as Error).message}` });
      }
    });
  }

  async close(): Promise<void> {
    this.watch?.close();
    await this.exporter.shutdown();
  }
}
