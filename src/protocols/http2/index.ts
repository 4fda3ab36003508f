/**
 * HTTP/2 (RFC 9113) with HPACK (RFC 7541), cleartext or as decrypted by a
 * TLS uprobe, and gRPC on its streams: one parser per connection reports
 * each stream as an HTTP/2 exchange or, when its content-type is
 * application/grpc, as a gRPC call.
 */
import type { Protocol } from '../contract.ts';
import { Http2ConnectionParser } from './connectionParser.ts';
import { inferHttp2 } from './inference.ts';

export const http2Protocol: Protocol = {
  name: 'http2',
  infer: inferHttp2,
  createParser: (emit) => new Http2ConnectionParser(emit),
};
