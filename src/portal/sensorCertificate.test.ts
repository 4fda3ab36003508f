import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openPortalCa, type PortalCa } from './portalCa.ts';
import { issueSensorCertificate, sensorCommonName, sensorUri, type IssuedCertificate } from './sensorCertificate.ts';
import { CLOCK_SKEW_MS } from './leafCertificate.ts';
import { issueServerCertificate } from './serverCertificate.ts';
import { x509 } from './x509.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-sensor-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const UUID = '6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8';
const NOW = new Date('2026-03-01T12:00:00Z');
let ca: PortalCa;
let issued: IssuedCertificate;
let cert: X509Certificate;
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
/** `openssl verify` at a given time, for a purpose: its exit status says whether the chain holds. */
const opensslVerify = (certFile: string, purpose: string, at: Date) => {
  try {
    execFileSync('openssl', ['verify', '-attime', String(Math.floor(at.getTime() / 1000)), '-purpose', purpose, '-CAfile', path.join(dir, 'ca', 'ca.crt'), certFile], { stdio: 'pipe' });
    return 'ok';
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return `${String(e.stdout ?? '')}${String(e.stderr ?? '')}`.trim();
  }
};

beforeAll(async () => {
  ({ ca } = await openPortalCa({ certFile: path.join(dir, 'ca', 'ca.crt'), keyFile: path.join(dir, 'ca', 'ca.key') }, 'a passphrase of some length', new Date('2026-01-01T00:00:00Z')));
  issued = await issueSensorCertificate(ca, { uuid: UUID, tenant: 'Acme, Inc. =ops', validityDays: 30, now: NOW });
  cert = new X509Certificate(issued.certPem);
});

describe('a sensor certificate', () => {
  it('names the sensor: CN hydrophone-sensor-<uuid>, O the tenant (one attribute, commas and all), URI SAN urn:hydrophone:sensor:<uuid>', () => {
    const parsed = new x509.X509Certificate(issued.certPem);
    expect(parsed.subjectName.getField('CN')).toEqual([sensorCommonName(UUID)]);
    expect(parsed.subjectName.getField('O')).toEqual(['Acme, Inc. =ops']);
    expect(sensorCommonName(UUID)).toBe(`hydrophone-sensor-${UUID}`);
    expect(cert.subjectAltName).toBe(`URI:${sensorUri(UUID)}`);
    expect(sensorUri(UUID)).toBe(`urn:hydrophone:sensor:${UUID}`);
  });

  it('is for TLS clients only: extendedKeyUsage clientAuth alone, keyUsage digitalSignature (critical), not a CA', () => {
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // Node lists the extended key usages: clientAuth
    expect(cert.ca).toBe(false);
    const parsed = new x509.X509Certificate(issued.certPem);
    const ku = parsed.getExtension(x509.KeyUsagesExtension)!;
    expect({ usages: ku.usages, critical: ku.critical }).toEqual({ usages: x509.KeyUsageFlags.digitalSignature, critical: true });
    // OpenSSL agrees: good for a TLS client, refused for a TLS server.
    const f = file('sensor.crt', issued.certPem);
    expect(opensslVerify(f, 'sslclient', NOW)).toBe('ok');
    expect(opensslVerify(f, 'sslserver', NOW)).toMatch(/error 26 at 0 depth lookup: (unsuitable|unsupported) certificate purpose/);
  });

  it('is valid from a little before issuance for the configured number of days, and not after', () => {
    expect(new Date(cert.validFrom).getTime()).toBe(Math.floor((NOW.getTime() - CLOCK_SKEW_MS) / 1000) * 1000);
    expect(new Date(cert.validTo).getTime()).toBe(NOW.getTime() + 30 * 86_400_000);
    expect(issued.notAfter).toEqual(new Date(cert.validTo));
    const f = path.join(dir, 'sensor.crt');
    expect(opensslVerify(f, 'sslclient', new Date(NOW.getTime() + 29 * 86_400_000))).toBe('ok');
    expect(opensslVerify(f, 'sslclient', new Date(NOW.getTime() + 31 * 86_400_000))).toMatch(/error 10 at 0 depth lookup: certificate has expired/);
  });

  it('is signed by the portal CA and comes with its own key', () => {
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    expect(issued.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(cert.serialNumber).toBe(issued.serial);
  });

  it('gets a random 128-bit serial, different every time, positive and in the form every tool prints', async () => {
    const serials = await Promise.all(Array.from({ length: 8 }, () => issueSensorCertificate(ca, { uuid: UUID, tenant: 't', validityDays: 1 }).then((c) => c.serial)));
    expect(new Set([...serials, issued.serial]).size).toBe(9);
    // 16 bytes, the first 0x01-0x7f: positive, and no zero byte for DER to drop.
    for (const s of serials) expect(s).toMatch(/^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/);
  });

  it('the portal\'s own server certificate is for TLS servers, for the names given', async () => {
    const server = await issueServerCertificate(ca, ['portal.example.com', '127.0.0.1', '::1'], NOW);
    const c = new X509Certificate(server.certPem);
    expect(c.subjectAltName).toBe('DNS:portal.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(opensslVerify(file('server.crt', server.certPem), 'sslserver', NOW)).toBe('ok');
  });
});
