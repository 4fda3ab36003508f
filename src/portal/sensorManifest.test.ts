/**
 * The manifest built from the real deploy/base (rendered by
 * src/deploy/renderManifests.ts): the base's objects in order, the Secret
 * before the DaemonSet, the ConfigMap's sensor config read back by the
 * sensor's own config loader, and YAML that kubectl (YAML 1.1) and a YAML
 * 1.2 reader both read as the same objects.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderManifests, type KubeManifest } from '../deploy/renderManifests.ts';
import { loadConfig } from '../config/loadConfig.ts';
import { DEFAULT_DEPLOY_BASE } from './portalPaths.ts';
import { sensorManifestObjects, sensorManifestYaml, sensorPodWiring, withSensorImage, type SensorManifestInput } from './sensorManifest.ts';
import type { SensorRecord } from './sensorRegistry.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-manifest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = renderManifests(DEFAULT_DEPLOY_BASE);
const NOT_AFTER = new Date('2026-08-01T00:00:00Z');

function input(backends: SensorRecord['backends'], clusterName = 'prod-eu-1'): SensorManifestInput {
  return {
    base,
    sensor: { uuid: '0d3c9e1a-5b7f-4c2d-8e6a-1f2b3c4d5e6f', tenant: 'acme', clusterName, backends, status: 'active', certSerial: '1A2B', certNotAfter: NOT_AFTER, createdAt: NOT_AFTER },
    certPem: 'CERTIFICATE PEM\n', keyPem: 'KEY PEM\n', serial: '1A2B', notAfter: NOT_AFTER,
  };
}
const BOTH = { otlpEndpoint: 'otlp.acme.example:4317', kafka: { brokers: ['k1.acme.example:9093', 'k2.acme.example:9093'], topic: 'spans' }, backendCaPem: 'BACKEND CA PEM\n' };
const find = (objects: KubeManifest[], kind: string) => objects.find((o) => o.kind === kind) as KubeManifest & { data: Record<string, string>; type?: string };

/** The ConfigMap's sensor config, written to a file and loaded as the sensor loads $HYDROPHONE_CONFIG. */
function loadManifestConfig(objects: KubeManifest[], name: string) {
  const wiring = sensorPodWiring(base);
  const text = find(objects, 'ConfigMap').data[wiring.configKey]!;
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return { text, config: loadConfig({ config: file }, {}).config };
}

