/**
 * The portal as an operator meets it: HTTPS on a free port with its own CA,
 * a sensor registered with the admin token, its manifest downloaded once
 * (node:https trusting only the portal CA, and the real curl binary as the
 * README shows), applied with the real kubectl to a real kube-apiserver,
 * rotated, revoked, and the CRL a backend loads. Credentials: 401 without,
 * 403 with wrong ones, and the same answer whether or not a uuid exists.
 * The `hydrophone portal` command itself is started once as a process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { projectRoot } from '../../src/native/addon.ts';
import type { KubeManifest } from '../../src/deploy/renderManifests.ts';
import { validateAgainstSchema } from '../deploy/kubeSchema.ts';
import { kubeApiServerUnavailableReason, startKubeApiServer, type KubeApiServer } from '../support/kubeApiServer.ts';
import { freePort } from '../support/peers.ts';
import { httpsCall, manifestObjects, secretFiles, sensorConfigText, startTestPortal, type TestPortal } from '../support/testPortal.ts';
import { x509 } from '../../src/portal/x509.ts';

const work = mkdtempSync(path.join(tmpdir(), 'hp-portal-test-'));
const BACKEND_CA = rootCertificates[0]!; // any real CA certificate: the sensor would trust it for its backends
let t: TestPortal;
let caFile: string;

interface Registered {
  uuid: string;
  downloadToken: string;
  tokenExpiresAt: string;
  manifestUrl: string;
  certificate: { serial: string; notAfter: string };
}

const register = async (body: Record<string, unknown> = {}) => {
  const res = await t.call('POST', '/api/v1/sensors', { token: t.adminToken, body: { tenant: 'acme', clusterName: 'prod-eu-1', otlpEndpoint: 'otlp.acme.example:4317', backendCaPem: BACKEND_CA, ...body } });
  expect(res.status, res.text).toBe(201);
  return res.json<Registered>();
};
const manifestPath = (uuid: string) => `/api/v1/manifests/sensor-saas/${uuid}`;

/**
 * A command run without blocking: the portal serves from this very process,
 * so a synchronous spawn of curl would wait on a handshake nobody answers.
 */
