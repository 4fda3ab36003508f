/**
 * The portal's CRL over plain HTTP, and nothing else. RFC 5280 publishes
 * CRLs over http: the list is signed by the CA, so transport security adds
 * nothing, and a verifier fetching a distribution point (a Kafka broker's
 * JVM) would otherwise have to trust the portal's own HTTPS certificate
 * first. No other route is served here: registration, manifests and the
 * admin API stay on the HTTPS listener.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crlHttpReply, type RevocationList } from './revocationList.ts';

export const CRL_PATH = '/api/v1/crl';

export interface CrlServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startCrlServer(
  listen: { readonly host: string; readonly port: number },
  revocationList: () => Promise<RevocationList>,
  log: (line: string) => void,
): Promise<CrlServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://crl');
    if (url.pathname !== CRL_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`only ${CRL_PATH} is served here\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET or HEAD\n');
      return;
    }
    revocationList().then((crl) => {
      const reply = crlHttpReply(crl, url.searchParams.get('format'));
      res.writeHead(200, { 'content-type': reply.type, 'cache-control': 'no-cache', ...reply.headers });
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    }).catch((err: unknown) => {
      log(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'CRL request failed', error: (err as Error).message }));
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('the CRL could not be made; see the portal log\n');
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
