/**
 * deploy/gateway's collector configuration, run for real: a collector built
 * with the components of the gateway's image (test/peers/gateway) accepts
 * it (`validate`, which refuses unknown keys), and with it runs between a
 * sensor configured by deploy/base and a backend collector: sensor ->
 * gateway -> backend, each hop mutual TLS with the certificate files where
 * the Secrets would put them. Only what a cluster decides is changed: the
 * directories of the Secrets, the pod's address and ports, the backend's
 * endpoint, and the test backend's basic-auth password. Skipped, with the
 * reason, when a collector is not built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/loadConfig.ts';
import { buildSinks } from '../../src/cli/sinkOptions.ts';
import type { KubeManifest } from '../../src/deploy/renderManifests.ts';
import { gatewayCollectorBinary, gatewayCollectorUnavailableReason } from '../support/gatewayCollector.ts';
import { otelCollectorUnavailableReason, startOtelCollector, type OtelCollector } from '../support/otelCollector.ts';
import { makeTestPki, type TestPki } from '../support/testPki.ts';
import { startProc, waitUntil, type Proc } from '../support/childProcess.ts';
import { freePort } from '../support/peers.ts';
import { syntheticSpans } from '../support/syntheticSpans.ts';
import { find, render } from './deployTree.ts';

const configMapText = (which: 'base' | 'gateway', name: string, key: string) => (find(render(which), 'ConfigMap', name) as KubeManifest & { data: Record<string, string> }).data[key]!;
const gatewayConfig = configMapText('gateway', 'hydrophone-gateway-config', 'config.yaml');
const sensorConfigText = configMapText('base', 'hydrophone-sensor-config', 'sensor.yaml');

/** `text` with each [from, to, times] replaced, failing loudly when `from` no longer occurs `times` times (the manifest changed). */
function rewrite(text: string, edits: readonly (readonly [string, string, number])[]): string {
  let out = text;
  for (const [from, to, times] of edits) {
    const found = out.split(from).length - 1;
    if (found !== times) throw new Error(`expected ${times} × ${JSON.stringify(from)} in the manifest's configuration, found ${found}`);
    out = out.replaceAll(from, to);
  }
  return out;
}

const gatewaySkip = gatewayCollectorUnavailableReason();

describe.skipIf(gatewaySkip)('the gateway configuration, read by a collector with the gateway image\'s components', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'hp-gateway-validate-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const validate = async (text: string) => {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, text);
    return spawnSync(gatewayCollectorBinary(), ['validate', `--config=${file}`], { encoding: 'utf8', env: { ...process.env, POD_IP: '10.1.2.3' } });
  };

  it('is valid (`otelcol validate`)', async () => {
    const r = await validate(gatewayConfig);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('can fail: a misspelt key, or a component the image lacks, is refused', async () => {
    const typo = await validate(rewrite(gatewayConfig, [['max_connection_age:', 'max_conection_age:', 1]]));
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toContain('invalid keys: max_conection_age');
    const unknown = await validate(rewrite(gatewayConfig, [['health_check:', 'healthcheck:', 1], ['[health_check]', '[healthcheck]', 1]]));
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown type: "healthcheck"/);
  });
});

const backendSkip = gatewaySkip ?? otelCollectorUnavailableReason();

