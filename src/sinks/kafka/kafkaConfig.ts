/**
 * The Kafka sink's settings, and their check at start: every file read and
 * parsed, every address and name validated, so a wrong path, a key that
 * belongs to another certificate or a typo in a broker address stops the
 * sensor with a message naming the field and the fix, instead of surfacing
 * later as a refused connection.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import zlib from 'node:zlib';
import { loadTlsMaterial } from '../tls/tlsMaterial.ts';

/**
 * Codecs @platformatic/kafka writes without native modules: gzip and zstd
 * with node:zlib, snappy and lz4 with WebAssembly.
 */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** What the operator writes. */
export interface KafkaSinkConfig {
  /** Bootstrap brokers, `host:port` (`[v6]:port`) of a TLS listener. */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** PEM CA (bundle) that signs the brokers' certificates; the system store when absent. */
  readonly caFile?: string;
  /** PEM client certificate (chain) and key for mutual TLS; may be left out only with SASL. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** SASL/SCRAM login over TLS; the password is read from a file, never from the command line. */
  readonly sasl?: { readonly mechanism: ScramMechanism; readonly username: string; readonly passwordFile: string };
  /** Default gzip. */
  readonly compression?: KafkaCompression;
  /** The `sensor-id` header of every message; default the host name (the node's, in a DaemonSet). */
  readonly sensorId?: string;
}

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

/** Everything the exporter needs, read from disk and checked. */
export interface KafkaConnection {
  readonly brokers: readonly BrokerAddress[];
  readonly topic: string;
  readonly tls: { readonly ca?: string | Buffer; readonly cert?: string | Buffer; readonly key?: string | Buffer };
  /** A secret: never log it. */
  readonly sasl?: { readonly mechanism: ScramMechanism; readonly username: string; readonly password: string };
  readonly compression: KafkaCompression;
  readonly sensorId: string;
  /** How messages name where the TLS material came from, e.g. `kafka.caFile /etc/hydrophone/kafka-ca.pem`. */
  readonly sources?: { readonly ca?: string; readonly cert?: string };
}

/** Kafka's own rule for topic names (kafka.common.internals.Topic). */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** `host:port` or `[v6]:port` -> the address, or why it is not one. */
export function parseBrokerAddress(text: string): BrokerAddress | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return `"${text}" is not host:port (an IPv6 address goes in brackets: [::1]:9093)`;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (m[1] !== undefined && isIP(host) !== 6) return `"${host}" in brackets is not an IPv6 address`;
  if (m[2] !== undefined && isIP(host) === 0 && !HOST_NAME.test(host)) return `"${host}" is neither an IP address nor a host name`;
  if (port < 1 || port > 65535) return `port ${port} is out of range (1-65535)`;
  return { host, port };
}

/** Reads and checks everything; throws an Error naming the field and the fix at the first problem. */
export function loadKafkaConfig(config: KafkaSinkConfig, now = new Date()): KafkaConnection {
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) {
    throw new Error('kafka.brokers: no broker given: list at least one host:port of a TLS listener');
  }
  const brokers = config.brokers.map((b, i) => {
    const parsed = parseBrokerAddress(String(b));
    if (typeof parsed === 'string') throw new Error(`kafka.brokers[${i}]: ${parsed}`);
    return parsed;
  });
  if (typeof config.topic !== 'string' || !TOPIC_NAME.test(config.topic) || config.topic === '.' || config.topic === '..') {
    throw new Error(`kafka.topic: "${config.topic}" is not a Kafka topic name: use 1 to 249 of the characters a-z A-Z 0-9 . _ -`);
  }
  const compression = config.compression ?? 'gzip';
  if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new Error(`kafka.compression: "${compression}" is not one of ${KAFKA_COMPRESSIONS.join(', ')}`);
  }
  if (compression === 'zstd' && typeof zlib.zstdCompressSync !== 'function') {
    throw new Error(`kafka.compression: zstd needs Node.js >= 22.15 (this is ${process.version}): choose gzip, lz4 or snappy`);
  }
  if (config.certFile === undefined && config.keyFile === undefined && config.sasl === undefined) {
    throw new Error('kafka: no client identity: set certFile and keyFile (mutual TLS), or sasl (SCRAM over TLS)');
  }
  const tls = loadTlsMaterial('kafka', {
    ...(config.caFile !== undefined ? { caFile: config.caFile } : {}),
    ...(config.certFile !== undefined ? { certFile: config.certFile } : {}),
    ...(config.keyFile !== undefined ? { keyFile: config.keyFile } : {}),
  }, now);
  const sasl = config.sasl === undefined ? undefined : loadScram(config.sasl);
  const sensorId = (config.sensorId ?? hostname()).trim();
  if (!sensorId) throw new Error('kafka.sensorId: empty: give a name for this sensor, or leave it out to use the host name');
  return {
    brokers,
    topic: config.topic,
    tls: { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) },
    ...(sasl ? { sasl } : {}),
    compression,
    sensorId,
    sources: {
      ca: config.caFile === undefined ? 'the system CA store' : `kafka.caFile ${config.caFile}`,
      ...(config.certFile !== undefined ? { cert: `kafka.certFile ${config.certFile}` } : {}),
    },
  };
}

function loadScram(sasl: NonNullable<KafkaSinkConfig['sasl']>): NonNullable<KafkaConnection['sasl']> {
  if (!(SCRAM_MECHANISMS as readonly string[]).includes(sasl.mechanism)) {
    throw new Error(`kafka.sasl.mechanism: "${sasl.mechanism}" is not supported: use ${SCRAM_MECHANISMS.join(' or ')} (what the broker's sasl.enabled.mechanisms lists)`);
  }
  if (typeof sasl.username !== 'string' || !sasl.username) throw new Error('kafka.sasl.username: empty: give the SCRAM user');
  let text: string;
  try {
    text = readFileSync(sasl.passwordFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const fix = code === 'ENOENT' ? 'check the path (a Secret not mounted?)' : code === 'EACCES' ? 'make it readable by the sensor user' : 'check the file';
    throw new Error(`kafka.sasl.passwordFile: cannot read ${sasl.passwordFile} (${code}): ${fix}`);
  }
  // A trailing newline is how editors and `echo` end a file, not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (!password) throw new Error(`kafka.sasl.passwordFile: ${sasl.passwordFile} is empty`);
  return { mechanism: sasl.mechanism, username: sasl.username, password };
}
