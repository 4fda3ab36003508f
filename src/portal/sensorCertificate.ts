/**
 * One sensor's client certificate, signed by the portal CA, with a key
 * pair the portal makes (the manifest delivers both; the sensor has no way
 * to send a request before it is installed). What a backend can rely on:
 *   - subject CN `hydrophone-sensor-<uuid>`, O the tenant: Kafka's default
 *     principal and most logs show the subject;
 *   - URI SAN `urn:hydrophone:sensor:<uuid>`: the stable machine-readable
 *     name, for authorization rules that match SANs;
 *   - extendedKeyUsage clientAuth only and keyUsage digitalSignature: the
 *     certificate cannot serve TLS for a server nor sign anything else;
 *   - when the portal publishes its CRL at a URL, a CRL distribution point
 *     naming it: a verifier that follows them (the JVM's, with
 *     com.sun.security.enableCRLDP) then refuses a revoked sensor by itself.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { PortalCa } from './portalCa.ts';
import { randomSerialNumber } from './serialNumber.ts';
import { EC_KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from './x509.ts';

export interface IssuedCertificate {
  /** Uppercase hex, as serialNumber.ts writes it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly certPem: string;
  /** PKCS#8 PEM. Key material: never logged, never stored in the clear. */
  readonly keyPem: string;
}

export interface SensorCertificateRequest {
  readonly uuid: string;
  readonly tenant: string;
  readonly validityDays: number;
  /** Where the portal's CRL can be fetched (http://...): written as the certificate's CRL distribution point. */
  readonly crlUrl?: string;
  readonly now?: Date;
}

/** Clocks drift: a certificate valid from five minutes ago works on a node whose clock is a little behind. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export function sensorCommonName(uuid: string): string {
  return `hydrophone-sensor-${uuid}`;
}

export function sensorUri(uuid: string): string {
  return `urn:hydrophone:sensor:${uuid}`;
}

export async function issueSensorCertificate(ca: PortalCa, req: SensorCertificateRequest): Promise<IssuedCertificate> {
  if (!Number.isInteger(req.validityDays) || req.validityDays < 1) throw new Error(`validityDays must be a whole number of days >= 1, got ${req.validityDays}`);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subjectKey = await publicKey.toCryptoKey(EC_KEY_ALGORITHM, true, ['verify']);
  const now = req.now ?? new Date();
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + req.validityDays * 86_400_000);
  const serial = randomSerialNumber();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    // JSON names, not a DN string: a tenant with a comma or an equals sign
    // stays one attribute value instead of becoming several.
    subject: [{ CN: [sensorCommonName(req.uuid)] }, { O: [req.tenant] }],
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: subjectKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: sensorUri(req.uuid) }], false),
      await x509.SubjectKeyIdentifierExtension.create(subjectKey),
      authorityKeyIdentifier(ca),
      ...(req.crlUrl !== undefined ? [new x509.CRLDistributionPointsExtension([req.crlUrl], false)] : []),
    ],
  });
  return {
    serial,
    notBefore,
    notAfter,
    certPem: certificate.toString('pem'),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** The CA's own subject key identifier, so that a verifier finds the issuer by key id. */
export function authorityKeyIdentifier(ca: PortalCa): InstanceType<typeof x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new Error('the portal CA certificate has no subject key identifier');
  return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
}
