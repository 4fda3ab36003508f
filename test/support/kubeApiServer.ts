/**
 * A real Kubernetes API server for tests: etcd and kube-apiserver (built by
 * test/peers/kube/prepare.sh into ~/.cache/hydrophone) started on free
 * loopback ports with a throwaway CA, serving certificate and admin client
 * certificate (O=system:masters), and a kubeconfig that any client
 * (@kubernetes/client-node, kubectl) can load. No scheduler, controller
 * manager or kubelet runs: objects are exactly what a test creates (see
 * kubeObjects.ts), which is all an informer sees anyway.
 */
import { spawnSync, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/native/addon.ts';
import { freePort } from './peers.ts';
import { startProc, waitUntil, type Proc } from './childProcess.ts';
import { KubeClient } from './kubeClient.ts';

const prepareScript = path.join(projectRoot, 'test/peers/kube/prepare.sh');

/** Where the built binaries are. */
export interface KubeBinaries {
  readonly kubeApiServer: string;
  readonly etcd: string;
}

/** A running API server; `stop()` ends both processes and removes every temporary file. */
export interface KubeApiServer {
  /** A kubeconfig (context `hydrophone-test`, user `hydrophone-admin`) with the certificates inline. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** A small REST client authenticated as the admin (system:masters). */
  readonly client: KubeClient;
  /** PEM: the CA that signed the serving and client certificates, the admin's certificate and key. */
  readonly caPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** Milliseconds from spawning etcd to kube-apiserver's /readyz answering 200. */
  readonly startupMs: number;
  /** The etcd client URL, for tests that want to look underneath. */
  readonly etcdUrl: string;
  /**
   * Stops kube-apiserver and starts it again on the same port, etcd kept:
   * open watches end, and its watch cache starts anew, so a watch from a
   * resourceVersion older than the restart gets a 410 Expired ERROR event,
   * as after an API server rollout. Killed (SIGKILL: connections reset, as
   * in a crash) unless `graceful`: SIGTERM, which waits for open watches
   * (up to 10 s here, then SIGKILL). Resolves with the milliseconds it took
   * (about 3 s on 2 cores, plus the wait when graceful with watches open).
   */
  restartApiServer(how?: { graceful?: boolean }): Promise<number>;
  /** Compacts etcd's history up to its current revision (kube-apiserver does so every 5 minutes); resolves with that revision. */
  compactEtcd(): Promise<string>;
  stop(): Promise<void>;
}

let binaries: KubeBinaries | string | undefined;

/**
 * The built binaries, or why they cannot be used (a string). Never builds:
 * `sh test/peers/kube/prepare.sh` does, and takes minutes when cold.
 * HYDROPHONE_KUBE_APISERVER and HYDROPHONE_ETCD override the paths.
 */
export function kubeBinaries(): KubeBinaries | string {
  binaries ??= findBinaries();
  return binaries;
}

/** undefined when a real API server can be started here; otherwise why the tests must skip (printed once). */
export function kubeApiServerUnavailableReason(): string | undefined {
  const found = kubeBinaries();
  if (typeof found !== 'string') return undefined;
  if (!reported) {
    reported = true;
    process.stderr.write(`\n[hydrophone] SKIPPING Kubernetes API server tests: ${found}\n`);
  }
  return found;
}
let reported = false;

function findBinaries(): KubeBinaries | string {
  const fromEnv = { kubeApiServer: process.env.HYDROPHONE_KUBE_APISERVER, etcd: process.env.HYDROPHONE_ETCD };
  if (fromEnv.kubeApiServer && fromEnv.etcd) {
    for (const p of [fromEnv.kubeApiServer, fromEnv.etcd]) if (!existsSync(p)) return `${p} (from HYDROPHONE_KUBE_APISERVER/HYDROPHONE_ETCD) does not exist`;
    return { kubeApiServer: fromEnv.kubeApiServer, etcd: fromEnv.etcd };
  }
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (openssl.status !== 0) return 'the openssl command is missing (it makes the test certificates; apt-get install openssl)';
  const r = spawnSync('sh', [prepareScript, '--no-build'], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/^prepare-kube: /, '');
    return why;
  }
  const lines = new Map(r.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  const kubeApiServer = lines.get('kube-apiserver');
  const etcd = lines.get('etcd');
  if (!kubeApiServer || !etcd) return `${prepareScript} --no-build printed no kube-apiserver= or etcd= line: ${r.stdout.trim()}`;
  return { kubeApiServer, etcd };
}

export interface StartOptions {
  /** Timeout for etcd and kube-apiserver to become ready, in ms (default 90 s: a loaded 2-core machine is slow). */
  readonly readyTimeoutMs?: number;
  /** Default 10.96.0.0/16; Services get their ClusterIP from it. */
  readonly serviceClusterIpRange?: string;
  /** Extra kube-apiserver flags. */
  readonly extraApiServerArgs?: readonly string[];
}

/**
 * Starts etcd and kube-apiserver; resolves once /readyz answers 200.
 * Throws when the binaries are not built (check kubeApiServerUnavailableReason first)
 * or when either process fails to start (with the tail of its log).
 */
export async function startKubeApiServer(opts: StartOptions = {}): Promise<KubeApiServer> {
  const bins = kubeBinaries();
  if (typeof bins === 'string') throw new Error(`no Kubernetes API server: ${bins}`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const started = performance.now();
  const dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-kube-'));
  const procs: Proc[] = [];
  const stopAll = async () => {
    for (const p of procs.reverse()) await p.stop();
    procs.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const pki = await makePki(dir);
    const [etcdClientPort, etcdPeerPort, securePort] = await distinctFreePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = startProc('etcd', bins.etcd, [
      '--name=hydrophone-test',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=hydrophone-test=${peerUrl}`,
      '--initial-cluster-state=new',
      // A test cluster: durability is not the point, speed is.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    procs.push(etcd);
    await waitUntil(readyTimeoutMs, etcd, async () => {
      const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return res?.status === 200 && ((await res.json()) as { health?: string }).health === 'true';
    });

    const server = `https://127.0.0.1:${securePort}`;
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      // Loopback, and no reconciler: the `kubernetes` Service's endpoints
      // would be a loopback address, which validation refuses, every 10 s.
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--secure-port=${securePort}`,
      `--cert-dir=${path.join(dir, 'certs')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      // No controller manager creates the `default` ServiceAccount: without
      // this, every pod create is refused.
      '--disable-admission-plugins=ServiceAccount',
      `--service-cluster-ip-range=${opts.serviceClusterIpRange ?? '10.96.0.0/16'}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=0',
      ...(opts.extraApiServerArgs ?? []),
    ];
    const client = new KubeClient({ server, ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem });
    const startApiServer = async () => {
      const apiserver = startProc('kube-apiserver', bins.kubeApiServer, apiserverArgs);
      procs.push(apiserver);
      await waitUntil(readyTimeoutMs, apiserver, async () => {
        const r = await client.request('GET', '/readyz').catch(() => undefined);
        return r?.status === 200;
      });
      return apiserver;
    };
    let apiserver = await startApiServer();
    const startupMs = Math.round(performance.now() - started);

    const kubeconfigPath = path.join(dir, 'kubeconfig.yaml');
    await writeFile(kubeconfigPath, kubeconfig(server, pki.caPem, pki.clientCertPem, pki.clientKeyPem), { mode: 0o600 });
    let stopped: Promise<void> | undefined;
    return {
      kubeconfigPath,
      server,
      client,
      caPem: pki.caPem,
      clientCertPem: pki.clientCertPem,
      clientKeyPem: pki.clientKeyPem,
      startupMs,
      etcdUrl,
      async restartApiServer(how: { graceful?: boolean } = {}) {
        const t0 = performance.now();
        await apiserver.stop(how.graceful ? 'SIGTERM' : 'SIGKILL');
        procs.splice(procs.indexOf(apiserver), 1);
        client.close();
        apiserver = await startApiServer();
        return Math.round(performance.now() - t0);
      },
      async compactEtcd() {
        const status = await fetch(`${etcdUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
        const revision = ((await status.json()) as { header: { revision: string } }).header.revision;
        const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision, physical: true }) });
        if (res.status !== 200) throw new Error(`etcd compaction at ${revision}: ${res.status} ${await res.text()}`);
        return revision;
      },
      stop() {
        stopped ??= (async () => {
          client.close();
          await stopAll();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A standard kubeconfig with the certificates inline. */
export function kubeconfig(server: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hydrophone-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    '- name: hydrophone-admin',
    '  user:',
    `    client-certificate-data: ${b64(certPem)}`,
    `    client-key-data: ${b64(keyPem)}`,
    'contexts:',
    '- name: hydrophone-test',
    '  context:',
    '    cluster: hydrophone-test',
    '    user: hydrophone-admin',
    '    namespace: default',
    'current-context: hydrophone-test',
    '',
  ].join('\n');
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

// ---- certificates ----

interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

const run = promisify(execFile);

/** A CA, a serving certificate for 127.0.0.1/localhost, an admin client certificate and the service-account key pair: P-256 keys, valid two days. */
async function makePki(dir: string): Promise<Pki> {
  const f = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=hydrophone-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const sign = async (base: string, subj: string, ext: string) => {
    await writeFile(f(`${base}.ext`), ext);
    await openssl(['req', '-new', ...ec, '-keyout', f(`${base}.key`), '-out', f(`${base}.csr`), '-subj', subj]);
    await openssl(['x509', '-req', '-in', f(`${base}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', '2', '-out', f(`${base}.crt`), '-extfile', f(`${base}.ext`)]);
  };
  await Promise.all([
    sign('server', '/CN=kube-apiserver',
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n'),
    sign('admin', '/O=system:masters/CN=hydrophone-admin',
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'),
    (async () => {
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', f('sa.key')]);
      await openssl(['pkey', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]);
    })(),
  ]);
  return {
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    saKey: f('sa.key'),
    saPub: f('sa.pub'),
    caPem: await readFile(f('ca.crt'), 'utf8'),
    clientCertPem: await readFile(f('admin.crt'), 'utf8'),
    clientKeyPem: await readFile(f('admin.key'), 'utf8'),
  };
}