describe.skipIf(backendSkip)('sensor -> gateway -> backend, each hop mutual TLS, configured as deploy/ says', () => {
  let backend: OtelCollector;
  let gateway: Proc;
  let pki: TestPki;
  let dir: string;
  let otlpPort: number;
  let healthPort: number;

  /** Writes `files` (name -> PEM) into `name`, the way a Secret volume shows its keys. */
  const secretDir = async (name: string, files: Record<string, string>) => {
    const d = path.join(dir, name);
    await mkdir(d);
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(d, file), text, { mode: 0o600 });
    return d;
  };

  beforeAll(async () => {
    backend = await startOtelCollector();
    dir = await mkdtemp(path.join(tmpdir(), 'hp-gateway-'));
    pki = await makeTestPki(path.join(dir, 'pki'));
    [otlpPort, healthPort] = [await freePort(), await freePort()];
    // hydrophone-gateway-tls: its serving certificate (127.0.0.1 here), and the CA of the sensors' certificates.
    const tls = await secretDir('gateway-tls', { 'tls.crt': pki.server.certPem, 'tls.key': pki.server.keyPem, 'ca.crt': pki.caPem });
    // hydrophone-gateway-backend: the backend's CA, the gateway's client certificate for it.
    const toBackend = await secretDir('gateway-backend', { 'ca.crt': backend.caPem, 'tls.crt': backend.clientCertPem, 'tls.key': backend.clientKeyPem });
    const basic = Buffer.from(`${backend.user}:${backend.password}`).toString('base64');
    const config = rewrite(gatewayConfig, [
      ['${env:POD_IP}:4317', `127.0.0.1:${otlpPort}`, 1],
      ['${env:POD_IP}:13133', `127.0.0.1:${healthPort}`, 1],
      ['/etc/otelcol/tls/', `${tls}/`, 3],
      ['/etc/otelcol/backend/', `${toBackend}/`, 3],
      ['otlp.backend.example:4317', backend.endpoint, 1],
      // The test backend also asks for a password (a real one may not).
      ['exporters:\n  otlp_grpc:\n', `exporters:\n  otlp_grpc:\n    headers:\n      authorization: "Basic ${basic}"\n`, 1],
    ]);
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, config);
    // Its own metrics would take :8888, one port for every collector on the machine.
    gateway = startProc('gateway', gatewayCollectorBinary(), [`--config=${file}`, '--set=service.telemetry.metrics.level=none']);
    await waitUntil(30_000, gateway, async () => (await fetch(`http://127.0.0.1:${healthPort}/`).catch(() => undefined))?.status === 200);
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await backend?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The sensor's configuration from deploy/base, its Secret's files in `tlsDir`, its endpoint this gateway. */
  const sensorConfig = async (name: string, client: { certPem: string; keyPem: string }) => {
    const tlsDir = await secretDir(name, { 'ca.crt': pki.caPem, 'tls.crt': client.certPem, 'tls.key': client.keyPem });
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, rewrite(sensorConfigText, [
      ['/etc/hydrophone/tls/', `${tlsDir}/`, 3],
      ['hydrophone-gateway.hydrophone-system.svc:4317', `127.0.0.1:${otlpPort}`, 1],
    ]));
    return loadConfig({ config: file }, {}).config;
  };

  it('answers its probes: health_check on its own port', async () => {
    const res = await fetch(`http://127.0.0.1:${healthPort}/`);
    expect(res.status).toBe(200);
  });

  it('carries the spans of a sensor with its deploy/base configuration to the backend, startup TLS check included', async () => {
    const before = (await backend.readSpans()).length;
    const lines: string[] = [];
    const sinks = await buildSinks(await sensorConfig('sensor-tls', pki.client), (l) => lines.push(l));
    const spans = syntheticSpans(40, { seed: 9 });
    sinks.fanout.write(spans);
    await sinks.fanout.close();
    expect(sinks.fanout.queueStats()[0]).toMatchObject({ received: 40, sent: 40 });
    const got = (await backend.waitForSpans(before + 40, 20_000)).slice(before);
    expect(new Set(got.map((s) => s.spanId))).toEqual(new Set(spans.map((s) => s.spanId)));
    expect(lines.join('\n')).not.toMatch(/refus|fail/i);
  });

  it('refuses a sensor whose certificate another CA signed: the sensor stops at start, naming the file to fix', async () => {
    await expect(buildSinks(await sensorConfig('foreign-tls', pki.foreignClient), () => {})).rejects.toThrow(/otlp\.certFile/);
  });
});