function runAsync(file: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ status: err ? (typeof code === 'number' ? code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  t = await startTestPortal();
  caFile = path.join(work, 'portal-ca.crt');
  writeFileSync(caFile, t.portal.ca.certPem);
});
afterAll(async () => {
  await t?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the portal over HTTPS', () => {
  it('serves with a certificate from its own CA, which a client must be given', async () => {
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    await expect(httpsCall(`${t.portal.url}/healthz`, undefined, 'GET')).rejects.toThrow(/unable to verify the first certificate/);
    // The CA certificate is public: backends load it to trust sensor certificates.
    const ca = await t.call('GET', '/api/v1/ca.crt');
    expect(ca.status).toBe(200);
    expect(ca.text).toBe(t.portal.ca.certPem);
  });

  it('registers a sensor: 201 with its uuid, a one-time token, the manifest URL and the certificate', async () => {
    const r = await register();
    expect(r.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.downloadToken).toMatch(/^hpd_[A-Za-z0-9_-]{43}$/);
    expect(r.manifestUrl).toBe(`${t.portal.url}/api/v1/manifests/sensor-saas/${r.uuid}`);
    expect(r.certificate.serial).toMatch(/^[0-9A-F]{32}$/);
    expect(new Date(r.certificate.notAfter).getTime() - Date.now()).toBeGreaterThan(29.9 * 86_400_000);
    const view = await t.call('GET', `/api/v1/sensors/${r.uuid}`, { token: t.adminToken });
    expect(view.json()).toMatchObject({ uuid: r.uuid, tenant: 'acme', clusterName: 'prod-eu-1', status: 'active', certificate: r.certificate, backends: { otlpEndpoint: 'otlp.acme.example:4317', backendCa: true } });
  });

  it('refuses a registration it cannot turn into a working sensor, with the reason, to the admin', async () => {
    const res = await t.call('POST', '/api/v1/sensors', { token: t.adminToken, body: { tenant: 'acme', clusterName: 'c', otlpEndpoint: 'http://collector:4317' } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: expect.stringMatching(/^otlpEndpoint: http:\/\/collector:4317 is plain text/) });
    expect((await t.call('POST', '/api/v1/sensors', { token: t.adminToken, body: '{not json' })).status).toBe(400);
  });

  it('delivers the manifest once: multi-document YAML with the Secret whose key and certificate match and chain to the portal CA', async () => {
    const r = await register();
    const res = await t.call('GET', `${manifestPath(r.uuid)}?token=${r.downloadToken}`);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('text/yaml; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const objects = manifestObjects(res.text);
    expect(objects.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'DaemonSet']);
    for (const o of objects) await validateAgainstSchema(o);

    const files = secretFiles(objects);
    expect(Object.keys(files).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const cert = new X509Certificate(files['tls.crt']!);
    const portalCa = new X509Certificate(t.portal.ca.certPem);
    expect(cert.checkPrivateKey(createPrivateKey(files['tls.key']!))).toBe(true);
    expect(cert.checkIssued(portalCa)).toBe(true);
    expect(cert.verify(portalCa.publicKey)).toBe(true);
    expect(cert.serialNumber).toBe(r.certificate.serial);
    expect(cert.subjectAltName).toBe(`URI:urn:hydrophone:sensor:${r.uuid}`);
    expect(cert.subject).toBe(`CN=hydrophone-sensor-${r.uuid}\nO=acme`);
    expect(files['ca.crt']).toBe(BACKEND_CA);
    expect(sensorConfigText(objects)).toMatch(/endpoint: otlp\.acme\.example:4317\n[\s\S]*caFile: \/etc\/hydrophone\/tls\/ca\.crt/);

    // The token is spent: the same request (as a query or as a bearer token) is refused.
    expect((await t.call('GET', `${manifestPath(r.uuid)}?token=${r.downloadToken}`)).status).toBe(403);
    expect((await t.call('GET', manifestPath(r.uuid), { token: r.downloadToken })).status).toBe(403);
  });

  it('answers 401 without credentials and 403 with wrong ones, the same for a uuid that exists and one that does not', async () => {
    const a = await register();
    const b = await register();
    const unknown = randomUUID();
    const answers = async (uuid: string) => ({
      registerNone: await t.call('POST', '/api/v1/sensors', { body: { tenant: 'x', clusterName: 'y' } }),
      registerWrong: await t.call('POST', '/api/v1/sensors', { token: `${t.adminToken}x`, body: { tenant: 'x', clusterName: 'y' } }),
      describeWrong: await t.call('GET', `/api/v1/sensors/${uuid}`, { token: a.downloadToken }),
      rotateNone: await t.call('POST', `/api/v1/sensors/${uuid}/rotate`),
      revokeWrong: await t.call('POST', `/api/v1/sensors/${uuid}/revoke`, { token: 'not-the-admin-token-at-all' }),
      manifestNone: await t.call('GET', manifestPath(uuid)),
      manifestWrong: await t.call('GET', `${manifestPath(uuid)}?token=hpd_${'x'.repeat(43)}`),
      manifestOtherSensorsToken: await t.call('GET', manifestPath(uuid), { token: b.downloadToken }),
    });
    const existing = await answers(a.uuid);
    const missing = await answers(unknown);
    const summary = (x: typeof existing) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, `${v.status} ${v.text.trim().replace(/\s+/g, ' ')} ${v.headers['www-authenticate'] ?? ''}`.trim()]));
    expect(summary(existing)).toEqual({
      registerNone: '401 { "error": "unauthorized" } Bearer realm="hydrophone-portal"',
      registerWrong: '403 { "error": "forbidden" }',
      describeWrong: '403 { "error": "forbidden" }',
      rotateNone: '401 { "error": "unauthorized" } Bearer realm="hydrophone-portal"',
      revokeWrong: '403 { "error": "forbidden" }',
      manifestNone: '401 { "error": "unauthorized" } Bearer realm="hydrophone-portal"',
      manifestWrong: '403 { "error": "forbidden" }',
      manifestOtherSensorsToken: '403 { "error": "forbidden" }',
    });
    expect(summary(missing)).toEqual(summary(existing));
    // None of that spent or touched anything: b's token still works, and nothing changed for a.
    expect((await t.call('GET', manifestPath(b.uuid), { token: b.downloadToken })).status).toBe(200);
    expect((await t.call('GET', manifestPath(a.uuid), { token: a.downloadToken })).status).toBe(200);
  });

  it('is downloaded with curl as the README shows (--cacert the portal CA), once', async () => {
    const r = await register();
    const out = path.join(work, 'sensor.yaml');
    const curl = (url: string) => runAsync('curl', ['-sS', '-o', out, '-w', '%{http_code}', url, '--cacert', caFile]);
    const first = await curl(`${r.manifestUrl}?token=${r.downloadToken}`);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('200');
    const text = readFileSync(out, 'utf8');
    expect(secretFiles(manifestObjects(text))['tls.crt']).toContain('BEGIN CERTIFICATE');
    expect((await curl(`${r.manifestUrl}?token=${r.downloadToken}`)).stdout).toBe('403');
    // Without --cacert, curl refuses the portal: the operator checks whom they talk to.
    const untrusted = await runAsync('curl', ['-sS', '-o', '/dev/null', `${r.manifestUrl}?token=${r.downloadToken}`]);
    expect(untrusted.status).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
  });

  it('rotates: a new certificate and token; the old certificate stays valid (not in the CRL) unless revokePrevious; the old token is void', async () => {
    const r = await register();
    const rotated = await t.call('POST', `/api/v1/sensors/${r.uuid}/rotate`, { token: t.adminToken });
    expect(rotated.status, rotated.text).toBe(200);
    const next = rotated.json<Registered & { previousCertificates: { serial: string; revoked: boolean }[] }>();
    expect(next.certificate.serial).not.toBe(r.certificate.serial);
    expect(next.downloadToken).not.toBe(r.downloadToken);
    expect(next.previousCertificates).toEqual([{ serial: r.certificate.serial, notAfter: r.certificate.notAfter, revoked: false }]);
    expect((await t.call('GET', manifestPath(r.uuid), { token: r.downloadToken })).status).toBe(403);
    const res = await t.call('GET', manifestPath(r.uuid), { token: next.downloadToken });
    expect(new X509Certificate(secretFiles(manifestObjects(res.text))['tls.crt']!).serialNumber).toBe(next.certificate.serial);
    expect(await crlSerials()).not.toContain(r.certificate.serial);

    const again = (await t.call('POST', `/api/v1/sensors/${r.uuid}/rotate`, { token: t.adminToken, body: { revokePrevious: true } })).json<Registered & { previousCertificates: { serial: string; revoked: boolean }[] }>();
    expect(again.previousCertificates.map((c) => c.revoked)).toEqual([true, true]);
    const listed = await crlSerials();
    expect(listed).toEqual(expect.arrayContaining([r.certificate.serial, next.certificate.serial]));
    expect(listed).not.toContain(again.certificate.serial);
  });

  it('revokes: the manifest is gone (410) for that sensor\'s token, rotation is refused (409), and the CRL lists every serial, signed by the CA', async () => {
    const r = await register();
    const downloaded = await register(); // one whose manifest was fetched before the revocation
    const manifest = await t.call('GET', manifestPath(downloaded.uuid), { token: downloaded.downloadToken });
    const cert = secretFiles(manifestObjects(manifest.text))['tls.crt']!;

    for (const s of [r, downloaded]) {
      const res = await t.call('POST', `/api/v1/sensors/${s.uuid}/revoke`, { token: t.adminToken });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ uuid: s.uuid, status: 'revoked', revokedSerials: [s.certificate.serial] });
    }
    expect((await t.call('POST', `/api/v1/sensors/${r.uuid}/revoke`, { token: t.adminToken })).status).toBe(200); // again: no change
    expect((await t.call('GET', manifestPath(r.uuid), { token: r.downloadToken })).status).toBe(410);
    expect((await t.call('GET', manifestPath(downloaded.uuid), { token: downloaded.downloadToken })).status).toBe(410);
    expect((await t.call('POST', `/api/v1/sensors/${r.uuid}/rotate`, { token: t.adminToken })).status).toBe(409);
    expect((await t.call('POST', `/api/v1/sensors/${randomUUID()}/revoke`, { token: t.adminToken })).status).toBe(404);

    const der = await t.call('GET', '/api/v1/crl');
    expect(der.headers['content-type']).toBe('application/pkix-crl');
    const crl = new x509.X509Crl(der.body);
    expect(await crl.verify({ publicKey: t.portal.ca.certificate.publicKey })).toBe(true);
    expect(crl.entries.map((e) => e.serialNumber.toUpperCase())).toEqual(expect.arrayContaining([r.certificate.serial, downloaded.certificate.serial]));
    // The PEM form, loaded by OpenSSL as a TLS server would: the downloaded certificate is now refused.
    const pem = await t.call('GET', '/api/v1/crl?format=pem');
    expect(pem.text).toMatch(/^-----BEGIN X509 CRL-----\n/);
    writeFileSync(path.join(work, 'crl.pem'), pem.text);
    writeFileSync(path.join(work, 'revoked.crt'), cert);
    const verify = await runAsync('openssl', ['verify', '-crl_check', '-CRLfile', path.join(work, 'crl.pem'), '-CAfile', caFile, path.join(work, 'revoked.crt')]);
    expect(verify.status).not.toBe(0);
    expect(`${verify.stdout}${verify.stderr}`).toMatch(/certificate revoked/);
  });

  it('audit-logs every registration, rotation, revocation and download, in the table and as JSON lines, without a token or a key', async () => {
    const r = await register({ tenant: 'audited' });
    await t.call('GET', manifestPath(r.uuid), { token: r.downloadToken });
    await t.call('POST', `/api/v1/sensors/${r.uuid}/rotate`, { token: t.adminToken });
    await t.call('POST', `/api/v1/sensors/${r.uuid}/revoke`, { token: t.adminToken });
    expect(t.portal.audit.rows(r.uuid).map((row) => `${row.actor} ${row.action} ${row.remote}`)).toEqual([
      'admin sensor.registered 127.0.0.1', 'download-token manifest.downloaded 127.0.0.1', 'admin sensor.rotated 127.0.0.1', 'admin sensor.revoked 127.0.0.1',
    ]);
    const lines = t.logLines.filter((l) => l.includes(r.uuid)).map((l) => JSON.parse(l) as { action: string; sensor: string });
    expect(lines.map((l) => l.action)).toEqual(['sensor.registered', 'manifest.downloaded', 'sensor.rotated', 'sensor.revoked']);
    const everything = `${t.logLines.join('\n')}\n${JSON.stringify(t.portal.audit.rows())}`;
    expect(everything).not.toMatch(/hpd_[A-Za-z0-9_-]{8}/);
    expect(everything).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    expect(everything).not.toContain(t.adminToken);
    expect(t.logLines.some((l) => l.includes('"action":"auth.refused"'))).toBe(true); // refusals are logged (stderr only)
  });

  it('keeps its CA and sensors across a restart; the CA key on disk stays encrypted', async () => {
    const r = await register();
    const fingerprint = t.portal.ca.fingerprint256;
    const { dataDir, adminToken } = t;
    await t.portal.close();
    const keyFile = path.join(dataDir, 'ca', 'ca.key');
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const restarted = await startTestPortal({ dataDir, adminToken });
    const stopOld = t.stop.bind(t);
    t = { ...restarted, stop: async () => { await restarted.stop(); await stopOld(); } };
    expect(t.portal.caCreated).toBe(false);
    expect(t.portal.ca.fingerprint256).toBe(fingerprint);
    expect((await t.call('GET', manifestPath(r.uuid), { token: r.downloadToken })).status).toBe(200);
  });
});

