/**
 * Certificates for tests of TLS clients and servers, made with the openssl
 * CLI for one run: a CA, a server certificate for 127.0.0.1 and localhost,
 * client certificates from that CA, and a second CA whose certificates every
 * server here must refuse. P-256 keys, valid two days unless told otherwise.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PemFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly server: PemFiles;
  readonly client: PemFiles;
  /** A client certificate signed by another CA. */
  readonly foreignClient: PemFiles;
  /** The other CA, for a client that must not trust the server. */
  readonly otherCaFile: string;
  /** Issues one more client certificate from the first CA (rotation tests). */
  issueClient(name: string, cn: string, days?: number): Promise<PemFiles>;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
const SERVER_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';

export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  const makeCa = (base: string, cn: string) =>
    openssl(['req', '-x509', ...EC, '-keyout', f(`${base}.key`), '-out', f(`${base}.crt`), '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const sign = async (ca: string, base: string, cn: string, ext: string, days = 2): Promise<PemFiles> => {
    await writeFile(f(`${base}.ext`), ext);
    await openssl(['req', '-new', ...EC, '-keyout', f(`${base}.key`), '-out', f(`${base}.csr`), '-subj', `/CN=${cn}`]);
    await openssl(['x509', '-req', '-in', f(`${base}.csr`), '-CA', f(`${ca}.crt`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-days', String(days),
      '-out', f(`${base}.crt`), '-extfile', f(`${base}.ext`)]);
    return { certFile: f(`${base}.crt`), keyFile: f(`${base}.key`), certPem: await readFile(f(`${base}.crt`), 'utf8'), keyPem: await readFile(f(`${base}.key`), 'utf8') };
  };
  await Promise.all([makeCa('ca', 'hydrophone-test-ca'), makeCa('other-ca', 'hydrophone-test-other-ca')]);
  // One at a time: openssl's -CAcreateserial writes one serial file per CA.
  const server = await sign('ca', 'server', 'localhost', SERVER_EXT);
  const client = await sign('ca', 'client', 'hydrophone-test-sensor', CLIENT_EXT);
  const foreignClient = await sign('other-ca', 'foreign', 'hydrophone-test-foreign', CLIENT_EXT);
  return {
    dir,
    caFile: f('ca.crt'),
    caPem: await readFile(f('ca.crt'), 'utf8'),
    otherCaFile: f('other-ca.crt'),
    server,
    client,
    foreignClient,
    issueClient: (name, cn, days) => sign('ca', name, cn, CLIENT_EXT, days),
  };
}
