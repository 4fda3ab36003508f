/**
 * The sensor's configuration: one schema (zod) with its defaults, the
 * types the rest of the code reads, and nothing else. Where a value comes
 * from (file, environment, flag) is loadConfig.ts's business. Secrets are
 * never values here: the config names the files that hold them.
 */
import { z } from 'zod';
import { parseLabelRequirement } from '../spans/labelSelector.ts';

const port = z.number().int().min(1).max(65535);
const file = z.string().min(1);

export const SINK_NAMES = ['stdout', 'otlp', 'kafka'] as const;

/** One Kubernetes label-selector requirement, refused at start with its reason (labelSelector.ts). */
const labelRequirement = z.string().superRefine((text, ctx) => {
  const parsed = parseLabelRequirement(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
});

const otlp = z.strictObject({
  endpoint: z.string().min(1).optional(),
  /** Allow an http:// endpoint (plain text). */
  insecure: z.boolean().default(false),
  caFile: file.optional(),
  certFile: file.optional(),
  keyFile: file.optional(),
  auth: z.enum(['none', 'basic', 'bearer']).default('none'),
  username: z.string().min(1).optional(),
  /** The password or token; else $HYDROPHONE_OTLP_PASSWORD / $HYDROPHONE_OTLP_BEARER_TOKEN. */
  secretFile: file.optional(),
  compression: z.enum(['gzip', 'none']).default('gzip'),
  timeoutSeconds: z.number().int().min(1).max(600).default(10),
});

const kafka = z.strictObject({
  brokers: z.array(z.string().min(1)).default([]),
  topic: z.string().default('hydrophone-spans'),
  caFile: file.optional(),
  certFile: file.optional(),
  keyFile: file.optional(),
  saslMechanism: z.enum(['SCRAM-SHA-512', 'SCRAM-SHA-256']).default('SCRAM-SHA-512'),
  saslUsername: z.string().min(1).optional(),
  saslPasswordFile: file.optional(),
  compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('gzip'),
});

/** A header field name (RFC 9110 token), in any case; kept lower-cased, as attribute keys are. */
const headerName = z.string()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: "not a header name (letters, digits and !#$%&'*+-.^_`|~ only)" })
  .transform((n) => n.toLowerCase());
/** A gRPC metadata key (letters, digits, "-", "_", "."), in any case; kept lower-cased. */
const metadataKey = z.string()
  .regex(/^[0-9A-Za-z_.-]+$/, { message: 'not a gRPC metadata key (letters, digits, "-", "_" and "." only)' })
  .transform((n) => n.toLowerCase());
const names = <T extends z.ZodType<string, string>>(name: T) => z.array(name).max(64).default([]);

/**
 * What spans carry beyond the fixed attributes. Nothing by default: header
 * values and query strings carry credentials and personal data.
 */