const kubeSkip = kubeApiServerUnavailableReason();

describe.skipIf(kubeSkip)('kubectl apply -f sensor.yaml, on a real kube-apiserver', () => {
  let api: KubeApiServer;
  beforeAll(async () => {
    api = await startKubeApiServer();
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
  });

  it('creates every object, the Secret with the sensor\'s key and certificate, in one apply (the manifest makes its namespace)', async () => {
    const r = await register({ clusterName: 'kind-test' });
    const file = path.join(work, 'apply.yaml');
    const curl = await runAsync('curl', ['-sS', '-f', '-o', file, `${r.manifestUrl}?token=${r.downloadToken}`, '--cacert', caFile]);
    expect(curl.status, curl.stderr).toBe(0);
    const apply = await runAsync('kubectl', ['--kubeconfig', api.kubeconfigPath, 'apply', '-f', file]);
    expect(apply.stderr).toBe('');
    expect(apply.stdout.trim().split('\n')).toEqual([
      'namespace/hydrophone-system created',
      'serviceaccount/hydrophone-sensor created',
      'clusterrole.rbac.authorization.k8s.io/hydrophone-sensor created',
      'clusterrolebinding.rbac.authorization.k8s.io/hydrophone-sensor created',
      'configmap/hydrophone-sensor-config created',
      'secret/hydrophone-sensor-tls created',
      'daemonset.apps/hydrophone-sensor created',
    ]);
    const secret = await api.client.json<{ type: string; data: Record<string, string> }>('GET', '/api/v1/namespaces/hydrophone-system/secrets/hydrophone-sensor-tls');
    const expected = (manifestObjects(readFileSync(file, 'utf8')).find((o) => o.kind === 'Secret') as KubeManifest & { data: Record<string, string> }).data;
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.data).toEqual(expected);
    const cm = await api.client.json<{ data: Record<string, string> }>('GET', '/api/v1/namespaces/hydrophone-system/configmaps/hydrophone-sensor-config');
    expect(cm.data['sensor.yaml']).toContain('clusterName: kind-test');
    const ds = await api.client.json<{ spec: { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } } } }>('GET', '/apis/apps/v1/namespaces/hydrophone-system/daemonsets/hydrophone-sensor');
    expect(ds.spec.template.spec.volumes.find((v) => v.name === 'tls')?.secret?.secretName).toBe('hydrophone-sensor-tls');
  });
});

