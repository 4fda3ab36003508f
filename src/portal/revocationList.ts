/**
 * The CRL of the portal CA (RFC 5280, version 2): every revoked sensor
 * certificate that has not expired yet, signed by the CA, with a CRL
 * number that grows with each list the portal signs. DER is the form
 * RFC 5280 distributes over HTTP (application/pkix-crl); PEM is what
 * OpenSSL-based servers load from a file (`ssl_crl`, `crl_file`).
 */
import type { PortalCa } from './portalCa.ts';
import { authorityKeyIdentifier } from './leafCertificate.ts';
import { SIGNING_ALGORITHM, x509 } from './x509.ts';

export interface RevokedCertificate {
  readonly serial: string;
  readonly revokedAt: Date;
  /** For the entry's reason code: a sensor given up, or a certificate replaced by a rotation. */
  readonly reason: 'cessationOfOperation' | 'superseded';
}

export interface RevocationList {
  readonly der: Buffer;
  readonly pem: string;
  readonly crlNumber: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

/** A backend should fetch the list again before this; the portal signs a fresh one whenever it is asked after a change. */
export const CRL_VALIDITY_HOURS = 24;

const CRL_NUMBER_OID = '2.5.29.20';

export async function signRevocationList(ca: PortalCa, revoked: readonly RevokedCertificate[], crlNumber: number, now: Date = new Date()): Promise<RevocationList> {
  const thisUpdate = now;
  const nextUpdate = new Date(now.getTime() + CRL_VALIDITY_HOURS * 3_600_000);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate,
    nextUpdate,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    entries: revoked.map((r) => ({
      serialNumber: r.serial,
      revocationDate: r.revokedAt,
      reason: r.reason === 'superseded' ? x509.X509CrlReason.superseded : x509.X509CrlReason.cessationOfOperation,
    })),
    extensions: [authorityKeyIdentifier(ca), new x509.Extension(CRL_NUMBER_OID, false, derInteger(crlNumber))],
  });
  const der = Buffer.from(crl.rawData);
  // RFC 7468's label is X509 CRL; the library writes "CRL", which OpenSSL does not read.
  const pem = `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;
  return { der, pem, crlNumber, thisUpdate, nextUpdate };
}

/** A non-negative INTEGER, DER-encoded (the CRLNumber extension's value). */
function derInteger(n: number): ArrayBuffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]).buffer;
}

/** How the CRL goes out over HTTP (the API's and the plain CRL listener's): DER by default, PEM on request. */
export function crlHttpReply(crl: RevocationList, format: string | null): { body: Buffer | string; type: string; headers: Record<string, string> } {
  const headers = { 'last-modified': crl.thisUpdate.toUTCString(), expires: crl.nextUpdate.toUTCString() };
  return format === 'pem'
    ? { body: crl.pem, type: 'application/x-pem-file', headers }
    : { body: crl.der, type: 'application/pkix-crl', headers };
}
