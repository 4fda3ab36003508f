/**
 * The portal's own HTTPS certificate, signed by the portal CA, so that an
 * operator who holds the CA certificate (`curl --cacert ca.crt`) can check
 * whom they send the admin token to and get sensor keys from. Made at
 * start and kept in memory only: it is renewed long before it expires
 * (portalServer.ts), so its key never needs to be stored.
 */
import { isIP } from 'node:net';
import type { PortalCa } from './portalCa.ts';
import { issueLeafCertificate } from './leafCertificate.ts';

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
  const leaf = await issueLeafCertificate(ca, {
    subject: [{ CN: [names[0]!] }, { O: ['Hydrophone portal'] }],
    usage: 'serverAuth',
    subjectAltNames: names.map((h) => ({ type: isIP(h) ? 'ip' as const : 'dns' as const, value: h })),
    validityDays: SERVER_CERT_VALIDITY_DAYS,
    now,
  });
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, notAfter: leaf.notAfter };
}
