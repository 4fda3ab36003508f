import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openPortalCa, type PortalCa } from './portalCa.ts';
import { CRL_VALIDITY_HOURS, signRevocationList } from './revocationList.ts';
import { issueSensorCertificate, type IssuedCertificate } from './sensorCertificate.ts';
import { x509 } from './x509.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-crl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
let ca: PortalCa;
let other: PortalCa;
let revoked: IssuedCertificate;
let superseded: IssuedCertificate;
let kept: IssuedCertificate;
const NOW = new Date();

/** `openssl verify -crl_check` with the CRL: what a TLS server that loads the CRL decides. */
const verifyWithCrl = (certPem: string, crlPem: string) => {
  writeFileSync(f('leaf.crt'), certPem);
  writeFileSync(f('crl.pem'), crlPem);
  try {
    execFileSync('openssl', ['verify', '-crl_check', '-CRLfile', f('crl.pem'), '-CAfile', f('ca.crt'), f('leaf.crt')], { stdio: 'pipe' });
    return 'ok';
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return `${String(e.stdout ?? '')}${String(e.stderr ?? '')}`;
  }
};

beforeAll(async () => {
  [{ ca }, { ca: other }] = await Promise.all([
    openPortalCa({ certFile: f('ca.crt'), keyFile: f('ca.key') }, 'a passphrase of some length'),
    openPortalCa({ certFile: f('other.crt'), keyFile: f('other.key') }, 'a passphrase of some length'),
  ]);
  const issue = (t: string) => issueSensorCertificate(ca, { uuid: `uuid-${t}`, tenant: t, validityDays: 10 });
  [revoked, superseded, kept] = await Promise.all([issue('a'), issue('b'), issue('c')]);
});

describe('the CRL', () => {
  it('lists the revoked serials with their dates and reasons, numbered and dated', async () => {
    const at = new Date(NOW.getTime() - 60_000);
    const list = await signRevocationList(ca, [
      { serial: revoked.serial, revokedAt: at, reason: 'cessationOfOperation' },
      { serial: superseded.serial, revokedAt: at, reason: 'superseded' },
    ], 7, NOW);
    const crl = new x509.X509Crl(list.der);
    expect(crl.entries.map((e) => e.serialNumber.toUpperCase()).sort()).toEqual([revoked.serial, superseded.serial].sort());
    expect(crl.entries.map((e) => e.reason).sort()).toEqual([x509.X509CrlReason.superseded, x509.X509CrlReason.cessationOfOperation].sort());
    expect(crl.entries[0]!.revocationDate.getTime()).toBe(Math.floor(at.getTime() / 1000) * 1000);
    expect(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()).toBe(CRL_VALIDITY_HOURS * 3_600_000);
    expect(crl.issuer).toBe(ca.certificate.subject);
    writeFileSync(f('list.pem'), list.pem);
    const text = execFileSync('openssl', ['crl', '-in', f('list.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*7\n/);
    expect(text).toMatch(/Cessation Of Operation/);
    expect(text).toMatch(/Superseded/);
    expect(Buffer.from(list.pem.replace(/-----[^-]+-----|\n/g, ''), 'base64').equals(list.der)).toBe(true); // one list, two encodings
  });

  it('is signed by the portal CA: it verifies with its key, and not with another CA\'s', async () => {
    const list = await signRevocationList(ca, [{ serial: revoked.serial, revokedAt: NOW, reason: 'cessationOfOperation' }], 1, NOW);
    const crl = new x509.X509Crl(list.der);
    expect(await crl.verify({ publicKey: ca.certificate.publicKey })).toBe(true);
    expect(await crl.verify({ publicKey: other.certificate.publicKey })).toBe(false);
    writeFileSync(f('one.pem'), list.pem);
    const out = execFileSync('openssl', ['crl', '-in', f('one.pem'), '-CAfile', f('ca.crt'), '-noout'], { encoding: 'utf8', stdio: 'pipe' });
    expect(out).toBe('');
    expect(() => execFileSync('openssl', ['crl', '-in', f('one.pem'), '-CAfile', f('other.crt'), '-noout'], { stdio: 'pipe' })).toThrow();
  });

  it('makes a verifier that loads it refuse exactly the revoked certificate (OpenSSL with -crl_check)', async () => {
    const list = await signRevocationList(ca, [{ serial: revoked.serial, revokedAt: new Date(NOW.getTime() - 1000), reason: 'cessationOfOperation' }], 2, NOW);
    expect(verifyWithCrl(revoked.certPem, list.pem)).toMatch(/error 23 at 0 depth lookup: certificate revoked/);
    expect(verifyWithCrl(kept.certPem, list.pem)).toBe('ok');
    // A list signed by another CA is worthless: OpenSSL will not use it.
    const forged = await signRevocationList(other, [], 3, NOW);
    expect(verifyWithCrl(kept.certPem, forged.pem)).toMatch(/unable to get certificate CRL/);
  });
});