describe('the sensor manifest', () => {
  it('reads the names and paths it fills in from the DaemonSet of deploy/base', () => {
    expect(sensorPodWiring(base)).toEqual({
      namespace: 'hydrophone-system', configMapName: 'hydrophone-sensor-config', configKey: 'sensor.yaml', secretName: 'hydrophone-sensor-tls', tlsDir: '/etc/hydrophone/tls',
    });
  });

  it('is the base\'s objects, unchanged but for the ConfigMap, with the Secret inserted before the DaemonSet', () => {
    const objects = sensorManifestObjects(input(BOTH));
    const kinds = base.map((o) => o.kind);
    kinds.splice(kinds.indexOf('DaemonSet'), 0, 'Secret');
    expect(objects.map((o) => o.kind)).toEqual(kinds);
    expect(objects[0]!.kind).toBe('Namespace'); // kubectl apply -f creates it before what lives in it
    for (const o of objects) {
      if (o.kind === 'ConfigMap' || o.kind === 'Secret') continue;
      expect(o).toEqual(base.find((b) => b.kind === o.kind && b.metadata.name === o.metadata.name));
    }
  });

  it('carries the certificate, the key and the backend CA in a kubernetes.io/tls Secret named as the DaemonSet mounts it', () => {
    const secret = find(sensorManifestObjects(input(BOTH)), 'Secret');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata).toMatchObject({
      name: 'hydrophone-sensor-tls', namespace: 'hydrophone-system',
      annotations: { 'hydrophone.io/sensor-uuid': '0d3c9e1a-5b7f-4c2d-8e6a-1f2b3c4d5e6f', 'hydrophone.io/certificate-serial': '1A2B', 'hydrophone.io/certificate-not-after': NOT_AFTER.toISOString() },
    });
    const decoded = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    expect(decoded).toEqual({ 'tls.crt': 'CERTIFICATE PEM\n', 'tls.key': 'KEY PEM\n', 'ca.crt': 'BACKEND CA PEM\n' });
  });

  it('configures both sinks, the cluster name and the mounted certificate files, as the sensor\'s own loader reads them', () => {
    const { text, config } = loadManifestConfig(sensorManifestObjects(input(BOTH)), 'both');
    expect(config.sinks).toEqual(['otlp', 'kafka']);
    expect(config.otlp).toMatchObject({ endpoint: 'otlp.acme.example:4317', caFile: '/etc/hydrophone/tls/ca.crt', certFile: '/etc/hydrophone/tls/tls.crt', keyFile: '/etc/hydrophone/tls/tls.key' });
    expect(config.kafka).toMatchObject({ brokers: BOTH.kafka.brokers, topic: 'spans', caFile: '/etc/hydrophone/tls/ca.crt', certFile: '/etc/hydrophone/tls/tls.crt', keyFile: '/etc/hydrophone/tls/tls.key' });
    expect(config.kubernetes.clusterName).toBe('prod-eu-1');
    expect(config.health).toEqual({ port: 9464, address: '0.0.0.0' }); // the base's settings stay
    expect(text).toContain('# Mutual TLS: the backend\'s CA'); // and its comments
  });

  it('leaves out what a registration does not use: the OTLP block without an OTLP endpoint, ca.crt without a backend CA (the system CAs then)', () => {
    const objects = sensorManifestObjects(input({ kafka: { brokers: ['k1:9093'], topic: 'spans' } }));
    const { config, text } = loadManifestConfig(objects, 'kafka-only');
    expect(config.sinks).toEqual(['kafka']);
    expect(text).not.toMatch(/^otlp:/m);
    expect(config.kafka.caFile).toBeUndefined();
    expect(Object.keys(find(objects, 'Secret').data).sort()).toEqual(['tls.crt', 'tls.key']);
  });

  it('keeps a cluster name that looks like another type a string', () => {
    const { config } = loadManifestConfig(sensorManifestObjects(input(BOTH, '1e3')), 'numeric');
    expect(config.kubernetes.clusterName).toBe('1e3');
  });

  it('is multi-document YAML that YAML 1.1 (kubectl) and 1.2 read as the same objects', () => {
    const text = sensorManifestYaml(input({ ...BOTH, otlpEndpoint: 'yes:4317' }));
    expect(text).toMatch(/^# Hydrophone sensor for cluster prod-eu-1 \(tenant acme\), sensor 0d3c9e1a-/);
    expect(text).toContain('PRIVATE KEY (Secret tls.key): apply it, then delete it.');
    const read = (version: '1.1' | '1.2') => {
      const docs = parseAllDocuments(text, { version });
      if (!Array.isArray(docs)) throw new Error('no documents');
      expect(docs.flatMap((d) => d.errors)).toEqual([]);
      return docs.map((d) => d.toJS() as unknown);
    };
    const v12 = read('1.2');
    expect(read('1.1')).toEqual(v12);
    expect(v12).toEqual(sensorManifestObjects(input({ ...BOTH, otlpEndpoint: 'yes:4317' })));
  });

  it('carries the sensor image the portal was given, and nothing else changes', () => {
    const imageOf = (objects: readonly KubeManifest[]) => JSON.stringify(objects.find((o) => o.kind === 'DaemonSet')).match(/"image":"([^"]*)"/)![1];
    expect(imageOf(base)).toMatch(/^hydrophone-sensor:/);
    const digest = `sha256:${'5e'.repeat(32)}`;
    const moved = withSensorImage(base, `registry.acme.example/obs/hydrophone-sensor@${digest}`, '--sensor-image');
    expect(imageOf(sensorManifestObjects({ ...input(BOTH), base: moved }))).toBe(`registry.acme.example/obs/hydrophone-sensor@${digest}`);
    expect(JSON.stringify(moved).replace(/"image":"[^"]*"/, '')).toBe(JSON.stringify(base).replace(/"image":"[^"]*"/, ''));
    expect(() => withSensorImage(base, 'Registry/Sensor', '--sensor-image')).toThrow(/--sensor-image 'Registry\/Sensor'.*not an image name/);
  });
});
