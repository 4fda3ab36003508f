/**
 * The sensor's configuration: one schema (zod) with its defaults, the
 * types the rest of the code reads, and nothing else. Where a value comes
 * from (file, environment, flag) is loadConfig.ts's business. Secrets are
 * never values here: the config names the files that hold them.
 */
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);
const file = z.string().min(1);

export const SINK_NAMES = ['stdout', 'otlp', 'kafka'] as const;

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
  }).default({ pids: [], ports: [], ringBufferMb: 16, attach: 'auto', unix: false }),
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
  filters: z.strictObject({
    namespaces: z.array(z.string().min(1)).default([]),
    excludeNamespaces: z.array(z.string().min(1)).default([]),
    processes: z.array(z.string().min(1)).default([]),
    protocols: z.array(z.enum(['http1', 'http2', 'grpc'])).default([]),
  }).default({ namespaces: [], excludeNamespaces: [], processes: [], protocols: [] }),
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
