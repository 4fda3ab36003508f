import { afterAll, describe, expect, it } from 'vitest';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encryptPrivateKeyPem } from './encryptedPrivateKey.ts';
import { openPortalCa, PortalCaError, type PortalCaFiles } from './portalCa.ts';
import { x509 } from './x509.ts';

const root = mkdtempSync(path.join(tmpdir(), 'hp-portal-ca-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PASSPHRASE = 'a passphrase of some length';
let n = 0;
const freshFiles = (): PortalCaFiles => {
  const dir = path.join(root, String(++n), 'ca');
  return { certFile: path.join(dir, 'ca.crt'), keyFile: path.join(dir, 'ca.key') };
};

describe('the portal CA', () => {
  it('is made on first start: the key on disk is an ENCRYPTED PRIVATE KEY (0600), the certificate a P-256 CA', async () => {
    const files = freshFiles();
    const { ca, created } = await openPortalCa(files, PASSPHRASE);
    expect(created).toBe(true);
    const keyText = readFileSync(files.keyFile, 'utf8');
    expect(keyText.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----\n')).toBe(true);
    expect(keyText).not.toContain('BEGIN PRIVATE KEY');
    expect(keyText).not.toContain('BEGIN EC PRIVATE KEY');
    expect(() => createPrivateKey(keyText)).toThrow(); // useless without the passphrase
    expect(statSync(files.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(files.keyFile)).mode & 0o777).toBe(0o700);

    const cert = new X509Certificate(readFileSync(files.certFile));
    expect(cert.ca).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey({ key: keyText, passphrase: PASSPHRASE }))).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(cert.verify(cert.publicKey)).toBe(true); // self-signed
    expect(cert.fingerprint256).toBe(ca.fingerprint256);
    const parsed = new x509.X509Certificate(readFileSync(files.certFile, 'utf8'));
    const bc = parsed.getExtension(x509.BasicConstraintsExtension)!;
    expect({ ca: bc.ca, pathLength: bc.pathLength, critical: bc.critical }).toEqual({ ca: true, pathLength: 0, critical: true });
    expect(parsed.getExtension(x509.KeyUsagesExtension)!.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    // The signing key stays inside WebCrypto.
    expect(ca.signingKey.extractable).toBe(false);
  });

  it('is the same CA on the next start, with the same passphrase', async () => {
    const files = freshFiles();
    const first = await openPortalCa(files, PASSPHRASE);
    const keyBefore = readFileSync(files.keyFile, 'utf8');
    const second = await openPortalCa(files, PASSPHRASE);
    expect(second.created).toBe(false);
    expect(second.ca.fingerprint256).toBe(first.ca.fingerprint256);
    expect(readFileSync(files.keyFile, 'utf8')).toBe(keyBefore);
  });

  it.each([
    ['a wrong passphrase', async (f: PortalCaFiles) => { await openPortalCa(f, PASSPHRASE); return openPortalCa(f, 'not the passphrase at all'); },
      /ca\.key: the passphrase does not open it .*: give the passphrase the CA was created with \(--ca-passphrase-file or \$HYDROPHONE_PORTAL_CA_PASSPHRASE\)/],
    ['a certificate without its key', async (f: PortalCaFiles) => { await openPortalCa(f, PASSPHRASE); rmSync(f.keyFile); return openPortalCa(f, PASSPHRASE); },
      /the portal CA is half there: .*ca\.crt exists but .*ca\.key does not\. Restore .*ca\.key from your backup/],
    ['a plain key (someone replaced the encrypted one)', async (f: PortalCaFiles) => {
      await openPortalCa(f, PASSPHRASE);
      writeFileSync(f.keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      return openPortalCa(f, PASSPHRASE);
    }, /ca\.key: not an encrypted PKCS#8 key/],
    ['the key of another CA', async (f: PortalCaFiles) => {
      const other = freshFiles();
      await Promise.all([openPortalCa(f, PASSPHRASE), openPortalCa(other, PASSPHRASE)]);
      copyFileSync(other.keyFile, f.keyFile);
      return openPortalCa(f, PASSPHRASE);
    }, /ca\.key is not the key of .*ca\.crt: the two files come from different CAs/],
    ['a leaf certificate in place of the CA', async (f: PortalCaFiles) => {
      await openPortalCa(f, PASSPHRASE);
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
      const leaf = await x509.X509CertificateGenerator.createSelfSigned({
        name: 'CN=leaf', keys: { privateKey: await privateKey.toCryptoKey(alg, false, ['sign']), publicKey: await publicKey.toCryptoKey(alg, true, ['verify']) },
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [new x509.BasicConstraintsExtension(false)],
      });
      writeFileSync(f.certFile, leaf.toString('pem'));
      writeFileSync(f.keyFile, encryptPrivateKeyPem(privateKey, PASSPHRASE, 1000));
      return openPortalCa(f, PASSPHRASE);
    }, /ca\.crt: not a CA certificate/],
  ])('refuses to start with %s, saying what to do', async (_name, setup, message) => {
    const error = await setup(freshFiles()).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(PortalCaError);
    expect((error as Error).message).toMatch(message);
  });
});
