/**
 * The running portal: opens the database and the CA, renders deploy/base
 * once (a broken base stops the start, not a download), and serves the
 * API over HTTPS with a certificate from its own CA (renewed daily, so it
 * never expires under a long-running portal) or from given files.
 */
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { renderManifests } from '../deploy/renderManifests.ts';
import type { AdminCredential } from './adminToken.ts';
import { AuditLog } from './auditLog.ts';
import { openPortalDatabase } from './database.ts';
import { portalRequestHandler } from './httpApi.ts';
import { openPortalCa, type PortalCa } from './portalCa.ts';
import type { PortalPaths } from './portalPaths.ts';
import { PortalService } from './portalService.ts';
import { sensorPodWiring, withSensorImage } from './sensorManifest.ts';
import { CRL_PATH, startCrlServer, type CrlServer } from './crlServer.ts';
import type { BackendEndpoints } from './sensorRegistry.ts';
import { issueServerCertificate } from './serverCertificate.ts';

export interface PortalConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly paths: PortalPaths;
  readonly caPassphrase: string;
  readonly admin: AdminCredential;
  /** The portal's HTTPS certificate and key; absent: issued by the portal CA. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly certValidityDays: number;
  readonly tokenTtlHours: number;
  /** https://host[:port] operators reach the portal at (behind a load balancer, say); default from the listen address. */
  readonly publicUrl?: string;
  readonly deployBaseDir: string;
  /**
   * Publishing the CRL: `listen` serves it over plain HTTP; `url` is what
   * every certificate names as its CRL distribution point (default: this
   * listener at the public host). Without either, certificates name none.
   */
  readonly crl?: { readonly listen?: { readonly host: string; readonly port: number }; readonly url?: string };
  /** The sensor image the manifests name instead of deploy/base's (a mirror, a pinned digest). */
  readonly sensorImage?: string;
  readonly defaults: BackendEndpoints;
  /** Audit lines and errors; default stderr. */
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
}

export interface RunningPortal {
  /** The public URL, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The CRL distribution point written into certificates, if any. */
  readonly crlUrl?: string;
  readonly ca: PortalCa;
  /** Whether this start made the CA. */
  readonly caCreated: boolean;
  readonly service: PortalService;
  readonly audit: AuditLog;
  close(): Promise<void>;
}

/** The self-issued server certificate is replaced this often (it is valid for a week). */
const SERVER_CERT_RENEW_MS = 24 * 3_600_000;

export async function startPortal(config: PortalConfig): Promise<RunningPortal> {
  const log = config.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rendered = renderManifests(config.deployBaseDir);
  sensorPodWiring(rendered); // the base must have what the manifest fills in
  const base = config.sensorImage === undefined ? rendered : withSensorImage(rendered, config.sensorImage, '--sensor-image');
  const { ca, created } = await openPortalCa({ certFile: config.paths.caCert, keyFile: config.paths.caKey }, config.caPassphrase);
  const db = openPortalDatabase(config.paths.database);
  let server: Server | undefined;
  let crlServer: CrlServer | undefined;
  let renewal: NodeJS.Timeout | undefined;
  try {
    const audit = new AuditLog(db, log, config.now);
    if (created) audit.record({ actor: 'portal', action: 'ca.created', detail: { certFile: ca.files.certFile, fingerprint256: ca.fingerprint256 } });

    const wildcard = config.listen.host === '0.0.0.0' || config.listen.host === '::' || config.listen.host === '';
    const publicHost = config.publicUrl ? new URL(config.publicUrl).hostname : wildcard ? hostname() : config.listen.host;
    const serverHosts = [publicHost, ...(wildcard ? [] : [config.listen.host]), 'localhost', '127.0.0.1', '::1'];
    const identity = config.tls
      ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }
      : await issueServerCertificate(ca, serverHosts).then((s) => ({ cert: s.certPem, key: s.keyPem }));

    // The request handler is attached once listening: the service needs the
    // public URL, which needs the port the server got. No request can come
    // in between (the handshake alone takes I/O turns).
    server = createServer({ ...identity, minVersion: 'TLSv1.2' });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(config.listen.port, config.listen.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const hostInUrl = isIP(publicHost) === 6 ? `[${publicHost}]` : publicHost;
    const url = (config.publicUrl ?? `https://${hostInUrl}:${port}`).replace(/\/+$/, '');
    let service: PortalService | undefined;
    if (config.crl?.listen) {
      crlServer = await startCrlServer(config.crl.listen, () => service!.revocationList(), log);
    }
    const crlUrl = config.crl?.url ?? (crlServer ? `http://${hostInUrl}:${crlServer.port}${CRL_PATH}` : undefined);
    service = new PortalService({
      db, ca, base, audit,
      certValidityDays: config.certValidityDays,
      tokenTtlMs: config.tokenTtlHours * 3_600_000,
      publicUrl: url,
      ...(crlUrl !== undefined ? { crlUrl } : {}),
      defaults: config.defaults,
      ...(config.now ? { now: config.now } : {}),
    });
    server.on('request', portalRequestHandler({ service, admin: config.admin, audit, caPem: ca.certPem, log }));

    if (!config.tls) {
      renewal = setInterval(() => {
        issueServerCertificate(ca, serverHosts)
          .then((next) => s.setSecureContext({ cert: next.certPem, key: next.keyPem, minVersion: 'TLSv1.2' }))
          .catch((err: unknown) => log(JSON.stringify({
            time: new Date().toISOString(), level: 'error', msg: 'server certificate renewal failed; retrying in a day, the current one is valid for a week', error: (err as Error).message,
          })));
      }, SERVER_CERT_RENEW_MS);
      renewal.unref();
    }

    let closing: Promise<void> | undefined;
    const crl = crlServer;
    return {
      url, port, ca, caCreated: created, service, audit,
      ...(crlUrl !== undefined ? { crlUrl } : {}),
      close() {
        closing ??= new Promise<void>((resolve) => {
          clearInterval(renewal);
          void crl?.close();
          s.close(() => {
            db.close();
            resolve();
          });
          s.closeAllConnections();
        });
        return closing;
      },
    };
  } catch (err) {
    clearInterval(renewal);
    void crlServer?.close();
    server?.close();
    db.close();
    throw err;
  }
}
