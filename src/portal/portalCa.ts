/**
 * The portal's certificate authority: an ECDSA P-256 key and a self-signed
 * CA certificate, made on first start. The key is written only encrypted
 * (encryptedPrivateKey.ts) and held in memory as a non-extractable
 * WebCrypto key; the certificate is public (backends trust it for client
 * certificates, operators for the portal's HTTPS).
 */
import { generateKeyPairSync, randomBytes, X509Certificate as NodeX509Certificate, type KeyObject, type webcrypto } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { decryptPrivateKeyPem, encryptPrivateKeyPem, KeyDecryptionError } from './encryptedPrivateKey.ts';
import { randomSerialNumber } from './serialNumber.ts';
import { EC_KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from './x509.ts';

export interface PortalCaFiles {
  /** PEM certificate, readable by anyone. */
  readonly certFile: string;
  /** Encrypted PKCS#8 PEM, mode 0600. */
  readonly keyFile: string;
}

export interface PortalCa {
  readonly files: PortalCaFiles;
  readonly certPem: string;
  readonly certificate: InstanceType<typeof x509.X509Certificate>;
  /** Signs certificates and CRLs. Not extractable: the plain key never leaves WebCrypto. */
  readonly signingKey: webcrypto.CryptoKey;
  /** SHA-256 of the certificate's DER, colon-separated hex, for operators to compare out of band. */
  readonly fingerprint256: string;
}

/** Twenty years: the CA outlives every sensor certificate it signs; replacing it means re-issuing all of them. */
export const CA_VALIDITY_DAYS = 20 * 365;

/** A CA file problem, with what to do about it. */
export class PortalCaError extends Error {}

/**
 * Opens the CA in `files`, or creates it when neither file exists.
 * Throws a PortalCaError that says what to do when only one exists, the
 * passphrase is wrong, the key is not encrypted, or the two do not belong
 * together.
 */
export async function openPortalCa(files: PortalCaFiles, passphrase: string, now: Date = new Date()): Promise<{ ca: PortalCa; created: boolean }> {
  const hasCert = existsSync(files.certFile);
  const hasKey = existsSync(files.keyFile);
  if (hasCert !== hasKey) {
    const [present, missing] = hasCert ? [files.certFile, files.keyFile] : [files.keyFile, files.certFile];
    throw new PortalCaError(`the portal CA is half there: ${present} exists but ${missing} does not. Restore ${missing} from your backup; `
      + `only if every issued sensor certificate may be abandoned, move ${present} away to have a new CA made`);
  }
  if (!hasCert) return { ca: await createPortalCa(files, passphrase, now), created: true };
  return { ca: await loadPortalCa(files, passphrase), created: false };
}

async function createPortalCa(files: PortalCaFiles, passphrase: string, now: Date): Promise<PortalCa> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = {
    privateKey: await privateKey.toCryptoKey(EC_KEY_ALGORITHM, false, ['sign']),
    publicKey: await publicKey.toCryptoKey(EC_KEY_ALGORITHM, true, ['verify']),
  };
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    // The random part tells two portals' CAs apart in a backend's trust store.
    name: [{ CN: [`Hydrophone portal CA ${randomBytes(4).toString('hex')}`] }, { O: ['Hydrophone'] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * 86_400_000),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // Signs end-entity certificates only (path length 0).
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = certificate.toString('pem');
  mkdirSync(path.dirname(files.keyFile), { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(files.certFile), { recursive: true, mode: 0o700 });
  // The key first: a crash between the two writes leaves a key without a
  // certificate, which the next start reports instead of silently making a
  // second CA.
  writeNewFile(files.keyFile, encryptPrivateKeyPem(privateKey, passphrase), 0o600);
  writeNewFile(files.certFile, certPem, 0o644);
  return { files, certPem, certificate, signingKey: keys.privateKey, fingerprint256: fingerprint(certPem) };
}

async function loadPortalCa(files: PortalCaFiles, passphrase: string): Promise<PortalCa> {
  const certPem = readFileSync(files.certFile, 'utf8');
  let nodeCert: NodeX509Certificate;
  try {
    nodeCert = new NodeX509Certificate(certPem);
  } catch (err) {
    throw new PortalCaError(`${files.certFile}: not a PEM certificate (${(err as Error).message}): restore the portal CA's certificate from your backup`);
  }
  if (!nodeCert.ca) throw new PortalCaError(`${files.certFile}: not a CA certificate (basicConstraints CA:FALSE): this is not the portal's CA`);
  let privateKey: KeyObject;
  try {
    privateKey = decryptPrivateKeyPem(readFileSync(files.keyFile, 'utf8'), passphrase);
  } catch (err) {
    if (err instanceof KeyDecryptionError) {
      throw new PortalCaError(`${files.keyFile}: ${err.message}: give the passphrase the CA was created with (--ca-passphrase-file or $HYDROPHONE_PORTAL_CA_PASSPHRASE)`);
    }
    throw err;
  }
  if (!nodeCert.checkPrivateKey(privateKey)) {
    throw new PortalCaError(`${files.keyFile} is not the key of ${files.certFile}: the two files come from different CAs; restore the matching pair`);
  }
  return {
    files,
    certPem,
    certificate: new x509.X509Certificate(certPem),
    signingKey: await privateKey.toCryptoKey(EC_KEY_ALGORITHM, false, ['sign']),
    fingerprint256: fingerprint(certPem),
  };
}

function fingerprint(certPem: string): string {
  return new NodeX509Certificate(certPem).fingerprint256;
}

/** Writes a file that must not exist yet (O_EXCL), with its mode from the start, durably. */
function writeNewFile(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (existsSync(file)) throw new PortalCaError(`${file} appeared while the CA was being made: is another portal starting on the same data directory?`);
  renameSync(tmp, file);
}