describe('the CRL published over plain HTTP (--crl-listen)', () => {
  let p: TestPortal;
  beforeAll(async () => {
    p = await startTestPortal({ publishCrl: true });
  });
  afterAll(async () => p?.stop());

  it('names it in every certificate as the distribution point, serves only it, and a verifier that follows the point refuses a revoked sensor', async () => {
    expect(p.portal.crlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/crl$/);
    const reg = await p.call('POST', '/api/v1/sensors', { token: p.adminToken, body: { tenant: 'acme', clusterName: 'crl', otlpEndpoint: 'otlp.acme.example:4317', backendCaPem: BACKEND_CA } });
    expect(reg.status, reg.text).toBe(201);
    const r = reg.json<Registered>();
    const manifest = await p.call('GET', manifestPath(r.uuid), { token: r.downloadToken });
    const certPem = secretFiles(manifestObjects(manifest.text))['tls.crt']!;
    const dp = new x509.X509Certificate(certPem).getExtension(x509.CRLDistributionPointsExtension);
    expect(JSON.stringify(dp?.toTextObject())).toContain(p.portal.crlUrl);

    // Plain HTTP, the same CRL as the HTTPS API's; nothing else answers there.
    const plain = await fetch(p.portal.crlUrl!);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('application/pkix-crl');
    expect(await new x509.X509Crl(Buffer.from(await plain.arrayBuffer())).verify({ publicKey: p.portal.ca.certificate.publicKey })).toBe(true);
    const other = await fetch(p.portal.crlUrl!.replace('/api/v1/crl', '/api/v1/sensors'), { method: 'POST' });
    expect(other.status).toBe(404);

    // OpenSSL fetches the CRL from the certificate's own distribution point (-crl_download).
    const dir = mkdtempSync(path.join(work, 'crldp-'));
    writeFileSync(path.join(dir, 'ca.crt'), p.portal.ca.certPem);
    writeFileSync(path.join(dir, 'sensor.crt'), certPem);
    const verify = () => runAsync('openssl', ['verify', '-crl_check', '-crl_download', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'sensor.crt')]);
    const before = await verify();
    expect(before.status, before.stdout + before.stderr).toBe(0);
    expect((await p.call('POST', `/api/v1/sensors/${r.uuid}/revoke`, { token: p.adminToken })).status).toBe(200);
    const after = await verify();
    expect(after.status).not.toBe(0);
    expect(`${after.stdout}${after.stderr}`).toMatch(/certificate revoked/);
  });
});

