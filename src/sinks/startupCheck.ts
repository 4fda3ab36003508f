/**
 * One TLS handshake per network sink at start, so that a CA that does not
 * sign the server's certificate, or a client certificate the server
 * refuses, stops the sensor with the flag to fix, rather than turning into
 * a stream of retries. A backend that is merely away is not an error: its
 * spans wait in the queue.
 */
import { probeTls, type TlsProbeTarget } from './tlsProbe.ts';

export interface CheckFields {
  /** How the user names the CA and client certificate settings (flags or config paths). */
  readonly ca: string;
  readonly cert: string;
}

export type StartupVerdict = { readonly kind: 'ok' } | { readonly kind: 'fatal' | 'warning'; readonly message: string };

export async function checkTlsBackend(sink: string, target: TlsProbeTarget, fields: CheckFields, timeoutMs = 5_000): Promise<StartupVerdict> {
  const r = await probeTls({ ...target, timeoutMs });
  if (r.ok) return { kind: 'ok' };
  const where = `${target.host}:${target.port}`;
  switch (r.kind) {
    case 'untrustedServer':
      return { kind: 'fatal', message: `${sink}: ${r.message}: set ${fields.ca} to the CA that issued ${where}'s certificate` };
    case 'nameMismatch':
      return { kind: 'fatal', message: `${sink}: ${r.message}: connect by a name the certificate carries, or reissue it with ${target.host} in its subjectAltName` };
    case 'clientRejected':
      return { kind: 'fatal', message: `${sink}: ${r.message}: have the certificate in ${fields.cert} issued by a CA the server at ${where} trusts` };
    case 'notTls':
      return { kind: 'fatal', message: `${sink}: ${r.message}: point the sensor at the server's TLS port` };
    default:
      return { kind: 'warning', message: `${sink}: ${r.message}; spans wait in the queue and are retried` };
  }
}
