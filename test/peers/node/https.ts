/**
 * The HTTPS peer in Node: node:https and node:http2 over node:tls, that is,
 * the OpenSSL linked into the node binary, driven through memory BIOs.
 *   node https.ts server PORT CERT KEY   HTTP/1.1 and HTTP/2 (ALPN) on 127.0.0.1:PORT until SIGTERM;
 *                                        answers as the Go peer's https-server: "got N for PATH"
 *                                        (N: request body bytes), 404 for /missing, 500 for /fail...
 *   node https.ts client URL h1|h2       one request per line of stdin ("METHOD PATH [BODYBYTES]") on
 *                                        one connection (h1: keep-alive), printing "STATUS PROTO BODYBYTES";
 *                                        the certificate is not verified
 * See ../README.md.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import { createInterface } from 'node:readline';

function serve(port: string, cert: string, key: string): void {
  const server = http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), allowHTTP1: true }, (req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => { n += d.length; });
    req.on('end', () => {
      const path = req.url ?? '';
      res.statusCode = path === '/missing' ? 404 : path.startsWith('/fail') ? 500 : 200;
      res.setHeader('content-type', 'text/plain');
      res.end(`got ${n} for ${path}`);
    });
  });
  server.listen(Number(port), '127.0.0.1');
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
}

interface Answer { status: number; proto: string; bytes: number }

type Send = (method: string, path: string, body: Buffer) => Promise<Answer>;

function http1(url: URL): { send: Send; close: () => void } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const send: Send = (method, path, body) => new Promise((resolve, reject) => {
    const req = https.request({ host: url.hostname, port: url.port, method, path, agent, headers: { 'content-length': body.length } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => { bytes += d.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, proto: `HTTP/${res.httpVersion}`, bytes }));
    });
    req.on('error', reject);
    req.end(body);
  });
  return { send, close: () => agent.destroy() };
}

function http2Session(url: URL): { send: Send; close: () => void } {
  const session = http2.connect(url, { rejectUnauthorized: false });
  const send: Send = (method, path, body) => new Promise((resolve, reject) => {
    // Without a body the stream ends with its headers (node's default for GET).
    const headers = body.length ? { ':method': method, ':path': path, 'content-length': body.length } : { ':method': method, ':path': path };
    const stream = session.request(headers, { endStream: body.length === 0 });
    let status = 0;
    let bytes = 0;
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (d: Buffer) => { bytes += d.length; });
    stream.on('end', () => resolve({ status, proto: 'HTTP/2.0', bytes }));
    stream.on('error', reject);
    if (body.length) stream.end(body);
  });
  return { send, close: () => session.close() };
}

async function runClient(url: string, protocol: string): Promise<void> {
  const target = new URL(url);
  const client = protocol === 'h2' ? http2Session(target) : http1(target);
  for await (const line of createInterface({ input: process.stdin })) {
    const [method, path, size] = line.trim().split(' ');
    if (!method || !path) continue;
    const a = await client.send(method, path, Buffer.alloc(Number(size ?? 0), 'x'));
    process.stdout.write(`${a.status} ${a.proto} ${a.bytes}\n`);
  }
  client.close();
}

const [role, a, b, c] = process.argv.slice(2);
if (role === 'server' && a && b && c) serve(a, b, c);
else if (role === 'client' && a && (b === 'h1' || b === 'h2')) await runClient(a, b);
else {
  process.stderr.write('usage: node https.ts server PORT CERT KEY | node https.ts client URL h1|h2\n');
  process.exit(2);
}
