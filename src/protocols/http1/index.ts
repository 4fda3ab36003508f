/** HTTP/1.0 and HTTP/1.1. */
import type { Protocol } from '../contract.ts';
import type { AttributeCapture } from '../attributeCapture/index.ts';
import { Http1Parser } from './http1Parser.ts';
import { inferHttp1 } from './inference.ts';

/** HTTP/1 whose parsers also report the allow-listed headers and url.query of `capture`. */
export function http1ProtocolWith(capture: AttributeCapture | undefined): Protocol {
  return {
    name: 'http1',
    infer: inferHttp1,
    createParser: (emit, context) => new Http1Parser(emit, context, capture),
  };
}

/** HTTP/1 as reported by default: no header values, no query string. */
export const http1Protocol: Protocol = http1ProtocolWith(undefined);
