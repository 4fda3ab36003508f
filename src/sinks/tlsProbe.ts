/**
 * One TLS handshake with a server, made only to say what is wrong with it
 * in words a user can act on. Client libraries (the Kafka client, gRPC)
 * report a refused certificate as "connection closed" or a bare OpenSSL
 * code; this probe connects with the same CA, certificate and key and
 * classifies what happens: the server unreachable, its certificate not
 * signed by our CA or not naming the host, or our certificate refused.
 *
 * A refused client certificate shows differently by TLS version: in TLS
 * 1.2 the handshake itself fails with the server's alert; in TLS 1.3 the
 * client's handshake completes first and the alert (or a bare close)
 * follows one round trip later. So after the handshake the probe reads
 * until the server either shows it accepted us (a session ticket, which
 * TLS 1.3 servers send once they have checked the client's Finished and
 * certificate) or refuses, or a quiet spell passes.
 */
import { connect, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';

export interface TlsProbeTarget {
  readonly host: string;
  readonly port: number;
  /** PEM: the CA (bundle) that must sign the server's certificate; the system store when absent. */
  readonly ca?: string | Buffer;
  /** PEM: the client certificate (chain) and its key, for servers that require mutual TLS. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** SNI and the name the server's certificate must carry; defaults to `host` when it is a name (never an IP address: RFC 6066). */
  readonly servername?: string;
  /** The whole probe, connect to verdict (default 5 s). */
  readonly timeoutMs?: number;
}

export type TlsProblem =
  /** Nothing answers: refused, unroutable, no such host. */
  | 'unreachable'
  /** No verdict within the timeout (a firewall dropping packets, a hung server). */
  | 'timeout'
  /** Something answers, but not TLS (a plaintext listener, another protocol). */
  | 'notTls'
  /** The server's certificate is not signed by the CA we trust, or has expired. */
  | 'untrustedServer'
  /** The server's certificate is trusted but does not name the host we connected to. */
  | 'nameMismatch'
  /** The server refused our client certificate, or wanted one and got none: its TLS alert says so. */
  | 'clientRejected'
  /**
   * The server closed or reset the connection right after a TLS 1.3
   * handshake, without an alert: how Node's servers refuse a client
   * certificate, but also what a server going down does. Not proof either way.
   */
  | 'closedAfterHandshake'
  /** The handshake failed another way (no common protocol version or cipher, a reset). */
  | 'handshakeFailed';

export type TlsProbeResult =
  | { readonly ok: true; readonly protocol: string }
  | {
      readonly ok: false;
      readonly kind: TlsProblem;
      /** One sentence about the server at host:port, without config field names (callers add those). */
      readonly message: string;
      /** The OpenSSL/Node error code behind it, e.g. ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN. */
      readonly code?: string;
    };

const DEFAULT_TIMEOUT_MS = 5_000;
/** How long to wait after a TLS 1.3 handshake for the server's verdict, at least, and in round trips. */
const MIN_SETTLE_MS = 250;
const SETTLE_ROUND_TRIPS = 4;

/** Node/OpenSSL verification codes meaning "the chain does not lead to a CA we trust" (or is out of date). */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED',
]);

/** TLS alerts a server sends about the client's certificate, by the suffix of Node's ERR_SSL_..._ALERT_ code. */
const CLIENT_CERT_ALERTS: Record<string, string> = {
  CERTIFICATE_REQUIRED: 'it requires a client certificate and got none',
  BAD_CERTIFICATE: 'it found our client certificate bad (not signed by a CA it trusts, or unusable for client authentication)',
  CERTIFICATE_UNKNOWN: 'it cannot verify our client certificate (not signed by a CA it trusts)',
  UNKNOWN_CA: 'our client certificate is signed by a CA it does not trust',
  CERTIFICATE_EXPIRED: 'our client certificate has expired (or the clocks disagree)',
  CERTIFICATE_REVOKED: 'our client certificate has been revoked',
  UNSUPPORTED_CERTIFICATE: 'our client certificate is of a kind it does not accept (key type or key usage)',
  ACCESS_DENIED: 'it denies access to our client certificate',
};

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EHOSTDOWN']);

