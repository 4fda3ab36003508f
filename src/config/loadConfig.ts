/**
 * The effective configuration of `run`: the schema's defaults, then a YAML
 * file (--config FILE or $HYDROPHONE_CONFIG), then environment variables,
 * then command-line flags, each overriding the one before. One table ties
 * every setting to its flag and its variable, so they cannot drift apart.
 * Every invalid value is rejected at start with its field, where it came
 * from and why.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { sensorConfigSchema, type SensorConfig } from './sensorConfig.ts';

type ValueType = 'string' | 'int' | 'number' | 'bool' | 'list' | 'intList';

export interface SettingSpec {
  /** Dotted path in the config file. */
  readonly path: string;
  readonly flag: string;
  readonly env: string;
  readonly type: ValueType;
}

const s = (path: string, flag: string, type: ValueType = 'string'): SettingSpec => ({
  path, flag, type, env: `HYDROPHONE_${path.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase()}`,
});

/** Every setting with a flag and an environment variable (HYDROPHONE_ + the path in upper snake case). */
export const SETTINGS: readonly SettingSpec[] = [
  s('sinks', 'sink', 'list'),
  s('sensorId', 'sensor-id'),
  s('otlp.endpoint', 'otlp-endpoint'),
  s('otlp.insecure', 'otlp-insecure', 'bool'),
  s('otlp.caFile', 'otlp-ca'),
  s('otlp.certFile', 'otlp-cert'),
  s('otlp.keyFile', 'otlp-key'),
  s('otlp.auth', 'otlp-auth'),
  s('otlp.username', 'otlp-user'),
  s('otlp.secretFile', 'otlp-secret-file'),
  s('otlp.compression', 'otlp-compression'),
  s('otlp.timeoutSeconds', 'otlp-timeout', 'int'),
  s('kafka.brokers', 'kafka-brokers', 'list'),
  s('kafka.topic', 'kafka-topic'),
  s('kafka.caFile', 'kafka-ca'),
  s('kafka.certFile', 'kafka-cert'),
  s('kafka.keyFile', 'kafka-key'),
  s('kafka.saslMechanism', 'kafka-sasl-mechanism'),
  s('kafka.saslUsername', 'kafka-sasl-user'),
  s('kafka.saslPasswordFile', 'kafka-sasl-password-file'),
  s('kafka.compression', 'kafka-compression'),
  s('queue.maxSpans', 'queue-spans', 'int'),
  s('queue.batchSpans', 'batch-spans', 'int'),
  s('queue.batchTimeoutMs', 'batch-timeout-ms', 'int'),
  s('queue.shutdownDeadlineSeconds', 'shutdown-deadline', 'int'),
  s('skipBackendCheck', 'skip-backend-check', 'bool'),
  s('capture.pids', 'pid', 'intList'),
  s('capture.ports', 'port', 'intList'),
  s('capture.captureBytes', 'capture-bytes', 'int'),
  s('capture.ringBufferMb', 'ring-buffer-mb', 'int'),
  s('capture.attach', 'attach'),
  s('capture.unix', 'unix', 'bool'),
  s('capture.sslBio', 'ssl-bio', 'bool'),
  s('capture.goHeaders', 'go-headers'),
  s('kubernetes.mode', 'kubernetes'),
  s('kubernetes.nodeName', 'node-name'),
  s('kubernetes.clusterName', 'cluster-name'),
  s('kubernetes.deletedPodGraceSeconds', 'deleted-pod-grace', 'int'),
  s('spans.routes', 'routes'),
  s('spans.commandLine', 'command-line', 'bool'),
  s('spans.sampleRatio', 'sample-ratio', 'number'),
  s('spans.maxPerSecond', 'max-spans-per-second', 'int'),
  s('attributes.requestHeaders', 'request-header', 'list'),
  s('attributes.responseHeaders', 'response-header', 'list'),
  s('attributes.grpcRequestMetadata', 'grpc-request-metadata', 'list'),
  s('attributes.grpcResponseMetadata', 'grpc-response-metadata', 'list'),
  s('attributes.sensitiveHeaders', 'sensitive-header', 'list'),
  s('attributes.urlQuery', 'url-query'),
  s('attributes.queryParams', 'query-param', 'list'),
  s('filters.namespaces', 'namespace', 'list'),
  s('filters.excludeNamespaces', 'exclude-namespace', 'list'),
  s('filters.processes', 'process', 'list'),
  s('filters.protocols', 'protocol', 'list'),
  s('filters.podLabels', 'pod-label', 'list'),
  s('filters.excludePodLabels', 'exclude-pod-label', 'list'),
  s('log.format', 'log-format'),
  s('log.level', 'log-level'),
  s('health.port', 'health-port', 'int'),
  s('health.address', 'health-address'),
];

