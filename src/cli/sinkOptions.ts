/**
 * The `run` options that choose and configure sinks, turned into checked
 * sink objects. Secrets are named by file (or taken from the environment),
 * never given on the command line, where /proc shows them to every user.
 */
import { hostname } from 'node:os';
import { choice, intOption } from './options.ts';
import { UsageError } from './usageError.ts';
import { JsonLinesSink } from '../sinks/stdoutSink.ts';
import { QueuedSink, DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../sinks/queuedSink.ts';
import { SinkFanout, type NamedSink } from '../sinks/sinkFanout.ts';
import { OtlpGrpcExporter } from '../sinks/otlp/otlpGrpcExporter.ts';
import type { OtlpAuth } from '../sinks/otlp/otlpConfig.ts';
import { PASSWORD_ENV, TOKEN_ENV } from '../sinks/otlp/otlpConfig.ts';

export const SINK_OPTIONS = {
  sink: { type: 'string', multiple: true },
  'otlp-endpoint': { type: 'string' },
  'otlp-ca': { type: 'string' },
  'otlp-cert': { type: 'string' },
  'otlp-key': { type: 'string' },
  'otlp-insecure': { type: 'boolean' },
  'otlp-auth': { type: 'string' },
  'otlp-user': { type: 'string' },
  'otlp-secret-file': { type: 'string' },
  'otlp-compression': { type: 'string' },
  'otlp-timeout': { type: 'string' },
  'queue-spans': { type: 'string' },
  'batch-spans': { type: 'string' },
  'batch-timeout-ms': { type: 'string' },
  'shutdown-deadline': { type: 'string' },
  'sensor-id': { type: 'string' },
} as const;

export const SINK_HELP = `Sinks (several at once: --sink otlp --sink kafka, or --sink otlp,kafka):
  --sink NAME          stdout (default), otlp, kafka
  --otlp-endpoint E    collector, host:port or https://host:port (gRPC, TLS)
  --otlp-ca FILE       CA that signs the collector's certificate (default: system CAs)
  --otlp-cert FILE     client certificate, with --otlp-key FILE, for mutual TLS
  --otlp-insecure      allow an http:// (plain text) endpoint
  --otlp-auth KIND     none (default), basic (--otlp-user U) or bearer
  --otlp-secret-file F the password or token; else $${PASSWORD_ENV} / $${TOKEN_ENV}
  --otlp-compression C gzip (default) or none
  --otlp-timeout S     deadline of one export request (default 10)
  --queue-spans N      spans each sink holds while its backend is slow or away
                       (default ${DEFAULT_QUEUE_LIMITS.maxQueuedSpans}); beyond it the oldest are dropped and counted
  --batch-spans N      spans per request (default ${DEFAULT_QUEUE_LIMITS.maxBatchSpans})
  --batch-timeout-ms N send a batch at the latest this long after its first span (default ${DEFAULT_QUEUE_LIMITS.batchTimeoutMs})
  --shutdown-deadline S  on SIGTERM, time to flush queued spans (default 5)
  --sensor-id ID       names this sensor in Kafka message headers (default: host name)
Certificate and secret files are re-read when they change (rotation without restart).`;

export interface SinkValues {
  sink?: string[];
  'otlp-endpoint'?: string;
  'otlp-ca'?: string;
  'otlp-cert'?: string;
  'otlp-key'?: string;
  'otlp-insecure'?: boolean;
  'otlp-auth'?: string;
  'otlp-user'?: string;
  'otlp-secret-file'?: string;
  'otlp-compression'?: string;
  'otlp-timeout'?: string;
  'queue-spans'?: string;
  'batch-spans'?: string;
  'batch-timeout-ms'?: string;
  'shutdown-deadline'?: string;
  'sensor-id'?: string;
}

const SINK_NAMES = ['stdout', 'otlp', 'kafka'] as const;
type SinkName = (typeof SINK_NAMES)[number];

export function sinkNames(v: SinkValues): SinkName[] {
  const names = (v.sink ?? ['stdout']).flatMap((s) => s.split(',')).map((s) => choice('sink', s.trim(), SINK_NAMES)!);
  return [...new Set(names)];
}

export function queueLimits(v: SinkValues): QueueLimits {
  const limits: QueueLimits = {
    ...DEFAULT_QUEUE_LIMITS,
    maxQueuedSpans: intOption('queue-spans', v['queue-spans'], 1, 100_000_000) ?? DEFAULT_QUEUE_LIMITS.maxQueuedSpans,
    maxBatchSpans: intOption('batch-spans', v['batch-spans'], 1, 100_000) ?? DEFAULT_QUEUE_LIMITS.maxBatchSpans,
    batchTimeoutMs: intOption('batch-timeout-ms', v['batch-timeout-ms'], 1, 600_000) ?? DEFAULT_QUEUE_LIMITS.batchTimeoutMs,
    sendTimeoutMs: 1000 * (intOption('otlp-timeout', v['otlp-timeout'], 1, 600) ?? DEFAULT_QUEUE_LIMITS.sendTimeoutMs / 1000),
  };
  if (limits.maxQueuedSpans < limits.maxBatchSpans) throw new UsageError(`--queue-spans (${limits.maxQueuedSpans}) must hold at least one batch (--batch-spans ${limits.maxBatchSpans})`);
  return limits;
}

function otlpAuth(v: SinkValues): OtlpAuth | undefined {
  const kind = choice('otlp-auth', v['otlp-auth'], ['none', 'basic', 'bearer'] as const) ?? (v['otlp-user'] ? 'basic' : 'none');
  const secretFile = v['otlp-secret-file'];
  if (kind === 'basic') {
    if (!v['otlp-user']) throw new UsageError('--otlp-auth basic needs --otlp-user');
    return { kind: 'basic', username: v['otlp-user'], ...(secretFile ? { passwordFile: secretFile } : {}) };
  }
  if (kind === 'bearer') return { kind: 'bearer', ...(secretFile ? { tokenFile: secretFile } : {}) };
  if (secretFile) throw new UsageError('--otlp-secret-file given without --otlp-auth basic or bearer');
  return undefined;
}

export function otlpExporter(v: SinkValues, log: (line: string) => void): OtlpGrpcExporter {
  const endpoint = v['otlp-endpoint'];
  if (!endpoint) throw new UsageError('--sink otlp needs --otlp-endpoint host:port');
  const auth = otlpAuth(v);
  try {
    return new OtlpGrpcExporter(
      {
        endpoint,
        allowPlaintext: v['otlp-insecure'] ?? false,
        tls: {
          ...(v['otlp-ca'] ? { caFile: v['otlp-ca'] } : {}),
          ...(v['otlp-cert'] ? { certFile: v['otlp-cert'] } : {}),
          ...(v['otlp-key'] ? { keyFile: v['otlp-key'] } : {}),
        },
        ...(auth ? { auth } : {}),
        compression: choice('otlp-compression', v['otlp-compression'], ['gzip', 'none'] as const) ?? 'gzip',
        timeoutMs: 1000 * (intOption('otlp-timeout', v['otlp-timeout'], 1, 600) ?? 10),
      },
      log,
    );
  } catch (err) {
    // Config errors name the field as otlp.<field>; on the command line the user knows them as flags.
    throw new UsageError(flagNames((err as Error).message));
  }
}

/** Config paths in messages, as the flags that set them. */
function flagNames(message: string): string {
  return message
    .replace(/\botlp\.caFile\b/g, '--otlp-ca')
    .replace(/\botlp\.certFile\b/g, '--otlp-cert')
    .replace(/\botlp\.keyFile\b/g, '--otlp-key')
    .replace(/\botlp\.endpoint\b/g, '--otlp-endpoint')
    .replace(/\botlp\.auth\.(passwordFile|tokenFile)\b/g, '--otlp-secret-file')
    .replace(/\botlp\.auth\.username\b/g, '--otlp-user');
}

export interface BuiltSinks {
  readonly fanout: SinkFanout;
  /** One start-up line per sink: where spans go and how. */
  readonly descriptions: string[];
}

export function buildSinks(v: SinkValues, log: (line: string) => void): BuiltSinks {
  const names = sinkNames(v);
  const limits = queueLimits(v);
  const sinks: NamedSink[] = [];
  const descriptions: string[] = [];
  for (const name of names) {
    if (name === 'stdout') {
      sinks.push({ kind: 'stdout', sink: new JsonLinesSink() });
      descriptions.push('stdout: JSON Lines');
    } else if (name === 'otlp') {
      const exporter = otlpExporter(v, log);
      sinks.push({ kind: 'queued', sink: new QueuedSink(exporter, limits, log) });
      descriptions.push(exporter.describe());
    } else {
      throw new UsageError('--sink kafka is not wired into run yet');
    }
  }
  const deadlineS = intOption('shutdown-deadline', v['shutdown-deadline'], 0, 600) ?? 5;
  return { fanout: new SinkFanout(sinks, deadlineS * 1000), descriptions };
}

export function sensorId(v: SinkValues): string {
  return v['sensor-id'] ?? hostname();
}