/** Connects once and says whether TLS with these credentials works, and if not, why. Never throws. */
export function probeTls(target: TlsProbeTarget): Promise<TlsProbeResult> {
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const servername = target.servername ?? (isIP(target.host) ? undefined : target.host);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    const started = performance.now();
    let handshakeDone = false;
    let settleTimer: NodeJS.Timeout | undefined;
    let socket: TLSSocket;
    const finish = (result: TlsProbeResult) => {
      clearTimeout(overall);
      clearTimeout(settleTimer);
      socket.removeAllListeners();
      socket.on('error', () => {}); // late errors of a socket being torn down
      socket.destroy();
      resolve(result);
    };
    const overall = setTimeout(() => finish({ ok: false, kind: 'timeout', message: `${where}: no TLS answer within ${timeoutMs} ms (a firewall dropping packets, or a hung server)` }), timeoutMs);
    try {
      socket = connect({
        host: target.host,
        port: target.port,
        ...(servername !== undefined ? { servername } : {}),
        ...(target.ca !== undefined ? { ca: target.ca } : {}),
        ...(target.cert !== undefined ? { cert: target.cert } : {}),
        ...(target.key !== undefined ? { key: target.key } : {}),
        rejectUnauthorized: true,
      });
    } catch (err) {
      // Bad PEM material throws synchronously; the config checks catch it earlier, this is the last line.
      clearTimeout(overall);
      resolve({ ok: false, kind: 'handshakeFailed', message: `${where}: cannot start TLS: ${(err as Error).message}`, code: (err as NodeJS.ErrnoException).code ?? 'ERR' });
      return;
    }
    socket.on('secureConnect', () => {
      handshakeDone = true;
      const protocol = socket.getProtocol() ?? 'TLS';
      if (protocol !== 'TLSv1.3') {
        // Up to TLS 1.2 the server has judged our certificate before its Finished.
        finish({ ok: true, protocol });
        return;
      }
      const handshakeMs = performance.now() - started;
      settleTimer = setTimeout(() => finish({ ok: true, protocol }), Math.max(MIN_SETTLE_MS, SETTLE_ROUND_TRIPS * handshakeMs));
    });
    // A TLS 1.3 session ticket comes only after the server accepted our Finished, certificate included.
    socket.on('session', () => {
      if (handshakeDone) finish({ ok: true, protocol: socket.getProtocol() ?? 'TLSv1.3' });
    });
    socket.on('data', () => {
      // A server that speaks first has accepted us; the probe has nothing to say to it.
      if (handshakeDone) finish({ ok: true, protocol: socket.getProtocol() ?? 'TLS' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(classify(where, err, handshakeDone, servername ?? target.host)));
    socket.on('end', () => {
      finish(handshakeDone
        ? { ok: false, kind: 'closedAfterHandshake', message: `${where} closed the connection right after the TLS handshake, without an alert: it refused our client certificate, or it is shutting down` }
        // Up to TLS 1.2 this is also how a server refuses a client certificate without an alert (Node's servers do).
        : { ok: false, kind: 'handshakeFailed', message: `${where} closed the connection during the TLS handshake, without an alert: it refused our client certificate, or it has no protocol version or cipher in common with us` });
    });
  });
}

function classify(where: string, err: NodeJS.ErrnoException, handshakeDone: boolean, name: string): TlsProbeResult {
  const code = err.code ?? 'ERR';
  if (UNREACHABLE_CODES.has(code)) {
    return { ok: false, kind: 'unreachable', message: `${where} is unreachable (${code}): nothing listens there, or the address is wrong`, code };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { ok: false, kind: 'nameMismatch', message: `${where} presents a certificate that does not name ${name} (${err.message})`, code };
  }
  if (UNTRUSTED_CODES.has(code)) {
    const why = code === 'CERT_HAS_EXPIRED' ? 'has expired' : code === 'CERT_NOT_YET_VALID' ? 'is not valid yet (check the clocks)' : code === 'CERT_REVOKED' ? 'has been revoked' : 'is not signed by the CA we trust';
    return { ok: false, kind: 'untrustedServer', message: `${where} presents a certificate that ${why} (${code}: ${err.message})`, code };
  }
  // Node names the code after OpenSSL's reason text: ERR_SSL_TLSV1_ALERT_UNKNOWN_CA,
  // ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, and for the SSLv3-era alerts
  // ERR_SSL_SSLV3_ALERT_... (OpenSSL 1.1) or ERR_SSL_SSL/TLS_ALERT_... (OpenSSL 3).
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_(\w+)$/.exec(code)?.[1];
  if (alert !== undefined) {
    const alertName = alert.toLowerCase();
    const meaning = CLIENT_CERT_ALERTS[alert];
    if (meaning !== undefined) {
      return { ok: false, kind: 'clientRejected', message: `${where} refused our client certificate (TLS alert ${alertName}): ${meaning}`, code };
    }
    return { ok: false, kind: 'handshakeFailed', message: `${where} ended the TLS handshake with alert ${alertName} (no common protocol version or cipher suite, or a policy of the server)`, code };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_UNKNOWN_PROTOCOL') {
    return { ok: false, kind: 'notTls', message: `${where} does not speak TLS (${code}): it is a plaintext listener or another protocol`, code };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return handshakeDone
      ? { ok: false, kind: 'closedAfterHandshake', message: `${where} reset the connection right after the TLS handshake, without an alert: it refused our client certificate, or it is shutting down`, code }
      : { ok: false, kind: 'handshakeFailed', message: `${where} reset the connection during the TLS handshake (${err.message})`, code };
  }
  return { ok: false, kind: 'handshakeFailed', message: `${where}: TLS failed (${code}: ${err.message})`, code };
}