describe('hydrophone portal (the command)', () => {
  it('refuses a --sensor-image that is not an image reference, before it makes anything', () => {
    const r = spawnSync(path.join(projectRoot, 'bin/hydrophone'), ['portal', '--data-dir', path.join(work, 'never'), '--sensor-image', 'Registry/Sensor:1'],
      { encoding: 'utf8', env: { ...process.env, HYDROPHONE_PORTAL_CA_PASSPHRASE: 'a passphrase long enough' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--sensor-image 'Registry\/Sensor:1'.*not an image name/);
    expect(existsSync(path.join(work, 'never'))).toBe(false);
  });

  it('starts from its flags, makes its CA and admin token in the data directory, serves, and stops on SIGTERM', async () => {
    const dataDir = path.join(work, 'cli-data');
    const passFile = path.join(work, 'cli-pass');
    writeFileSync(passFile, 'a passphrase for the cli test\n');
    const port = await freePort();
    const child = spawn(path.join(projectRoot, 'bin/hydrophone'), ['portal', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--ca-passphrase-file', passFile,
      '--otlp-endpoint', 'otlp.example.com:4317', '--cert-days', '7', '--sensor-image', 'registry.example.com/obs/hydrophone-sensor:9.9.9'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HYDROPHONE_PORTAL_ADMIN_TOKEN: '' } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    try {
      const deadline = Date.now() + 20_000;
      while (!stderr.includes('hydrophone portal: serving')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the portal did not start: ${stderr}`);
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(stderr).toContain(`hydrophone portal: serving https://127.0.0.1:${port}`);
      expect(stderr).toContain(`admin token: made now, in ${path.join(dataDir, 'admin-token')}`);
      const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
      expect(stderr).not.toContain(token);
      const ca = readFileSync(path.join(dataDir, 'ca', 'ca.crt'), 'utf8');
      const res = await httpsCall(`https://127.0.0.1:${port}/api/v1/sensors`, ca, 'POST', { token, body: { tenant: 'cli', clusterName: 'c1' } });
      expect(res.status, res.text).toBe(201);
      const reg = res.json<Registered>();
      expect(new Date(reg.certificate.notAfter).getTime() - Date.now()).toBeLessThan(7 * 86_400_000 + 60_000);
      const manifest = await httpsCall(`https://127.0.0.1:${port}${manifestPath(reg.uuid)}?token=${reg.downloadToken}`, ca, 'GET', {});
      expect(manifest.status, manifest.text).toBe(200);
      const ds = manifestObjects(manifest.text).find((o) => o.kind === 'DaemonSet');
      expect(JSON.stringify(ds).match(/"image":"([^"]*)"/)?.[1]).toBe('registry.example.com/obs/hydrophone-sensor:9.9.9');
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
    expect(child.exitCode).toBe(0);
  });
});

async function crlSerials(): Promise<string[]> {
  const res = await t.call('GET', '/api/v1/crl');
  return new x509.X509Crl(res.body).entries.map((e) => e.serialNumber.toUpperCase());
}
