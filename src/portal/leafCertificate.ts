/**
 * One end-entity certificate signed by the portal CA, with a fresh P-256
 * key: what the sensor and the portal's own HTTPS certificates share. Not
 * a CA (basicConstraints critical), keyUsage digitalSignature only, one
 * extended key usage, the subject and authority key identifiers; the
 * caller adds its subject, names and any other extension.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { PortalCa } from './portalCa.ts';
import { randomSerialNumber } from './serialNumber.ts';
import { EC_KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from './x509.ts';

/** Clocks drift: a certificate valid from five minutes ago works on a node whose clock is a little behind. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface LeafRequest {
  readonly subject: x509.JsonName;
  readonly usage: 'clientAuth' | 'serverAuth';
  readonly subjectAltNames: readonly x509.JsonGeneralName[];
  readonly validityDays: number;
  /** Extensions beyond the common ones (a CRL distribution point). */
  readonly extraExtensions?: readonly x509.Extension[];
  readonly now?: Date;
}

export interface IssuedLeaf {
  /** Uppercase hex, as serialNumber.ts writes it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly certPem: string;
  /** PKCS#8 PEM. Key material: never logged, never stored in the clear. */
  readonly keyPem: string;
}

export async function issueLeafCertificate(ca: PortalCa, req: LeafRequest): Promise<IssuedLeaf> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subjectKey = await publicKey.toCryptoKey(EC_KEY_ALGORITHM, true, ['verify']);
  const now = req.now ?? new Date();
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + req.validityDays * 86_400_000);
  const serial = randomSerialNumber();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: req.subject,
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: subjectKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[req.usage]], false),
      new x509.SubjectAlternativeNameExtension([...req.subjectAltNames], false),
      await x509.SubjectKeyIdentifierExtension.create(subjectKey),
      authorityKeyIdentifier(ca),
      ...(req.extraExtensions ?? []),
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
