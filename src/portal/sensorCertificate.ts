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
import type { PortalCa } from './portalCa.ts';
import { issueLeafCertificate, type IssuedLeaf } from './leafCertificate.ts';
import { x509 } from './x509.ts';

export type IssuedCertificate = IssuedLeaf;

export interface SensorCertificateRequest {
  readonly uuid: string;
  readonly tenant: string;
  readonly validityDays: number;
  /** Where the portal's CRL can be fetched (http://...): written as the certificate's CRL distribution point. */
  readonly crlUrl?: string;
  readonly now?: Date;
}

export function sensorCommonName(uuid: string): string {
  return `hydrophone-sensor-${uuid}`;
}

export function sensorUri(uuid: string): string {
  return `urn:hydrophone:sensor:${uuid}`;
}

export async function issueSensorCertificate(ca: PortalCa, req: SensorCertificateRequest): Promise<IssuedCertificate> {
  if (!Number.isInteger(req.validityDays) || req.validityDays < 1) throw new Error(`validityDays must be a whole number of days >= 1, got ${req.validityDays}`);
  return issueLeafCertificate(ca, {
    // JSON names, not a DN string: a tenant with a comma or an equals sign
    // stays one attribute value instead of becoming several.
    subject: [{ CN: [sensorCommonName(req.uuid)] }, { O: [req.tenant] }],
    usage: 'clientAuth',
    subjectAltNames: [{ type: 'url', value: sensorUri(req.uuid) }],
    validityDays: req.validityDays,
    ...(req.crlUrl !== undefined ? { extraExtensions: [new x509.CRLDistributionPointsExtension([req.crlUrl], false)] } : {}),
    ...(req.now ? { now: req.now } : {}),
  });
}
