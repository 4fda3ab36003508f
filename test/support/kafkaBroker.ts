/**
 * A real Apache Kafka 4 broker for tests: one JVM that is broker and KRaft
 * controller at once, from the Maven Central jars that
 * test/peers/kafka/prepare.sh resolves into ~/.cache/hydrophone. Every start
 * makes its own CA, a broker certificate for 127.0.0.1/localhost, a client
 * certificate, and a second client certificate from another CA (for the
 * negative tests), all with the openssl CLI. Listeners, each on a free
 * loopback port:
 *   SSL        mTLS: the broker requires a client certificate from the CA
 *   SASL_SSL   SCRAM-SHA-512 over TLS (server certificate only), one user
 *              added when the storage is formatted
 *   CONTROLLER PLAINTEXT, the KRaft quorum (the broker talks to itself)
 *
 * With `checkRevocation`, the JVM checks every certificate chain it
 * verifies against the CRLs of the certificates' distribution points
 * (com.sun.net.ssl.checkRevocation, com.sun.security.enableCRLDP), as a
 * production broker can be told to. It refuses a chain whose status it
 * cannot learn, so the harness's own certificates then name a CRL of the
 * test CA (empty, served from this process over HTTP).
 */
import { spawnSync, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile, mkdir } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { projectRoot } from '../../src/native/addon.ts';
import { freePort } from './peers.ts';
import { lastLines, startProc, waitUntil, type Proc } from './childProcess.ts';

const prepareScript = path.join(projectRoot, 'test/peers/kafka/prepare.sh');

/** Where the resolved broker is. */
export interface KafkaInstallation {
  /** A directory of jars: the classpath is `<dir>/*`. */
  readonly classpath: string;
  /** A java >= 17. */
  readonly java: string;
}

/** A client certificate and its key, PEM. */
export interface ClientIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A running broker; `stop()` ends it and removes every temporary file. */
export interface KafkaBroker {
  /** `127.0.0.1:PORT` of the SSL listener that requires a client certificate signed by `caPem`. */
  readonly bootstrap: string;
  /** `127.0.0.1:PORT` of the SASL_SSL listener: SCRAM-SHA-512 with `scram`, TLS verified with `caPem`, no client certificate. */
  readonly saslBootstrap: string;
  readonly scram: { readonly mechanism: 'SCRAM-SHA-512'; readonly username: string; readonly password: string };
  /** PEM: the CA that signed the broker's and the client's certificates, the client's certificate and key. */
  readonly caPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** A client certificate signed by another CA: the broker must refuse it. */
  readonly foreignClient: ClientIdentity;
  /** Milliseconds from spawning the broker's JVM to the mTLS listener answering (storage format and certificates not included). */
  readonly startupMs: number;
  /** Creates a topic (replication factor 1) and waits until it has a leader for every partition. */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Stops the JVM (SIGTERM, a controlled shutdown) but keeps its data: `start()` brings the same broker back on the same ports. */
  halt(): Promise<void>;
  /** Starts the JVM again after `halt()`; resolves when it is ready. */
  start(): Promise<void>;
  /** Whether the JVM is running. */
  running(): boolean;
  /** The last 64 KiB of the broker's log (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Timeout for the broker to become ready, in ms (default 90 s: a loaded 2-core machine is slow). */
  readonly readyTimeoutMs?: number;
  /** Let a producer create a topic by naming it (default false: tests call createTopic). */
  readonly autoCreateTopics?: boolean;
  /** Extra server.properties lines, `key=value`. */
  readonly extraProperties?: readonly string[];
  /** The JVM's -Xmx (default 512m). */
  readonly heap?: string;
  /**
   * JVM flags after ours. The defaults favour a quick, light start (serial
   * GC, C1 only); a throughput benchmark may want `-XX:TieredStopAtLevel=4`
   * (the full JIT) back.
   */
  readonly extraJvmArgs?: readonly string[];
  /**
   * More CA certificates (PEM, one or several) the broker trusts for client
   * certificates, beside its own CA: e.g. the portal's, whose sensor
   * certificates the broker must then accept.
   */
  readonly extraClientCaPem?: string;
  /**
   * Refuse revoked client certificates: the JVM's PKIX revocation checking
   * with CRLs fetched from each certificate's CRL distribution point (the
   * portal's certificates name one when it publishes its CRL). Hard fail:
   * a certificate without a reachable CRL is refused too.
   */
  readonly checkRevocation?: boolean;
}

