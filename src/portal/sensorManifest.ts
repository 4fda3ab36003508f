/**
 * The manifest one sensor's cluster applies: the objects of deploy/base
 * (rendered by src/deploy/renderManifests.ts, so they are the ones the
 * repository's tests validate), with
 *   - the ConfigMap's sensor config pointed at this sensor's backends and
 *     cluster name, and at the certificate files where the DaemonSet mounts
 *     the Secret;
 *   - the Secret the DaemonSet mounts (kubernetes.io/tls: tls.crt, tls.key,
 *     and ca.crt, the CA of the backends' server certificates), inserted
 *     before the DaemonSet so `kubectl apply -f` creates it first.
 * Names and paths are read from the rendered DaemonSet, not repeated here:
 * a change to deploy/base changes the manifest with it, or fails loudly.
 */
import path from 'node:path';
import { Document, parseDocument, parse as parseYaml, type YAMLSeq } from 'yaml';
import type { KubeManifest } from '../deploy/renderManifests.ts';
import { applyImageOverrides, imageOverrideFromReference, ImageOverrideError, splitImage } from '../deploy/imageOverride.ts';
import { sensorConfigSchema } from '../config/sensorConfig.ts';
import type { SensorRecord } from './sensorRegistry.ts';

export interface SensorManifestInput {
  /** renderManifests(deploy/base). */
  readonly base: readonly KubeManifest[];
  readonly sensor: SensorRecord;
  /** The certificate the manifest carries and its key (PEM). */
  readonly certPem: string;
  readonly keyPem: string;
  readonly serial: string;
  readonly notAfter: Date;
}

/** How the rendered base wires the config and the certificates into the sensor's pod. */
export interface SensorPodWiring {
  readonly namespace: string;
  readonly configMapName: string;
  /** The key in the ConfigMap's data that holds the sensor config. */
  readonly configKey: string;
  readonly secretName: string;
  /** Where the Secret's files appear in the sensor container. */
  readonly tlsDir: string;
}

export class ManifestError extends Error {}

/** The Secret's keys: the kubernetes.io/tls type requires tls.crt and tls.key; ca.crt is the usual name for the CA beside them. */
export const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** Reads the DaemonSet of the rendered base for the names and mount paths the manifest fills in. */
export function sensorPodWiring(base: readonly KubeManifest[]): SensorPodWiring {
  const daemonSets = base.filter((o) => o.kind === 'DaemonSet');
  if (daemonSets.length !== 1) throw new ManifestError(`deploy/base renders ${daemonSets.length} DaemonSets; the portal expects exactly one (the sensor)`);
  const ds = daemonSets[0]!;
  const pod = (ds as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec;
  const volumes = pod?.volumes ?? [];
  const containers = pod?.containers ?? [];
  if (containers.length !== 1) throw new ManifestError(`the sensor DaemonSet has ${containers.length} containers; the portal expects one`);
  const container = containers[0]!;
  const mountOf = (volume: string) => container.volumeMounts?.find((m) => m.name === volume)?.mountPath;
  const secretVolume = volumes.find((v) => v.secret?.secretName);
  const configVolume = volumes.find((v) => v.configMap?.name);
  if (!secretVolume || !configVolume) throw new ManifestError('the sensor DaemonSet mounts no Secret or no ConfigMap volume: deploy/base changed in a way the portal does not know');
  const tlsDir = mountOf(secretVolume.name);
  const configDir = mountOf(configVolume.name);
  const configFile = container.env?.find((e) => e.name === 'HYDROPHONE_CONFIG')?.value;
  if (!tlsDir || !configDir || !configFile) throw new ManifestError('the sensor container lacks the Secret mount, the config mount or HYDROPHONE_CONFIG');
  const configKey = path.posix.relative(configDir, configFile);
  if (configKey.startsWith('..') || configKey.includes('/')) throw new ManifestError(`HYDROPHONE_CONFIG (${configFile}) is not a file in the config mount ${configDir}`);
  return {
    namespace: ds.metadata.namespace ?? 'default',
    configMapName: configVolume.configMap!.name,
    configKey,
    secretName: secretVolume.secret!.secretName,
    tlsDir,
  };
}

/**
 * The rendered base with the sensor container's image replaced by
 * `reference` (registry/name:tag or registry/name@sha256:...), as an
 * operator's mirror or a pinned digest needs; `where` names the option in errors.
 */
export function withSensorImage(base: readonly KubeManifest[], reference: string, where: string): KubeManifest[] {
  sensorPodWiring(base);
  const ds = base.find((o) => o.kind === 'DaemonSet')!;
  const image = (ds as { spec?: { template?: { spec?: { containers?: { image?: unknown }[] } } } }).spec?.template?.spec?.containers?.[0]?.image;
  if (typeof image !== 'string') throw new ManifestError('the sensor container has no image in deploy/base');
  try {
    return applyImageOverrides(base, [imageOverrideFromReference(splitImage(image).name, reference, where)]);
  } catch (err) {
    if (err instanceof ImageOverrideError) throw new ManifestError(err.message);
    throw err;
  }
}

interface PodSpec {
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
  containers?: { name: string; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] }[];
}

/**
 * The sensor config of the base with this sensor's backends, cluster name
 * and certificate paths; its comments kept. Checked against the sensor's
 * own schema: a config the sensor would refuse never leaves the portal.
 */
