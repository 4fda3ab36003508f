/**
 * The `run` options that choose and configure sinks, turned into checked
 * sink objects. Secrets are named by file (or taken from the environment),
 * never given on the command line, where /proc shows them to every user.
 */
import { hostname } from 'node:os';
import type { SensorConfig } from '../config/sensorConfig.ts';
import { UsageError } from './usageError.ts';
import { JsonLinesSink } from '../sinks/stdoutSink.ts';
import { QueuedSink, DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../sinks/queuedSink.ts';
import { SinkFanout, type NamedSink } from '../sinks/sinkFanout.ts';
import { OtlpGrpcExporter } from '../sinks/otlp/otlpGrpcExporter.ts';
import type { OtlpAuth } from '../sinks/otlp/otlpConfig.ts';
import { PASSWORD_ENV, TOKEN_ENV } from '../sinks/otlp/otlpConfig.ts';
import { WatchedKafkaExporter } from '../sinks/kafka/watchedKafkaExporter.ts';
import { checkTlsBackend, type CheckFields } from '../sinks/startupCheck.ts';
import type { TlsProbeTarget } from '../sinks/tlsProbe.ts';

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

export function queueLimits(c: SensorConfig): QueueLimits {
  return {
    ...DEFAULT_QUEUE_LIMITS,
    maxQueuedSpans: c.queue.maxSpans,
    maxBatchSpans: c.queue.batchSpans,
    batchTimeoutMs: c.queue.batchTimeoutMs,
    sendTimeoutMs: 1000 * c.otlp.timeoutSeconds,
  };
}

function otlpAuth(o: SensorConfig['otlp']): OtlpAuth | undefined {
  const kind = o.auth === 'none' && o.username ? 'basic' : o.auth;
  const secretFile = o.secretFile;
  if (kind === 'basic') {
    if (!o.username) throw new UsageError('otlp.auth basic needs otlp.username (--otlp-user)');
    return { kind: 'basic', username: o.username, ...(secretFile ? { passwordFile: secretFile } : {}) };
  }
  if (kind === 'bearer') return { kind: 'bearer', ...(secretFile ? { tokenFile: secretFile } : {}) };
  if (secretFile) throw new UsageError('otlp.secretFile (--otlp-secret-file) given without otlp.auth basic or bearer');
  return undefined;
}

export function otlpExporter(c: SensorConfig, log: (line: string) => void): OtlpGrpcExporter {
  const o = c.otlp;
  if (!o.endpoint) throw new UsageError('the otlp sink needs otlp.endpoint (--otlp-endpoint host:port)');
  const auth = otlpAuth(o);
  try {
    return new OtlpGrpcExporter(
      {
        endpoint: o.endpoint,
        allowPlaintext: o.insecure,
        tls: {
          ...(o.caFile ? { caFile: o.caFile } : {}),
          ...(o.certFile ? { certFile: o.certFile } : {}),
          ...(o.keyFile ? { keyFile: o.keyFile } : {}),
        },
        ...(auth ? { auth } : {}),
        compression: o.compression,
        timeoutMs: 1000 * o.timeoutSeconds,
      },
      log,
    );
  } catch (err) {
    // Config errors name the field as otlp.<field>; on the command line the user knows them as flags.
    throw new UsageError(flagNames((err as Error).message));
  }
}

export function kafkaExporter(c: SensorConfig, log: (line: string) => void): WatchedKafkaExporter {
  const k = c.kafka;
  if (k.brokers.length === 0) throw new UsageError('the kafka sink needs kafka.brokers (--kafka-brokers host:port)');
  const user = k.saslUsername;
  const passwordFile = k.saslPasswordFile;
  if (user && !passwordFile) throw new UsageError('kafka.saslUsername (--kafka-sasl-user) needs kafka.saslPasswordFile (--kafka-sasl-password-file): the password is never taken from the command line');
  if (!user && passwordFile) throw new UsageError('kafka.saslPasswordFile (--kafka-sasl-password-file) needs kafka.saslUsername (--kafka-sasl-user)');
  try {
    return new WatchedKafkaExporter(
      {
        brokers: k.brokers,
        topic: k.topic,
        ...(k.caFile ? { caFile: k.caFile } : {}),
        ...(k.certFile ? { certFile: k.certFile } : {}),
        ...(k.keyFile ? { keyFile: k.keyFile } : {}),
        ...(user && passwordFile ? { sasl: { mechanism: k.saslMechanism, username: user, passwordFile } } : {}),
        compression: k.compression,
        sensorId: sensorId(c),
      },
      log,
    );
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(flagNames((err as Error).message));
  }
}

/** Config paths in messages, with the flags that set them. */
function flagNames(message: string): string {
  return message.replace(/\b(otlp|kafka)\.(caFile|certFile|keyFile|endpoint|brokers(?:\[\d+\])?|topic|compression|sasl\.passwordFile|sasl\.username|sasl\.mechanism|sensorId|auth\.passwordFile|auth\.tokenFile|auth\.username)\b/g, (field) => `${field} (${FLAG_OF[field.replace(/\[\d+\]$/, '')] ?? 'config'})`);
}

const FLAG_OF: Record<string, string> = {
  'otlp.caFile': '--otlp-ca', 'otlp.certFile': '--otlp-cert', 'otlp.keyFile': '--otlp-key', 'otlp.endpoint': '--otlp-endpoint',
  'otlp.auth.passwordFile': '--otlp-secret-file', 'otlp.auth.tokenFile': '--otlp-secret-file', 'otlp.auth.username': '--otlp-user',
  'kafka.caFile': '--kafka-ca', 'kafka.certFile': '--kafka-cert', 'kafka.keyFile': '--kafka-key', 'kafka.brokers': '--kafka-brokers',
  'kafka.topic': '--kafka-topic', 'kafka.compression': '--kafka-compression', 'kafka.sasl.passwordFile': '--kafka-sasl-password-file',
  'kafka.sasl.username': '--kafka-sasl-user', 'kafka.sasl.mechanism': '--kafka-sasl-mechanism', 'kafka.sensorId': '--sensor-id',
};

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
export async function buildSinks(c: SensorConfig, log: (line: string) => void): Promise<BuiltSinks> {
  const names = [...new Set(c.sinks)];
  const limits = queueLimits(c);
  const sinks: NamedSink[] = [];
  const descriptions: string[] = [];
  const checks: Array<{ sink: string; target: TlsProbeTarget; fields: CheckFields }> = [];
  for (const name of names) {
    if (name === 'stdout') {
      sinks.push({ kind: 'stdout', sink: new JsonLinesSink() });
      descriptions.push('stdout: JSON Lines');
    } else if (name === 'otlp') {
      const exporter = otlpExporter(c, log);
      sinks.push({ kind: 'queued', sink: new QueuedSink(exporter, limits, log) });
      descriptions.push(exporter.describe());
      const target = exporter.tlsTarget();
      if (target) checks.push({ sink: 'otlp', target, fields: { ca: 'otlp.caFile (--otlp-ca)', cert: 'otlp.certFile (--otlp-cert)' } });
    } else {
      const exporter = kafkaExporter(c, log);
      sinks.push({ kind: 'queued', sink: new QueuedSink(exporter, limits, log) });
      descriptions.push(exporter.describe());
      checks.push({ sink: 'kafka', target: exporter.tlsTarget(), fields: { ca: 'kafka.caFile (--kafka-ca)', cert: 'kafka.certFile (--kafka-cert)' } });
    }
  }
  const fanout = new SinkFanout(sinks, c.queue.shutdownDeadlineSeconds * 1000);
  if (!c.skipBackendCheck) {
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

export function sensorId(c: SensorConfig): string {
  // In a DaemonSet pod the host name is the pod's (it changes on every rollout); the node's name does not.
  return c.sensorId ?? c.kubernetes.nodeName ?? process.env.NODE_NAME ?? hostname();
}
