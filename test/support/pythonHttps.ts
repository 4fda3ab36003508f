/**
 * The HTTPS peers of test/peers/python/https.py (Python's ssl module, that
 * is libssl through _ssl) and a self-signed certificate for them.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';
import { startServer, type Server } from './peers.ts';

export const pythonHttpsScript = path.join(projectRoot, 'test/peers/python/https.py');

export interface Certificate {
  readonly cert: string;
  readonly key: string;
}

/** A throwaway certificate for CN=localhost in `dir`, made with the openssl CLI. */
export function selfSigned(dir: string): Certificate {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** A self-signed end-entity certificate for localhost, DER (webpki refuses a CA certificate as a server's). */
export function leafCertificate(dir: string): Certificate {
  const pem = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const der = { cert: path.join(dir, 'cert.der'), key: path.join(dir, 'key.der') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '1',
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'subjectAltName=DNS:localhost', '-keyout', pem.key, '-out', pem.cert], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-in', pem.cert, '-outform', 'der', '-out', der.cert]);
  execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', pem.key, '-outform', 'der', '-out', der.key]);
  return der;
}

/** https.py's server: HTTP/1.1 keep-alive on 127.0.0.1:port, "got N for PATH" (404 /missing, 500 /fail..., 201 POST). */
export function startPythonHttps(port: number, { cert, key }: Certificate): Promise<Server> {
  return startServer('python3', [pythonHttpsScript, 'server', String(port), cert, key], port);
}

/** What https.py's server answers to a request with `bodyBytes` of body. */
export function pythonHttpsAnswer(method: string, urlPath: string, bodyBytes = 0): { status: number; body: string } {
  const status = urlPath === '/missing' ? 404 : urlPath.startsWith('/fail') ? 500 : method === 'POST' ? 201 : 200;
  return { status, body: `got ${bodyBytes} for ${urlPath}` };
}

/**
 * https.py's client line: the requests in order on one connection, `--hold n`
 * after n of them. 'bio-client': over memory BIOs, each request sent by a
 * thread of its own (no hold).
 */
export function pythonHttpsClientArgs(port: number, requests: readonly { method: string; path: string; body?: number }[], hold?: number, mode: 'client' | 'bio-client' = 'client'): string[] {
  const specs = requests.map((r) => `${r.method}:${r.path}${r.body ? `:${r.body}` : ''}`);
  return [pythonHttpsScript, mode, String(port), ...(hold === undefined ? [] : ['--hold', String(hold)]), ...specs];
}