/** parseArgs option definitions for every setting, plus --config. */
export function settingFlags(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { config: { type: 'string' } };
  for (const x of SETTINGS) out[x.flag] = x.type === 'bool' ? { type: 'boolean' } : x.type === 'list' || x.type === 'intList' ? { type: 'string', multiple: true } : { type: 'string' };
  return out;
}

export class ConfigError extends Error {}

export interface LoadedConfig {
  readonly config: SensorConfig;
  /** Where each setting that is not a default came from, by path: a file, $VAR or --flag. */
  readonly origins: ReadonlyMap<string, string>;
  readonly file?: string;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null || Array.isArray(o[p])) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts.at(-1)!] = value;
}

/** A flag or variable's text as the type the schema expects; a malformed value is left as text for the schema to reject by name. */
function convert(spec: SettingSpec, raw: string | boolean | string[], origin: string): unknown {
  const items = (v: string | boolean | string[]) => (Array.isArray(v) ? v : [String(v)]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const int = (text: string) => {
    const n = Number(text);
    if (text === '' || !Number.isInteger(n)) throw new ConfigError(`${spec.path} (from ${origin}): '${text}' is not a whole number`);
    return n;
  };
  switch (spec.type) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
      if (/^(0|false|no|off)$/i.test(String(raw))) return false;
      throw new ConfigError(`${spec.path} (from ${origin}): '${String(raw)}' is not true or false`);
    case 'int': return int(String(raw));
    case 'number': {
      const n = Number(raw);
      if (String(raw).trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${spec.path} (from ${origin}): '${String(raw)}' is not a number`);
      return n;
    }
    case 'list': return items(raw);
    case 'intList': return items(raw).map(int);
    default: return String(raw);
  }
}

function flatPaths(o: unknown, prefix = ''): string[] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return prefix ? [prefix] : [];
  return Object.entries(o).flatMap(([k, v]) => flatPaths(v, prefix ? `${prefix}.${k}` : k));
}

export function loadConfig(flags: Readonly<Record<string, string | boolean | string[] | undefined>>, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const origins = new Map<string, string>();
  const file = (flags.config as string | undefined) ?? env.HYDROPHONE_CONFIG;
  let merged: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code}): check --config / $HYDROPHONE_CONFIG`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`config file ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file}: the top level must be a mapping (key: value)`);
      merged = doc as Record<string, unknown>;
      for (const p of flatPaths(merged)) origins.set(p, file);
    }
  }
  for (const spec of SETTINGS) {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') continue;
    setPath(merged, spec.path, convert(spec, raw, `$${spec.env}`));
    origins.set(spec.path, `$${spec.env}`);
  }
  for (const spec of SETTINGS) {
    const raw = flags[spec.flag];
    if (raw === undefined) continue;
    setPath(merged, spec.path, convert(spec, raw, `--${spec.flag}`));
    origins.set(spec.path, `--${spec.flag}`);
  }
  const parsed = sensorConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        // Most often a typo: name each key with where it was written.
        return issue.keys.map((key) => {
          const path = [...issue.path, key].join('.');
          const origin = originOf(origins, path);
          return `${path}${origin ? ` (from ${origin})` : ''}: not a setting (a typo? --print-config lists them all)`;
        });
      }
      const path = issue.path.join('.');
      const origin = originOf(origins, path);
      const field = path || '(top level)';
      const value = valueAt(merged, issue.path);
      return [`${field}${origin ? ` (from ${origin})` : ''}: ${issue.message}${value !== undefined && typeof value !== 'object' ? `, got ${JSON.stringify(value)}` : ''}`];
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return { config: parsed.data, origins, ...(file ? { file } : {}) };
}

/** The origin of a path or of the nearest enclosing path that has one (a list item's list). */
function originOf(origins: ReadonlyMap<string, string>, path: string): string | undefined {
  for (let p = path; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const o = origins.get(p) ?? origins.get(p.replace(/\.\d+$/, ''));
    if (o) return o;
  }
  return undefined;
}

function valueAt(o: unknown, path: readonly PropertyKey[]): unknown {
  let v = o;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
