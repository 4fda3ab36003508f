/**
 * The certificate files a sink presents and trusts, read and checked
 * before anything connects. Every problem names the config field and what
 * to do, because a wrong path or a key that belongs to another certificate
 * would otherwise surface minutes later as an opaque handshake failure.
 */
import { readFileSync } from 'node:fs';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';

export interface TlsFiles {
  /** CA bundle that must sign the server's certificate; the system store when absent. */
  readonly caFile?: string;
  /** Client certificate (chain) and key, for servers that require mutual TLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Changes whenever any of the three files' bytes change: reloads compare it. */
  readonly fingerprint: string;
  /** The client certificate's subject and expiry, for the start-up log line. */
  readonly clientIdentity?: { readonly subject: string; readonly validTo: string };
}

function readField(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const fix = code === 'ENOENT' ? 'check the path (a Secret not mounted?)' : code === 'EACCES' ? 'make it readable by the sensor user' : 'check the file';
    throw new Error(`${field}: cannot read ${path} (${code}): ${fix}`);
  }
}

function certificates(field: string, path: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`${field}: ${path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${field}: ${path} holds a certificate that does not parse (${(err as Error).message})`);
    }
  });
}

/**
 * Reads and checks the files. `prefix` is the config path of the block
 * ('otlp', 'kafka'); fields are `<prefix>.caFile` and so on.
 */
export function loadTlsMaterial(prefix: string, files: TlsFiles, now = new Date()): TlsMaterial {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new Error(`${prefix}: certFile and keyFile go together: set both for mutual TLS, or neither`);
  }
  const hash = createHash('sha256');
  let ca: Buffer | undefined;
  if (files.caFile !== undefined) {
    ca = readField(`${prefix}.caFile`, files.caFile);
    const cas = certificates(`${prefix}.caFile`, files.caFile, ca);
    if (!cas.some((c) => c.ca)) {
      throw new Error(`${prefix}.caFile: ${files.caFile} holds no CA certificate (basicConstraints CA:TRUE): give the CA that issued the server's certificate, not the server's own`);
    }
    hash.update(ca);
  }
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  let clientIdentity: TlsMaterial['clientIdentity'];
  if (files.certFile !== undefined && files.keyFile !== undefined) {
    cert = readField(`${prefix}.certFile`, files.certFile);
    key = readField(`${prefix}.keyFile`, files.keyFile);
    const leaf = certificates(`${prefix}.certFile`, files.certFile, cert)[0]!;
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      throw new Error(`${prefix}.keyFile: ${files.keyFile} is not a private key this sensor can read (${(err as Error).message}); an encrypted key must be decrypted first`);
    }
    if (!leaf.checkPrivateKey(privateKey)) {
      throw new Error(`${prefix}.keyFile: ${files.keyFile} is not the key of the certificate in ${files.certFile} (${leaf.subject.replace(/\n/g, ', ')}): give the matching pair`);
    }
    if (new Date(leaf.validTo) < now) {
      throw new Error(`${prefix}.certFile: the certificate in ${files.certFile} expired on ${leaf.validTo}: issue a new one`);
    }
    if (new Date(leaf.validFrom) > now) {
      throw new Error(`${prefix}.certFile: the certificate in ${files.certFile} is not valid before ${leaf.validFrom}: check the clock or the certificate`);
    }
    hash.update(cert).update(key);
    clientIdentity = { subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo };
  }
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    fingerprint: hash.digest('hex'),
    ...(clientIdentity ? { clientIdentity } : {}),
  };
}
