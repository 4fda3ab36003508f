/**
 * HTTP/2 (RFC 9113) with HPACK (RFC 7541), cleartext or as decrypted by a
 * TLS uprobe, and gRPC on its streams: one parser per connection reports
 * each stream as an HTTP/2 exchange or, when its content-type is
 * application/grpc, as a gRPC call.
 */
import type { Protocol } from '../contract.ts';
import type { AttributeCapture } from '../attributeCapture/index.ts';
import { Http2ConnectionParser } from './connectionParser.ts';
import { inferHttp2 } from './inference.ts';

/** HTTP/2 and gRPC whose parsers also report the allow-listed headers, metadata and url.query of `capture`. */
export function http2ProtocolWith(capture: AttributeCapture | undefined): Protocol {
  return {
    name: 'http2',
    infer: inferHttp2,
    createParser: (emit) => new Http2ConnectionParser(emit, capture),
  };
}

/** HTTP/2 and gRPC as reported by default: no header values, no query string. */
export const http2Protocol: Protocol = http2ProtocolWith(undefined);
