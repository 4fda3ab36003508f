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
import { WatchedKafkaExporter } from '../sinks/kafka/watchedKafkaExporter.ts';
import { KAFKA_COMPRESSIONS, SCRAM_MECHANISMS } from '../sinks/kafka/kafkaConfig.ts';
import { checkTlsBackend, type CheckFields } from '../sinks/startupCheck.ts';
import type { TlsProbeTarget } from '../sinks/tlsProbe.ts';

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
  'kafka-brokers': { type: 'string' },
  'kafka-topic': { type: 'string' },
  'kafka-ca': { type: 'string' },
  'kafka-cert': { type: 'string' },
  'kafka-key': { type: 'string' },
  'kafka-sasl-mechanism': { type: 'string' },
  'kafka-sasl-user': { type: 'string' },
  'kafka-sasl-password-file': { type: 'string' },
  'kafka-compression': { type: 'string' },
  'skip-backend-check': { type: 'boolean' },
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
  --kafka-brokers B    bootstrap brokers, host:port[,host:port...] (a TLS listener)
  --kafka-topic T      the topic (default hydrophone-spans); one message per trace,
                       keyed by trace id, value an OTLP ExportTraceServiceRequest
  --kafka-ca FILE      CA that signs the brokers' certificates (default: system CAs)
  --kafka-cert FILE    client certificate, with --kafka-key FILE, for mutual TLS
  --kafka-sasl-mechanism M  SCRAM-SHA-512 (default with --kafka-sasl-user) or SCRAM-SHA-256
  --kafka-sasl-user U  SASL/SCRAM login over TLS, password from --kafka-sasl-password-file F
  --kafka-compression C gzip (default), zstd, lz4, snappy or none
  --skip-backend-check do not check each backend's TLS at start (a backend that is
                       down is never an error: its spans wait in the queue)
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
  'kafka-brokers'?: string;
  'kafka-topic'?: string;
  'kafka-ca'?: string;
  'kafka-cert'?: string;
  'kafka-key'?: string;
  'kafka-sasl-mechanism'?: string;
  'kafka-sasl-user'?: string;
  'kafka-sasl-password-file'?: string;
  'kafka-compression'?: string;
  'skip-backend-check'?: boolean;
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

export function kafkaExporter(v: SinkValues, log: (line: string) => void): WatchedKafkaExporter {
  const brokers = v['kafka-brokers'];
  if (!brokers) throw new UsageError('--sink kafka needs --kafka-brokers host:port');
  const user = v['kafka-sasl-user'];
  const passwordFile = v['kafka-sasl-password-file'];
  if (user && !passwordFile) throw new UsageError('--kafka-sasl-user needs --kafka-sasl-password-file (the password is never taken from the command line)');
  if (!user && (passwordFile || v['kafka-sasl-mechanism'])) throw new UsageError('--kafka-sasl-password-file and --kafka-sasl-mechanism need --kafka-sasl-user');
  try {
    return new WatchedKafkaExporter(
      {
        brokers: brokers.split(',').map((b) => b.trim()).filter(Boolean),
        topic: v['kafka-topic'] ?? 'hydrophone-spans',
        ...(v['kafka-ca'] ? { caFile: v['kafka-ca'] } : {}),
        ...(v['kafka-cert'] ? { certFile: v['kafka-cert'] } : {}),
        ...(v['kafka-key'] ? { keyFile: v['kafka-key'] } : {}),
        ...(user && passwordFile ? { sasl: { mechanism: choice('kafka-sasl-mechanism', v['kafka-sasl-mechanism'], SCRAM_MECHANISMS) ?? 'SCRAM-SHA-512', username: user, passwordFile } } : {}),
        compression: choice('kafka-compression', v['kafka-compression'], KAFKA_COMPRESSIONS) ?? 'gzip',
        sensorId: sensorId(v),
      },
      log,
    );
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(flagNames((err as Error).message));
  }
}