const attributes = z.strictObject({
  /** Request headers exported as http.request.header.<name> (string arrays: every value of a repeated header). */
  requestHeaders: names(headerName),
  /** Response headers exported as http.response.header.<name>. */
  responseHeaders: names(headerName),
  /** gRPC request metadata exported as rpc.grpc.request.metadata.<key>; "-bin" values as sent (base64). */
  grpcRequestMetadata: names(metadataKey),
  /** gRPC response metadata (trailers included) exported as rpc.grpc.response.metadata.<key>. */
  grpcResponseMetadata: names(metadataKey),
  /**
   * Added to the built-in sensitive headers (authorization, cookie,
   * set-cookie, x-api-key... SENSITIVE_HEADERS in src/protocols/attributeCapture):
   * a sensitive header is left out of every allow-list above, its value
   * never kept, exported or logged.
   */
  sensitiveHeaders: names(headerName),
  /**
   * url.query: off (default, not exported) or redacted (exported without the
   * "?", every value replaced by REDACTED except those of queryParams), as the
   * semantic conventions say url.query SHOULD be.
   */
  urlQuery: z.enum(['off', 'redacted']).default('off'),
  /** Query parameters whose values url.query keeps (names as written, case-sensitive). */
  queryParams: z.array(z.string().regex(/^[^&=#\s]+$/, { message: 'not a query parameter name (no "&", "=", "#" or spaces)' })).max(64).default([]),
}).default({ requestHeaders: [], responseHeaders: [], grpcRequestMetadata: [], grpcResponseMetadata: [], sensitiveHeaders: [], urlQuery: 'off', queryParams: [] })
  .refine((a) => a.urlQuery === 'redacted' || a.queryParams.length === 0, {
    message: 'has no effect while attributes.urlQuery is off: set it to redacted (--url-query redacted)',
    path: ['queryParams'],
  });

export const sensorConfigSchema = z.strictObject({
  sinks: z.array(z.enum(SINK_NAMES)).min(1).default(['stdout']),
  sensorId: z.string().min(1).optional(),
  otlp: otlp.default(otlp.parse({})),
  kafka: kafka.default(kafka.parse({})),
  queue: z.strictObject({
    maxSpans: z.number().int().min(1).max(100_000_000).default(100_000),
    batchSpans: z.number().int().min(1).max(100_000).default(1_000),
    batchTimeoutMs: z.number().int().min(1).max(600_000).default(1_000),
    shutdownDeadlineSeconds: z.number().int().min(0).max(600).default(5),
  }).default({ maxSpans: 100_000, batchSpans: 1_000, batchTimeoutMs: 1_000, shutdownDeadlineSeconds: 5 })
    .refine((q) => q.maxSpans >= q.batchSpans, { message: 'must hold at least one batch (queue.batchSpans)', path: ['maxSpans'] }),
  skipBackendCheck: z.boolean().default(false),
  capture: z.strictObject({
    pids: z.array(z.number().int().min(1)).default([]),
    ports: z.array(port).default([]),
    captureBytes: z.number().int().min(0).max(65536).optional(),
    ringBufferMb: z.number().int().min(1).max(1024).default(16)
      .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two' }),
    attach: z.enum(['auto', 'kprobe', 'tracepoint']).default('auto'),
    unix: z.boolean().default(false),
    /** OpenSSL's SSL BIO (s_server -www): uprobes on libcrypto's BIO_read/BIO_write; off by default for their cost (README). */
    sslBio: z.boolean().default(false),
    /**
     * Go's HTTP/2 header probes (what names calls on connections older than
     * the sensor): all (grpc-go and net/http), grpc (grpc-go only: net/http's
     * send side costs a uprobe hit per header field), off.
     */
    goHeaders: z.enum(['all', 'grpc', 'off']).default('all'),
  }).default({ pids: [], ports: [], ringBufferMb: 16, attach: 'auto', unix: false, sslBio: false, goHeaders: 'all' }),
  kubernetes: z.strictObject({
    mode: z.enum(['auto', 'off']).default('auto'),
    nodeName: z.string().min(1).optional(),
    clusterName: z.string().min(1).optional(),
    deletedPodGraceSeconds: z.number().int().min(0).max(86_400).default(60),
  }).default({ mode: 'auto', deletedPodGraceSeconds: 60 }),
  spans: z.strictObject({
    routes: z.enum(['collapse', 'raw']).default('collapse'),
    /** process.command_line on resources: off by default, arguments carry secrets. */
    commandLine: z.boolean().default(false),
    /** Fraction of traces kept (head sampling by trace id; error spans always kept). */
    sampleRatio: z.number().min(0).max(1).default(1),
    /** Ceiling on spans per second handed to the sinks (0: none); beyond it spans are dropped and counted. */
    maxPerSecond: z.number().int().min(0).default(0),
  }).default({ routes: 'collapse', commandLine: false, sampleRatio: 1, maxPerSecond: 0 }),
  attributes,
  filters: z.strictObject({
    namespaces: z.array(z.string().min(1)).default([]),
    excludeNamespaces: z.array(z.string().min(1)).default([]),
    processes: z.array(z.string().min(1)).default([]),
    protocols: z.array(z.enum(['http1', 'http2', 'grpc'])).default([]),
    /** Label-selector requirements (app=x, tier!=y, team, !canary), ANDed: only pods meeting all. */
    podLabels: z.array(labelRequirement).default([]),
    /** Label-selector requirements, ORed: no pod meeting any. */
    excludePodLabels: z.array(labelRequirement).default([]),
  }).default({ namespaces: [], excludeNamespaces: [], processes: [], protocols: [], podLabels: [], excludePodLabels: [] }),
  log: z.strictObject({
    /** json: one object per line (pino), for a cluster's log pipeline; text: hydrophone: ... lines. */
    format: z.enum(['json', 'text']).default('json'),
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  }).default({ format: 'json', level: 'info' }),
  health: z.strictObject({
    port: z.number().int().min(0).max(65535).default(9464),
    address: z.string().min(1).default('0.0.0.0'),
  }).default({ port: 9464, address: '0.0.0.0' }),
});

export type SensorConfig = z.infer<typeof sensorConfigSchema>;
