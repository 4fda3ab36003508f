/**
 * The echo peer in Node (@grpc/grpc-js):
 *   node echo.ts server PORT [tls CERT KEY]     serves hydrophone.test.Echo on 127.0.0.1:PORT
 *   node echo.ts client HOST:PORT [tls CERT]    runs the scripted calls, prints a JSON summary
 *   node echo.ts session HOST:PORT [tls CERT]   one channel kept open, one call per line of
 *                                               stdin ("Unary TEXT" or "Fail CODE:message"),
 *                                               one JSON line out per call
 * With tls, the server presents CERT (PEM) and the client trusts it, for the
 * name localhost. Messages are raw bytes (identity serializers): no protoc.
 * See ../README.md.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const SERVICE = 'hydrophone.test.Echo';
const identity = (b: Buffer): Buffer => b;

function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${SERVICE}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

const echoService = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
  Fail: method('Fail', false, false),
  Slow: method('Slow', false, false),
} satisfies grpc.ServiceDefinition;

// ---- server ----

const handlers: grpc.UntypedServiceImplementation = {
  Unary: ((call, callback) => callback(null, call.request)) satisfies grpc.handleUnaryCall<Buffer, Buffer>,
  ServerStream: ((call) => {
    for (let i = 1; i <= 5; i++) call.write(Buffer.concat([call.request, Buffer.from(`-${i}`)]));
    call.end();
  }) satisfies grpc.handleServerStreamingCall<Buffer, Buffer>,
  ClientStream: ((call, callback) => {
    const parts: Buffer[] = [];
    call.on('data', (b: Buffer) => parts.push(b));
    call.on('end', () => callback(null, Buffer.concat(parts)));
  }) satisfies grpc.handleClientStreamingCall<Buffer, Buffer>,
  Bidi: ((call) => {
    call.on('data', (b: Buffer) => call.write(b));
    call.on('end', () => call.end());
  }) satisfies grpc.handleBidiStreamingCall<Buffer, Buffer>,
  /** Answers "CODE:message" with that status. */
  Fail: ((call, callback) => {
    const text = call.request.toString();
    const colon = text.indexOf(':');
    callback({ code: Number(text.slice(0, colon)), details: text.slice(colon + 1) });
  }) satisfies grpc.handleUnaryCall<Buffer, Buffer>,
  /** Sleeps for the milliseconds it is asked, whatever the deadline says. */
  Slow: ((call, callback) => {
    setTimeout(() => callback(null, call.request), Number(call.request.toString()));
  }) satisfies grpc.handleUnaryCall<Buffer, Buffer>,
};

/** [CERT, KEY] for a server, [CERT] for a client, or none (plaintext). */
type TlsFiles = string[] | undefined;

function serverCredentials(tls: TlsFiles): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(tls[0]!), private_key: readFileSync(tls[1]!) }]);
}

/** The client trusts CERT and checks it names localhost, as the test certificates do; the target is an address. */
function openClient(target: string, tls: TlsFiles): grpc.Client {
  if (!tls) return new grpc.Client(target, grpc.credentials.createInsecure());
  return new grpc.Client(target, grpc.credentials.createSsl(readFileSync(tls[0]!)), { 'grpc.ssl_target_name_override': 'localhost' });
}

function serve(port: string, tls: TlsFiles): void {
  const server = new grpc.Server();
  server.addService(echoService, handlers);
  server.bindAsync(`127.0.0.1:${port}`, serverCredentials(tls), (err) => {
    if (err) {
      process.stderr.write(`echo.ts: ${err.message}\n`);
      process.exit(1);
    }
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { server.forceShutdown(); process.exit(0); });
}

// ---- client ----

interface Call { method: string; code: number; message?: string; responses: number }

function outcome(name: string, err: grpc.ServiceError | null, responses: number): Call {
  return err ? { method: name, code: err.code, message: err.details, responses: 0 } : { method: name, code: 0, responses };
}

function unaryCall(client: grpc.Client, name: string, req: Buffer, options: grpc.CallOptions = {}): Promise<Call> {
  const m = echoService[name as keyof typeof echoService];
  return new Promise((resolve) => {
    client.makeUnaryRequest(m.path, identity, identity, req, new grpc.Metadata(), options, (err, resp) => {
      const mismatch = !err && name === 'Unary' && !resp?.equals(req);
      resolve(mismatch ? { method: name, code: grpc.status.DATA_LOSS, message: 'echo mismatch', responses: 0 } : outcome(name, err, 1));
    });
  });
}

function readAll(name: string, stream: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>): Promise<Call> {
  return new Promise((resolve) => {
    let n = 0;
    stream.on('data', () => n++);
    stream.on('error', (err: grpc.ServiceError) => resolve(outcome(name, err, n)));
    stream.on('status', (s: grpc.StatusObject) => { if (s.code === grpc.status.OK) resolve(outcome(name, null, n)); });
  });
}

async function runClient(target: string, tls: TlsFiles): Promise<void> {
  const client = openClient(target, tls);
  const calls: Call[] = [];
  for (const i of [1, 2]) calls.push(await unaryCall(client, 'Unary', Buffer.from(`hello-${i}`)));

  calls.push(await readAll('ServerStream', client.makeServerStreamRequest(echoService.ServerStream.path, identity, identity, Buffer.from('ServerStream-1'))));

  calls.push(await new Promise<Call>((resolve) => {
    const s = client.makeClientStreamRequest(echoService.ClientStream.path, identity, identity, (err) => resolve(outcome('ClientStream', err, 1)));
    for (let i = 1; i <= 4; i++) s.write(Buffer.from(`ClientStream-${i}`));
    s.end();
  }));

  const bidi = client.makeBidiStreamRequest(echoService.Bidi.path, identity, identity);
  const bidiDone = readAll('Bidi', bidi);
  for (let i = 1; i <= 3; i++) bidi.write(Buffer.from(`Bidi-${i}`));
  bidi.end();
  calls.push(await bidiDone);

  calls.push(await unaryCall(client, 'Fail', Buffer.from('5:no such echo')));
  calls.push(await unaryCall(client, 'Slow', Buffer.from('1000'), { deadline: Date.now() + 200 }));
  client.close();
  process.stdout.write(`${JSON.stringify({ client: 'node', target, calls })}\n`);
}

async function runSession(target: string, tls: TlsFiles): Promise<void> {
  const client = openClient(target, tls);
  for await (const line of createInterface({ input: process.stdin })) {
    const space = line.indexOf(' ');
    const [name, arg] = space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
    if (name !== 'Unary' && name !== 'Fail') {
      process.stderr.write(`echo.ts session: want 'Unary TEXT' or 'Fail CODE:message', got ${JSON.stringify(line)}\n`);
      process.exit(2);
    }
    process.stdout.write(`${JSON.stringify(await unaryCall(client, name, Buffer.from(arg)))}\n`);
  }
  client.close();
}

const USAGE = 'usage: node echo.ts server PORT [tls CERT KEY] | node echo.ts client|session HOST:PORT [tls CERT]\n';
const [role, where, tlsWord, ...files] = process.argv.slice(2);
const tlsFiles = tlsWord === 'tls' ? files : undefined;
const tlsOk = tlsWord === undefined || (tlsWord === 'tls' && files.length === (role === 'server' ? 2 : 1));
if (!where || !tlsOk) {
  process.stderr.write(USAGE);
  process.exit(2);
}
if (role === 'server') serve(where, tlsFiles);
else if (role === 'client') await runClient(where, tlsFiles);
else if (role === 'session') await runSession(where, tlsFiles);
else {
  process.stderr.write(USAGE);
  process.exit(2);
}
