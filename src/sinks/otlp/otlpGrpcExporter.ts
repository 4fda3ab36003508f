/**
 * The OTLP/gRPC exporter: OpenTelemetry JS's OTLP exporter over its gRPC
 * transport, built exactly as its OTLPTraceExporter is, but with our
 * serializer (otlpProtobuf.ts) so that it carries the pipeline's spans as
 * they are and at a tenth of the SDK serializer's cost. TLS with a client
 * certificate and an optional authorization header. When the certificate,
 * key, CA or secret files change, a new exporter with the new credentials
 * takes over (rotation without restart); a half-written rotation keeps the
 * old ones.
 */
import { credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { OTLPExporterBase, CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { IExporterMetricsHelper, ISerializer } from '@opentelemetry/otlp-transformer';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Span } from '../../spans/span.ts';
import type { BatchExporter, SendOutcome } from '../exporter.ts';
import { SENSOR_NAME, SENSOR_VERSION } from '../../sensorIdentity.ts';
import { watchFiles, type FileWatch } from '../tls/fileWatch.ts';
import type { TlsProbeTarget } from '../tlsProbe.ts';
import { encodeExportTraceRequest } from './otlpProtobuf.ts';
import { decodePartialSuccess, type PartialSuccess } from './otlpResponse.ts';
import { outcomeOfGrpcFailure, type GrpcFailure } from './grpcOutcome.ts';

const TRACE_SERVICE = 'TraceExportService';
const EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** The component type OpenTelemetry JS's own trace exporter reports in its self-metrics. */
const COMPONENT_TYPE = 'otlp_grpc_span_exporter';

type SpanExporter = OTLPExporterBase<readonly Span[]>;

/** What OpenTelemetry JS's self-metrics count per export: spans (it has no meter here, so they stay off). */
const SPAN_METRICS: IExporterMetricsHelper<readonly Span[]> = { name: 'span', countItems: (spans) => spans.length };
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
  private exporter: SpanExporter;
  /** The partial success of the last response: sends are one at a time, so it is the current one's. */
  private lastPartial: PartialSuccess | undefined;
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

  /** Where the start-up TLS check connects, with the same material; undefined for plain text. */
  tlsTarget(): TlsProbeTarget | undefined {
    if (this.endpoint.plaintext) return undefined;
    const t = this.credentials.tls;
    return { host: this.endpoint.host, port: this.endpoint.port, ...(t.ca ? { ca: t.ca } : {}), ...(t.cert ? { cert: t.cert } : {}), ...(t.key ? { key: t.key } : {}) };
  }

  private readonly serializer: ISerializer<readonly Span[], PartialSuccess | undefined> = {
    serializeRequest: (spans) => encodeExportTraceRequest(spans),
    deserializeResponse: (bytes) => (this.lastPartial = decodePartialSuccess(bytes)),
  };

  private build(c: OtlpCredentials): SpanExporter {
    const metadata = new Metadata();
    if (c.authorization) metadata.set('authorization', c.authorization);
    const options = convertLegacyOtlpGrpcOptions(
      {
        url: this.endpoint.url,
        credentials: this.endpoint.plaintext ? grpcCredentials.createInsecure() : grpcCredentials.createSsl(c.tls.ca ?? null, c.tls.key ?? null, c.tls.cert ?? null),
        metadata,
        compression: this.config.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
        timeoutMillis: this.config.timeoutMs,
        userAgent: `${SENSOR_NAME}/${SENSOR_VERSION}`,
        // The queue in front sends one batch at a time; a small limit only guards against misuse.
        concurrencyLimit: 4,
      },
      'TRACES',
    );
    return new OTLPExporterBase(createOtlpGrpcExportDelegate(options, this.serializer, COMPONENT_TYPE, SPAN_METRICS, undefined, TRACE_SERVICE, EXPORT_METHOD));
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
    this.lastPartial = undefined;
    return new Promise((resolve) => {
      try {
        this.exporter.export(spans, (result: ExportResult) => {
          const partial = this.lastPartial;
          if (result.code !== ExportResultCode.SUCCESS) resolve(outcomeOfGrpcFailure((result.error ?? {}) as GrpcFailure));
          else if (partial?.rejectedSpans) resolve({ kind: 'sent', rejected: partial.rejectedSpans, rejectedReason: partial.errorMessage });
          else resolve({ kind: 'sent' });
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
