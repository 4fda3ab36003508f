/**
 * The portal's own HTTPS certificate, signed by the portal CA, so that an
 * operator who holds the CA certificate (`curl --cacert ca.crt`) can check
 * whom they send the admin token to and get sensor keys from. Made at
 * start and kept in memory only: it is renewed long before it expires
 * (portalServer.ts), so its key never needs to be stored.
 */
import { generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import type { PortalCa } from './portalCa.ts';
import { randomSerialNumber } from './serialNumber.ts';
import { authorityKeyIdentifier, CLOCK_SKEW_MS } from './sensorCertificate.ts';
import { EC_KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from './x509.ts';

export interface ServerIdentity {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
}

/** Seven days; portalServer.ts renews it every day. */
export const SERVER_CERT_VALIDITY_DAYS = 7;

/** A server certificate for `hosts` (names and IP addresses; the first is the CN). */
export async function issueServerCertificate(ca: PortalCa, hosts: readonly string[], now: Date = new Date()): Promise<ServerIdentity> {
  const names = [...new Set(hosts.map((h) => h.replace(/^\[|\]$/g, '')))].filter((h) => h !== '');
  if (names.length === 0) throw new Error('a server certificate needs at least one host name or address');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subjectKey = await publicKey.toCryptoKey(EC_KEY_ALGORITHM, true, ['verify']);
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + SERVER_CERT_VALIDITY_DAYS * 86_400_000);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: [{ CN: [names[0]!] }, { O: ['Hydrophone portal'] }],
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: subjectKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names.map((h) => ({ type: isIP(h) ? 'ip' as const : 'dns' as const, value: h })), false),
      await x509.SubjectKeyIdentifierExtension.create(subjectKey),
      authorityKeyIdentifier(ca),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, notAfter };
}