export function sensorConfigText(baseText: string, sensor: SensorRecord, tlsDir: string): string {
  const doc = parseDocument(baseText);
  if (doc.errors.length) throw new ManifestError(`the base sensor config is not valid YAML: ${doc.errors[0]!.message}`);
  const b = sensor.backends;
  const file = (key: string) => path.posix.join(tlsDir, key);
  const sinks = [...(b.otlpEndpoint ? ['otlp'] : []), ...(b.kafka ? ['kafka'] : [])];
  const sinksNode = doc.createNode(sinks) as YAMLSeq;
  sinksNode.flow = true;
  doc.set('sinks', sinksNode);
  const tls = (target: 'otlp' | 'kafka') => {
    if (b.backendCaPem) doc.setIn([target, 'caFile'], file(SECRET_KEYS.ca));
    else doc.deleteIn([target, 'caFile']); // no ca.crt in the Secret: the system's CAs
    doc.setIn([target, 'certFile'], file(SECRET_KEYS.cert));
    doc.setIn([target, 'keyFile'], file(SECRET_KEYS.key));
  };
  if (b.otlpEndpoint) {
    doc.setIn(['otlp', 'endpoint'], b.otlpEndpoint);
    tls('otlp');
  } else doc.delete('otlp');
  if (b.kafka) {
    doc.setIn(['kafka', 'brokers'], doc.createNode([...b.kafka.brokers]));
    doc.setIn(['kafka', 'topic'], b.kafka.topic);
    tls('kafka');
  } else doc.delete('kafka');
  // A string stays a string: the writer quotes a cluster named `true` or `1e3`.
  doc.setIn(['kubernetes', 'clusterName'], sensor.clusterName);
  const text = doc.toString({ lineWidth: 0 });
  const checked = sensorConfigSchema.safeParse(parseYaml(text));
  if (!checked.success) throw new ManifestError(`the sensor config the portal wrote does not pass the sensor's schema: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return text;
}

/** The objects of the manifest, in the order `kubectl apply -f` should create them. */
export function sensorManifestObjects(input: SensorManifestInput): KubeManifest[] {
  const wiring = sensorPodWiring(input.base);
  const { sensor } = input;
  const annotations = {
    'hydrophone.io/sensor-uuid': sensor.uuid,
    'hydrophone.io/certificate-serial': input.serial,
    'hydrophone.io/certificate-not-after': input.notAfter.toISOString(),
  };
  const out: KubeManifest[] = [];
  let configMapSeen = false;
  for (const o of input.base) {
    if (o.kind === 'DaemonSet') out.push(secret(input, wiring, annotations, labelsOf(o)));
    if (o.kind === 'ConfigMap' && o.metadata.name === wiring.configMapName && (o.metadata.namespace ?? 'default') === wiring.namespace) {
      const data = (o as { data?: Record<string, string> }).data ?? {};
      const baseText = data[wiring.configKey];
      if (baseText === undefined) throw new ManifestError(`ConfigMap ${wiring.configMapName} has no ${wiring.configKey}`);
      configMapSeen = true;
      out.push({
        ...o,
        metadata: { ...o.metadata, annotations: { ...(o.metadata.annotations as Record<string, string> | undefined), 'hydrophone.io/sensor-uuid': sensor.uuid } },
        data: { ...data, [wiring.configKey]: sensorConfigText(baseText, sensor, wiring.tlsDir) },
      });
      continue;
    }
    out.push(o);
  }
  if (!configMapSeen) throw new ManifestError(`deploy/base renders no ConfigMap ${wiring.namespace}/${wiring.configMapName}, which the DaemonSet mounts`);
  return out;
}

function secret(input: SensorManifestInput, wiring: SensorPodWiring, annotations: Record<string, string>, labels: Record<string, string>): KubeManifest {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: wiring.secretName, namespace: wiring.namespace, labels, annotations },
    data: {
      [SECRET_KEYS.cert]: b64(input.certPem),
      [SECRET_KEYS.key]: b64(input.keyPem),
      ...(input.sensor.backends.backendCaPem ? { [SECRET_KEYS.ca]: b64(input.sensor.backends.backendCaPem) } : {}),
    },
  };
}

function labelsOf(o: KubeManifest): Record<string, string> {
  return { ...((o.metadata.labels as Record<string, string> | undefined) ?? {}) };
}

/**
 * The manifest as multi-document YAML. Written with YAML 1.1's rules for
 * plain scalars (kubectl reads 1.1), so a value such as `yes` or `0400` is
 * quoted and means the same to every reader.
 */
export function sensorManifestYaml(input: SensorManifestInput): string {
  const { sensor } = input;
  const header = [
    `# Hydrophone sensor for cluster ${sensor.clusterName} (tenant ${sensor.tenant}), sensor ${sensor.uuid}.`,
    `# Certificate ${input.serial}, valid until ${input.notAfter.toISOString()}.`,
    '# This file holds the sensor\'s PRIVATE KEY (Secret tls.key): apply it, then delete it.',
    '#   kubectl apply -f sensor.yaml',
  ].join('\n');
  const docs = sensorManifestObjects(input).map((o) => new Document(o, { version: '1.1' }).toString({ lineWidth: 0 }));
  return `${header}\n${docs.map((d) => `---\n${d}`).join('')}`;
}
