import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadKafkaConfig, parseBrokerAddress, type KafkaSinkConfig } from './kafkaConfig.ts';
import { makeTestPki, type TestPki } from '../../../test/support/testPki.ts';
import { node24 } from '../../../test/support/peers.ts';

const run = promisify(execFile);

let dir: string;
let pki: TestPki;
/** Files the table refers to by name. */
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-kafkaconfig-'));
  pki = await makeTestPki(path.join(dir, 'pki'));
  const f = (name: string) => path.join(dir, name);
  await writeFile(f('password'), 's3cret pass\n');
  await writeFile(f('empty'), '');
  await mkdir(f('a-directory'));
  // A key encrypted with a passphrase the sensor does not have.
  await run('openssl', ['ec', '-in', pki.client.keyFile, '-aes256', '-passout', 'pass:secret', '-out', f('encrypted.key')]);
  // A client certificate that expired in 2020: `openssl ca` takes explicit dates, `x509 -days` only positive ones.
  await writeFile(f('index.txt'), '');
  await writeFile(f('serial'), '1000\n');
  await writeFile(f('ca.cnf'), [
    '[ca]', 'default_ca = test', '[test]', `database = ${f('index.txt')}`, `new_certs_dir = ${dir}`, `serial = ${f('serial')}`,
    'default_md = sha256', 'policy = any', '[any]', 'commonName = supplied', '',
  ].join('\n'));
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('expired.key'), '-out', f('expired.csr'), '-subj', '/CN=hydrophone-expired']);
  await run('openssl', ['ca', '-batch', '-config', f('ca.cnf'), '-cert', pki.caFile, '-keyfile', path.join(pki.dir, 'ca.key'), '-in', f('expired.csr'), '-out', f('expired.crt'),
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext']);
  Object.assign(files, {
    password: f('password'), empty: f('empty'), directory: f('a-directory'), missing: f('no-such-file'),
    encryptedKey: f('encrypted.key'), expiredCert: f('expired.crt'), expiredKey: f('expired.key'),
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mtls = (over: Partial<KafkaSinkConfig> = {}): KafkaSinkConfig => ({
  brokers: ['kafka-0.kafka.svc:9093', '10.0.0.7:9093', '[fd00::7]:9093'],
  topic: 'otlp_spans',
  caFile: pki.caFile,
  certFile: pki.client.certFile,
  keyFile: pki.client.keyFile,
  ...over,
});

describe('loadKafkaConfig', () => {
  it('reads and checks a mutual TLS config, with defaults', () => {
    const c = loadKafkaConfig(mtls());
    expect(c.brokers).toEqual([{ host: 'kafka-0.kafka.svc', port: 9093 }, { host: '10.0.0.7', port: 9093 }, { host: 'fd00::7', port: 9093 }]);
    expect(c).toMatchObject({ topic: 'otlp_spans', compression: 'gzip', sensorId: hostname(), sources: { ca: `kafka.caFile ${pki.caFile}`, cert: `kafka.certFile ${pki.client.certFile}` } });
    expect(c.tls.cert?.toString()).toBe(pki.client.certPem);
    expect(c.tls.key?.toString()).toBe(pki.client.keyPem);
    expect(c.sasl).toBeUndefined();
  });

  it('reads a SCRAM password file without its trailing newline, and takes SASL without a client certificate', () => {
    const c = loadKafkaConfig({ brokers: ['kafka:9094'], topic: 't', caFile: pki.caFile, sasl: { mechanism: 'SCRAM-SHA-256', username: 'sensor', passwordFile: files.password! }, compression: 'zstd', sensorId: 'node-7' });
    expect(c.sasl).toEqual({ mechanism: 'SCRAM-SHA-256', username: 'sensor', password: 's3cret pass' });
    expect(c.tls.cert).toBeUndefined();
    expect(c).toMatchObject({ compression: 'zstd', sensorId: 'node-7' });
  });

  const asRoot = process.getuid?.() === 0;
  // [what, config (as a function: the files exist only after beforeAll), the exact error]
  const bad: [string, () => KafkaSinkConfig, () => string][] = [
    ['no broker', () => mtls({ brokers: [] }), () => 'kafka.brokers: no broker given: list at least one host:port of a TLS listener'],
    ['a broker without a port', () => mtls({ brokers: ['kafka:9093', 'kafka-1'] }), () => 'kafka.brokers[1]: "kafka-1" is not host:port (an IPv6 address goes in brackets: [::1]:9093)'],
    ['a port out of range', () => mtls({ brokers: ['kafka:99999'] }), () => 'kafka.brokers[0]: port 99999 is out of range (1-65535)'],
    ['a host that is no name', () => mtls({ brokers: ['kafka_0!:9093'] }), () => 'kafka.brokers[0]: "kafka_0!" is neither an IP address nor a host name'],
    ['an IPv6 address without brackets', () => mtls({ brokers: ['fd00::7:9093'] }), () => 'kafka.brokers[0]: "fd00::7:9093" is not host:port (an IPv6 address goes in brackets: [::1]:9093)'],
    ['a topic Kafka would refuse', () => mtls({ topic: 'spans/otlp' }), () => 'kafka.topic: "spans/otlp" is not a Kafka topic name: use 1 to 249 of the characters a-z A-Z 0-9 . _ -'],
    ['an unknown compression', () => mtls({ compression: 'brotli' as never }), () => 'kafka.compression: "brotli" is not one of none, gzip, snappy, lz4, zstd'],
    ['no client identity', () => mtls({ certFile: undefined, keyFile: undefined }), () => 'kafka: no client identity: set certFile and keyFile (mutual TLS), or sasl (SCRAM over TLS)'],
    ['a certificate without its key', () => mtls({ keyFile: undefined }), () => 'kafka: certFile and keyFile go together: set both for mutual TLS, or neither'],
    ['a key file that does not exist', () => mtls({ keyFile: files.missing! }), () => `kafka.keyFile: cannot read ${files.missing} (ENOENT): check the path (a Secret not mounted?)`],
    ['a key path that is a directory', () => mtls({ keyFile: files.directory! }), () => `kafka.keyFile: cannot read ${files.directory} (EISDIR): check the file`],
    ['a key that belongs to another certificate', () => mtls({ keyFile: pki.foreignClient.keyFile }),
      () => `kafka.keyFile: ${pki.foreignClient.keyFile} is not the key of the certificate in ${pki.client.certFile} (CN=hydrophone-test-sensor): give the matching pair`],
    ['an encrypted key', () => mtls({ keyFile: files.encryptedKey! }), () => expect.stringMatching(new RegExp(`^kafka\\.keyFile: ${files.encryptedKey} is not a private key this sensor can read \\(.*\\); an encrypted key must be decrypted first$`)) as never],
    ['an expired certificate', () => mtls({ certFile: files.expiredCert!, keyFile: files.expiredKey! }),
      () => `kafka.certFile: the certificate in ${files.expiredCert} expired on Jan  2 00:00:00 2020 GMT: issue a new one`],
    ['a CA file holding no CA', () => mtls({ caFile: pki.client.certFile }),
      () => `kafka.caFile: ${pki.client.certFile} holds no CA certificate (basicConstraints CA:TRUE): give the CA that issued the server's certificate, not the server's own`],
    ['a certificate file that is a key', () => mtls({ certFile: pki.client.keyFile }), () => `kafka.certFile: ${pki.client.keyFile} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`],
    ['a SASL mechanism we do not speak', () => mtls({ sasl: { mechanism: 'PLAIN' as never, username: 'u', passwordFile: files.password! } }),
      () => 'kafka.sasl.mechanism: "PLAIN" is not supported: use SCRAM-SHA-256 or SCRAM-SHA-512 (what the broker\'s sasl.enabled.mechanisms lists)'],
    ['a missing password file', () => mtls({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', passwordFile: files.missing! } }),
      () => `kafka.sasl.passwordFile: cannot read ${files.missing} (ENOENT): check the path (a Secret not mounted?)`],
    ['an empty password file', () => mtls({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', passwordFile: files.empty! } }), () => `kafka.sasl.passwordFile: ${files.empty} is empty`],
    ['an empty sensor id', () => mtls({ sensorId: ' ' }), () => 'kafka.sensorId: empty: give a name for this sensor, or leave it out to use the host name'],
  ];
  it.each(bad)('refuses %s, naming the field and the fix', (_what, config, error) => {
    expect(() => loadKafkaConfig(config())).toThrow(expect.objectContaining({ message: error() }) as never);
  });

  it('refuses a key file the sensor user cannot read', async () => {
    // Root reads anything: as root, the check runs in a child as nobody, which may
    // read the certificates (0644) but not the key (0600, root's).
    const shared = path.join(dir, 'shared');
    await mkdir(shared, { mode: 0o755 });
    await chmod(dir, 0o755);
    const [ca, cert, key] = ['ca.pem', 'client.pem', 'client.key'].map((f) => path.join(shared, f)) as [string, string, string];
    await writeFile(ca, pki.caPem, { mode: 0o644 });
    await writeFile(cert, pki.client.certPem, { mode: 0o644 });
    await writeFile(key, pki.client.keyPem, { mode: asRoot ? 0o600 : 0o000 });
    const config = mtls({ caFile: ca, certFile: cert, keyFile: key });
    const expected = `kafka.keyFile: cannot read ${key} (EACCES): make it readable by the sensor user`;
    if (!asRoot) {
      expect(() => loadKafkaConfig(config)).toThrow(expected);
      return;
    }
    const script = `import { loadKafkaConfig } from ${JSON.stringify(new URL('./kafkaConfig.ts', import.meta.url).href)};
      try { loadKafkaConfig(${JSON.stringify(config)}); console.log('loaded'); } catch (e) { console.log(e.message); }`;
    const r = spawnSync(node24, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(expected);
  });

  it('refuses a certificate that is not valid yet (a clock behind)', () => {
    expect(() => loadKafkaConfig(mtls(), new Date('2001-01-01T00:00:00Z'))).toThrow(/^kafka\.certFile: the certificate in .* is not valid before .*: check the clock or the certificate$/);
  });
});

describe('parseBrokerAddress', () => {
  it.each([
    ['kafka:9093', { host: 'kafka', port: 9093 }],
    ['kafka.example.com.:443', { host: 'kafka.example.com.', port: 443 }],
    ['[::1]:9093', { host: '::1', port: 9093 }],
    [' 127.0.0.1:9092 ', { host: '127.0.0.1', port: 9092 }],
    ['[kafka]:9093', '"kafka" in brackets is not an IPv6 address'],
    ['kafka:0', 'port 0 is out of range (1-65535)'],
    ['kafka:', '"kafka:" is not host:port (an IPv6 address goes in brackets: [::1]:9093)'],
  ])('%s', (text, expected) => {
    expect(parseBrokerAddress(text)).toEqual(expected);
  });
});
