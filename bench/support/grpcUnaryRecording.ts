/**
 * Real gRPC unary traffic for the pipeline bench: a grpc-js client calls a
 * grpc-js server through a recording TCP proxy on loopback; the bytes of
 * both directions, with their arrival times, come back as chunks.
 */
import net from 'node:net';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';

export interface Chunk {
  side: 'request' | 'response';
  tsNs: bigint;
  bytes: Buffer;
}

const identity = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const SERVICE: grpc.ServiceDefinition = {
  Get: {
    path: '/shop.catalog.v1.Catalog/GetItem',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity.serialize,
    requestDeserialize: identity.deserialize,
    responseSerialize: identity.serialize,
    responseDeserialize: identity.deserialize,
  },
};

export async function recordUnaryCalls(calls: number): Promise<Chunk[]> {
  const server = new grpc.Server();
  server.addService(SERVICE, {
    Get: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([call.request, Buffer.from('-item-details')])),
  });
  const serverPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  const chunks: Chunk[] = [];
  const proxy = net.createServer((client) => {
    const upstream = net.connect(serverPort, '127.0.0.1');
    client.on('data', (d: Buffer) => { chunks.push({ side: 'request', tsNs: process.hrtime.bigint(), bytes: d }); upstream.write(d); });
    upstream.on('data', (d: Buffer) => { chunks.push({ side: 'response', tsNs: process.hrtime.bigint(), bytes: d }); client.write(d); });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const Client = grpc.makeGenericClientConstructor(SERVICE, 'Catalog');
  const client = new Client(`127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, grpc.credentials.createInsecure()) as unknown as {
    Get(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
    close(): void;
  };
  for (let i = 0; i < calls; i++) {
    await new Promise<void>((resolve, reject) => client.Get(Buffer.from(`item-${i}`), (err) => (err ? reject(err) : resolve())));
  }
  client.close();
  await new Promise((r) => setTimeout(r, 100));
  proxy.close();
  server.forceShutdown();
  return chunks;
}