let installation: KafkaInstallation | string | undefined;

/**
 * The resolved jars and java, or why they cannot be used (a string). Never
 * resolves anything: `sh test/peers/kafka/prepare.sh` does (under a minute
 * cold). HYDROPHONE_KAFKA_CLASSPATH (a directory of jars) and HYDROPHONE_JAVA
 * override it.
 */
export function kafkaInstallation(): KafkaInstallation | string {
  installation ??= findInstallation();
  return installation;
}

/** undefined when a real broker can be started here; otherwise why the tests must skip (printed once). */
export function kafkaUnavailableReason(): string | undefined {
  const found = kafkaInstallation();
  if (typeof found !== 'string') return undefined;
  if (!reported) {
    reported = true;
    process.stderr.write(`\n[hydrophone] SKIPPING Kafka broker tests: ${found}\n`);
  }
  return found;
}
let reported = false;

function findInstallation(): KafkaInstallation | string {
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (openssl.status !== 0) return 'the openssl command is missing (it makes the test certificates; apt-get install openssl)';
  let classpath = process.env.HYDROPHONE_KAFKA_CLASSPATH;
  let java = process.env.HYDROPHONE_JAVA;
  if (!classpath || !java) {
    const r = spawnSync('sh', [prepareScript, '--no-build'], { encoding: 'utf8' });
    if (r.status !== 0) return (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/^prepare-kafka: /, '');
    const lines = new Map(r.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    classpath ||= lines.get('kafka-classpath');
    java ||= lines.get('java');
    if (!classpath || !java) return `${prepareScript} --no-build printed no kafka-classpath= or java= line: ${r.stdout.trim()}`;
  }
  if (!existsSync(java)) return `${java} (java) does not exist`;
  if (!existsSync(classpath) || !readdirSync(classpath).some((f) => /^kafka_2\.13-.*\.jar$/.test(f))) return `${classpath} holds no kafka_2.13 jar (run sh test/peers/kafka/prepare.sh)`;
  if (!existsSync(keytoolOf(java))) return `${keytoolOf(java)} is missing (the JDK's keytool makes the broker's truststore)`;
  return { classpath, java };
}

/** keytool sits beside java in every JDK and JRE. */
function keytoolOf(java: string): string {
  return path.join(path.dirname(java), 'keytool');
}

/**
 * Formats a fresh KRaft storage and starts the broker; resolves once its
 * log says it started and its SSL listener completes a handshake with the
 * client certificate. Throws when the jars are not resolved (check
 * kafkaUnavailableReason first) or when the broker fails (with the tail of
 * its log).
 */
export async function startKafkaBroker(opts: StartOptions = {}): Promise<KafkaBroker> {
  const inst = kafkaInstallation();
  if (typeof inst === 'string') throw new Error(`no Kafka broker: ${inst}`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-kafka-'));
  let proc: Proc | undefined;
  let crlServer: HttpServer | undefined;
  const cleanup = async () => {
    await proc?.stop();
    crlServer?.close();
    crlServer?.closeAllConnections();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const storePassword = randomBytes(12).toString('hex');
    let testCaCrl: Buffer | undefined;
    let crlUrl: string | undefined;
    if (opts.checkRevocation) {
      const s = crlServer = createHttpServer((req, res) => {
        if (req.url === '/test-ca.crl' && testCaCrl) res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(testCaCrl);
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      crlUrl = `http://127.0.0.1:${(s.address() as AddressInfo).port}/test-ca.crl`;
    }
    const [pki, [sslPort, saslPort, controllerPort]] = await Promise.all([
      makePki(dir, keytoolOf(inst.java), storePassword, pemBlocks(opts.extraClientCaPem ?? ''), crlUrl),
      threeFreePorts(),
    ]);
    testCaCrl = pki.caCrlDer;
    const scram = { mechanism: 'SCRAM-SHA-512' as const, username: 'hydrophone', password: randomBytes(12).toString('hex') };
    const propsPath = path.join(dir, 'server.properties');
    await writeFile(propsPath, serverProperties({
      dataDir: path.join(dir, 'data'),
      sslPort, saslPort, controllerPort,
      keystore: pki.keystore, truststore: pki.truststore, storePassword,
      autoCreateTopics: opts.autoCreateTopics ?? false,
      extra: opts.extraProperties ?? [],
    }));
    const log4jPath = path.join(dir, 'log4j2.properties');
    await writeFile(log4jPath, LOG4J_CONFIG);
    const jvm = [
      `-Xmx${opts.heap ?? '512m'}`, '-Xms64m',
      // A test broker: quick to start and light on a shared 2-core machine
      // matters more than peak throughput.
      '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4jPath}`,
      ...(opts.checkRevocation ? ['-Dcom.sun.net.ssl.checkRevocation=true', '-Dcom.sun.security.enableCRLDP=true'] : []),
      ...(opts.extraJvmArgs ?? []),
      '-cp', `${inst.classpath}/*`,
    ];

    // A cluster id is 16 random bytes in URL-safe base64 without padding. One in 64 starts with '-',
    // which the tool's argument parser takes for an option unless it is joined to its flag with '='.
    const clusterId = randomBytes(16).toString('base64url');
    const format = await runJava(inst.java, [...jvm, 'kafka.tools.StorageTool', 'format',
      '--config', propsPath, `--cluster-id=${clusterId}`, '--ignore-formatted',
      '--add-scram', `${scram.mechanism}=[name=${scram.username},password=${scram.password}]`]);
    if (format.code !== 0) throw new Error(`kafka.tools.StorageTool format exited with ${format.code}:\n${lastLines(format.output)}`);

    const bootstrap = `127.0.0.1:${sslPort}`;
    const clientTls = { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem };
    const launch = async () => {
      const started = performance.now();
      const p = startProc('kafka', inst.java, [...jvm, 'kafka.Kafka', propsPath], 20_000);
      proc = p;
      await waitUntil(readyTimeoutMs, p, async () => p.log().includes(STARTED_LINE) && await tlsHandshake(sslPort, clientTls));
      return Math.round(performance.now() - started);
    };
    const startupMs = await launch();

    let stopped: Promise<void> | undefined;
    return {
      bootstrap,
      saslBootstrap: `127.0.0.1:${saslPort}`,
      scram,
      caPem: pki.caPem,
      clientCertPem: pki.clientCertPem,
      clientKeyPem: pki.clientKeyPem,
      foreignClient: pki.foreignClient,
      startupMs,
      createTopic: (name, partitions) => createTopic(bootstrap, clientTls, name, partitions),
      async halt() {
        await proc?.stop();
      },
      async start() {
        if (proc && !proc.exited()) return;
        await launch();
      },
      running: () => proc !== undefined && !proc.exited(),
      log: () => proc?.log() ?? '',
      stop() {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// What kafka.server.KafkaRaftServer logs once the broker and controller are up.
const STARTED_LINE = 'Kafka Server started';

interface PropertiesInput {
  dataDir: string;
  sslPort: number;
  saslPort: number;
  controllerPort: number;
  keystore: string;
  truststore: string;
  storePassword: string;
  autoCreateTopics: boolean;
  extra: readonly string[];
}

function serverProperties(p: PropertiesInput): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=SSL://127.0.0.1:${p.sslPort},SASL_SSL://127.0.0.1:${p.saslPort},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=SSL://127.0.0.1:${p.sslPort},SASL_SSL://127.0.0.1:${p.saslPort}`,
    'listener.security.protocol.map=SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    // The broker reaches itself over mTLS too: its certificate is also a client certificate.
    'inter.broker.listener.name=SSL',
    `log.dirs=${p.dataDir}`,
    // TLS for both client listeners; a client certificate is required on SSL only.
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${p.keystore}`,
    `ssl.keystore.password=${p.storePassword}`,
    `ssl.key.password=${p.storePassword}`,
    'ssl.truststore.type=PKCS12',
    `ssl.truststore.location=${p.truststore}`,
    `ssl.truststore.password=${p.storePassword}`,
    'ssl.client.auth=required',
    'listener.name.sasl_ssl.ssl.client.auth=none',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    // One node: every internal topic has one replica, and one partition
    // (50 by default: slow to create on a loaded machine).
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'share.coordinator.state.topic.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    `auto.create.topics.enable=${p.autoCreateTopics}`,
    'num.partitions=1',
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.recovery.threads.per.data.dir=1',
    ...p.extra,
    '',
  ].join('\n');
}

// Kafka's log: INFO from the broker (kafka.*) and from the network layer
// (refused handshakes and logins are logged there), WARN from the rest.
const LOG4J_CONFIG = [
  'status = warn',
  'appender.out.type = Console',
  'appender.out.name = out',
  'appender.out.layout.type = PatternLayout',
  'appender.out.layout.pattern = [%d{HH:mm:ss,SSS}] %p %m (%c)%n',
  'rootLogger.level = warn',
  'rootLogger.appenderRef.out.ref = out',
  'logger.kafka.name = kafka',
  'logger.kafka.level = info',
  'logger.network.name = org.apache.kafka.common.network',
  'logger.network.level = info',
  'logger.statechange.name = state.change.logger',
  'logger.statechange.level = warn',
  '',
].join('\n');

// ---- topics ----

async function createTopic(bootstrap: string, tls: { ca: string; cert: string; key: string }, name: string, partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'hydrophone-test-admin', bootstrapBrokers: [bootstrap], tls, retries: 5, retryDelay: 200 });
  try {
    await admin.createTopics({ topics: [name], partitions, replicas: 1 });
    const deadline = performance.now() + 30_000;
    for (;;) {
      const meta = await admin.metadata({ topics: [name], forceUpdate: true }).catch(() => undefined);
      const topic = meta?.topics.get(name);
      if (topic && topic.partitionsCount === partitions && topic.partitions.every((p) => p.leader >= 0)) return;
      if (performance.now() > deadline) throw new Error(`topic ${name} has no leader for all ${partitions} partitions after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.close();
  }
}

async function runJava(java: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const p = startProc('java', java, args, 20_000);
  const [code] = (await once(p.child, 'exit')) as [number | null];
  return { code, output: p.log() };
}

/** Whether a TLS handshake with this client certificate completes (the broker's certificate verified against the CA). */
function tlsHandshake(port: number, tls: { ca: string; cert: string; key: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...tls });
    const done = (ok: boolean) => { clearTimeout(timer); s.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), 5_000);
    s.once('secureConnect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Three different free loopback ports: SSL, SASL_SSL, CONTROLLER. */
async function threeFreePorts(): Promise<[number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [a, b, c] = ports;
  return [a!, b!, c!];
}

// ---- certificates ----

interface Pki {
  keystore: string;
  truststore: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  foreignClient: ClientIdentity;
  /** With a CRL URL: the CA's (empty) CRL, DER, for the URL its certificates name. */
  caCrlDer?: Buffer;
}

const run = promisify(execFile);

/** Each certificate of a PEM bundle. */
function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Two CAs, the broker's certificate (127.0.0.1/localhost, server and client
 * use) and a client certificate from the first, a client certificate from
 * the second: P-256 keys, valid two days. The broker's key and certificate
 * go into a PKCS12 keystore (openssl), the CA (and any extra client CAs)
 * into a PKCS12 truststore (keytool: Java trusts a PKCS12 certificate only
 * with an attribute that OpenSSL 3.0 cannot write).
 */
async function makePki(dir: string, keytool: string, storePassword: string, extraClientCas: readonly string[] = [], crlUrl?: string): Promise<Pki> {
  const pkiDir = path.join(dir, 'pki');
  await mkdir(pkiDir);
  const f = (name: string) => path.join(pkiDir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: pkiDir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (base: string, cn: string) => openssl(['req', '-x509', ...ec, '-keyout', f(`${base}.key`), '-out', f(`${base}.crt`), '-days', '2',
    '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const distributionPoint = crlUrl !== undefined ? `crlDistributionPoints=URI:${crlUrl}\n` : '';
  const sign = async (ca: string, base: string, subj: string, ext: string) => {
    await writeFile(f(`${base}.ext`), ext + (ca === 'ca' ? distributionPoint : ''));
    await openssl(['req', '-new', ...ec, '-keyout', f(`${base}.key`), '-out', f(`${base}.csr`), '-subj', subj]);
    await openssl(['x509', '-req', '-in', f(`${base}.csr`), '-CA', f(`${ca}.crt`), '-CAkey', f(`${ca}.key`), '-CAcreateserial',
      '-days', '2', '-out', f(`${base}.crt`), '-extfile', f(`${base}.ext`)]);
  };
  const clientExt = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  await Promise.all([makeCa('ca', 'hydrophone-test-kafka-ca'), makeCa('other-ca', 'hydrophone-test-other-ca')]);
  await Promise.all([
    (async () => {
      await sign('ca', 'broker', '/CN=localhost',
        'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' +
        'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      await openssl(['pkcs12', '-export', '-in', f('broker.crt'), '-inkey', f('broker.key'), '-certfile', f('ca.crt'),
        '-name', 'broker', '-out', f('keystore.p12'), '-passout', `pass:${storePassword}`]);
    })(),
    (async () => {
      const trust = (alias: string, file: string) => run(keytool, ['-importcert', '-noprompt', '-storetype', 'PKCS12', '-keystore', f('truststore.p12'),
        '-storepass', storePassword, '-alias', alias, '-file', file]);
      await trust('ca', f('ca.crt'));
      // One at a time: each import rewrites the truststore.
      for (const [i, pem] of extraClientCas.entries()) {
        await writeFile(f(`extra-ca-${i}.crt`), `${pem}\n`);
        await trust(`extra-ca-${i}`, f(`extra-ca-${i}.crt`));
      }
    })(),
    sign('ca', 'client', '/CN=hydrophone-test-client', clientExt),
    sign('other-ca', 'foreign', '/CN=hydrophone-test-foreign-client', clientExt),
  ]);
  let caCrlDer: Buffer | undefined;
  if (crlUrl !== undefined) {
    // An empty CRL of the test CA, from `openssl ca`'s minimal database.
    await writeFile(f('index.txt'), '');
    await writeFile(f('crlnumber'), '01\n');
    await writeFile(f('ca.cnf'), `[ca]\ndefault_ca = test\n[test]\ndatabase = ${f('index.txt')}\ncrlnumber = ${f('crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 2\n`);
    await openssl(['ca', '-gencrl', '-config', f('ca.cnf'), '-keyfile', f('ca.key'), '-cert', f('ca.crt'), '-out', f('ca.crl.pem')]);
    await openssl(['crl', '-in', f('ca.crl.pem'), '-outform', 'DER', '-out', f('ca.crl')]);
    caCrlDer = await readFile(f('ca.crl'));
  }
  return {
    ...(caCrlDer ? { caCrlDer } : {}),
    keystore: f('keystore.p12'),
    truststore: f('truststore.p12'),
    caPem: await readFile(f('ca.crt'), 'utf8'),
    clientCertPem: await readFile(f('client.crt'), 'utf8'),
    clientKeyPem: await readFile(f('client.key'), 'utf8'),
    foreignClient: { certPem: await readFile(f('foreign.crt'), 'utf8'), keyPem: await readFile(f('foreign.key'), 'utf8') },
  };
}
