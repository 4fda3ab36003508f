/**
 * The portal for tests: started in-process on a free loopback port with a
 * fresh data directory, an HTTPS client that trusts its CA (node:https with
 * `ca`, nothing disabled), and the pieces of a downloaded manifest a test
 * reads: the objects, the Secret's files, the ConfigMap's sensor config.
 */
import { request } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeManifest } from '../../src/deploy/renderManifests.ts';
import { credential, DEFAULT_DEPLOY_BASE, portalPaths, startPortal, type BackendEndpoints, type RunningPortal } from '../../src/portal/index.ts';

export const TEST_CA_PASSPHRASE = 'the test portal CA passphrase';

export interface TestPortal {
  readonly portal: RunningPortal;
  readonly dataDir: string;
  readonly adminToken: string;
  /** Every line the portal logged (audit lines are JSON). */
  readonly logLines: string[];
  /** A request to the portal, trusting its CA. */
  call(method: 'GET' | 'POST', urlPath: string, opts?: { token?: string; body?: unknown }): Promise<PortalResponse>;
  stop(): Promise<void>;
}

export interface PortalResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface TestPortalOptions {
  readonly defaults?: BackendEndpoints;
  readonly certValidityDays?: number;
  /** Reuse a data directory (a restart); default a fresh one, removed by stop(). */
  readonly dataDir?: string;
  readonly adminToken?: string;
  /** Serve the CRL over plain HTTP on a free loopback port, named in every certificate (PortalConfig.crl). */
  readonly publishCrl?: boolean;
}

export async function startTestPortal(opts: TestPortalOptions = {}): Promise<TestPortal> {
  const dataDir = opts.dataDir ?? await mkdtemp(path.join(tmpdir(), 'hp-portal-'));
  const adminToken = opts.adminToken ?? 'test-admin-token-0123456789abcdef';
  const logLines: string[] = [];
  const portal = await startPortal({
    listen: { host: '127.0.0.1', port: 0 },
    paths: portalPaths(dataDir),
    caPassphrase: TEST_CA_PASSPHRASE,
    admin: credential(adminToken, 'test'),
    certValidityDays: opts.certValidityDays ?? 30,
    tokenTtlHours: 1,
    deployBaseDir: DEFAULT_DEPLOY_BASE,
    defaults: opts.defaults ?? {},
    log: (line) => logLines.push(line),
    ...(opts.publishCrl ? { crl: { listen: { host: '127.0.0.1', port: 0 } } } : {}),
  });
  return {
    portal,
    dataDir,
    adminToken,
    logLines,
    call: (method, urlPath, o = {}) => httpsCall(`${portal.url}${urlPath}`, portal.ca.certPem, method, o),
    async stop() {
      await portal.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One HTTPS request with `ca` as the only trusted root. */
export function httpsCall(url: string, ca: string | undefined, method: 'GET' | 'POST', opts: { token?: string; body?: unknown } = {}): Promise<PortalResponse> {
  const payload = opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      ...(ca ? { ca } : {}),
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The documents of a manifest, each checked to parse. */
export function manifestObjects(yamlText: string): KubeManifest[] {
  const docs = parseAllDocuments(yamlText);
  if (!Array.isArray(docs)) throw new Error('the manifest holds no YAML documents');
  for (const d of docs) if (d.errors.length) throw new Error(`the manifest is not valid YAML: ${d.errors[0]!.message}`);
  return docs.map((d) => d.toJS() as KubeManifest);
}

/** The decoded files of the manifest's Secret of type kubernetes.io/tls. */
export function secretFiles(objects: readonly KubeManifest[]): Record<string, string> {
  const secrets = objects.filter((o) => o.kind === 'Secret');
  if (secrets.length !== 1) throw new Error(`the manifest holds ${secrets.length} Secrets, expected one`);
  const data = (secrets[0] as { data?: Record<string, string> }).data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** The sensor config of the manifest's ConfigMap. */
export function sensorConfigText(objects: readonly KubeManifest[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap') as { data?: Record<string, string> } | undefined;
  const text = cm?.data?.['sensor.yaml'];
  if (text === undefined) throw new Error('the manifest has no ConfigMap with sensor.yaml');
  return text;
}