/** Config paths in messages, as the flags that set them. */
function flagNames(message: string): string {
  return message
    .replace(/\bkafka\.caFile\b/g, '--kafka-ca')
    .replace(/\bkafka\.certFile\b/g, '--kafka-cert')
    .replace(/\bkafka\.keyFile\b/g, '--kafka-key')
    .replace(/\bkafka\.brokers(\[\d+\])?/g, '--kafka-brokers')
    .replace(/\bkafka\.topic\b/g, '--kafka-topic')
    .replace(/\bkafka\.compression\b/g, '--kafka-compression')
    .replace(/\bkafka\.sasl\.passwordFile\b/g, '--kafka-sasl-password-file')
    .replace(/\bkafka\.sasl\.username\b/g, '--kafka-sasl-user')
    .replace(/\bkafka\.sasl\.mechanism\b/g, '--kafka-sasl-mechanism')
    .replace(/\bkafka\.sensorId\b/g, '--sensor-id')
    .replace(/\botlp\.caFile\b/g, '--otlp-ca')
    .replace(/\botlp\.certFile\b/g, '--otlp-cert')
    .replace(/\botlp\.keyFile\b/g, '--otlp-key')
    .replace(/\botlp\.endpoint\b/g, '--otlp-endpoint')
    .replace(/\botlp\.auth\.(passwordFile|tokenFile)\b/g, '--otlp-secret-file')
    .replace(/\botlp\.auth\.username\b/g, '--otlp-user');
}

export interface BuiltSinks {
  readonly fanout: SinkFanout;
  /** Each network sink's queue cap, in spans (the same for all). */
  readonly queueCapacity: number;
  /** One start-up line per sink: where spans go and how. */
  readonly descriptions: string[];
}

/**
 * Builds every sink named, checking its files now, and (unless told not to)
 * each network backend's TLS: a trust problem stops the start with the
 * flag to fix; a backend that is only away is logged and its spans queue.
 */
export async function buildSinks(v: SinkValues, log: (line: string) => void): Promise<BuiltSinks> {
  const names = sinkNames(v);
  const limits = queueLimits(v);
  const sinks: NamedSink[] = [];
  const descriptions: string[] = [];
  const checks: Array<{ sink: string; target: TlsProbeTarget; fields: CheckFields }> = [];
  for (const name of names) {
    if (name === 'stdout') {
      sinks.push({ kind: 'stdout', sink: new JsonLinesSink() });
      descriptions.push('stdout: JSON Lines');
    } else if (name === 'otlp') {
      const exporter = otlpExporter(v, log);
      sinks.push({ kind: 'queued', sink: new QueuedSink(exporter, limits, log) });
      descriptions.push(exporter.describe());
      const target = exporter.tlsTarget();
      if (target) checks.push({ sink: 'otlp', target, fields: { ca: '--otlp-ca', cert: '--otlp-cert' } });
    } else {
      const exporter = kafkaExporter(v, log);
      sinks.push({ kind: 'queued', sink: new QueuedSink(exporter, limits, log) });
      descriptions.push(exporter.describe());
      checks.push({ sink: 'kafka', target: exporter.tlsTarget(), fields: { ca: '--kafka-ca', cert: '--kafka-cert' } });
    }
  }
  const deadlineS = intOption('shutdown-deadline', v['shutdown-deadline'], 0, 600) ?? 5;
  const fanout = new SinkFanout(sinks, deadlineS * 1000);
  if (!v['skip-backend-check']) {
    const verdicts = await Promise.all(checks.map((c) => checkTlsBackend(c.sink, c.target, c.fields)));
    const fatal = verdicts.flatMap((x) => (x.kind === 'fatal' ? [x.message] : []));
    for (const x of verdicts) if (x.kind === 'warning') log(x.message);
    if (fatal.length) {
      await fanout.close();
      throw new UsageError(fatal.join('\n'));
    }
  }
  return { fanout, descriptions, queueCapacity: limits.maxQueuedSpans };
}

export function sensorId(v: SinkValues): string {
  return v['sensor-id'] ?? hostname();
}
