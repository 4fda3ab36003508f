/** HTTP/1.0 and HTTP/1.1. */
import type { Protocol } from '../contract.ts';
import { Http1Parser } from './http1Parser.ts';
import { inferHttp1 } from './inference.ts';

export const http1Protocol: Protocol = {
  name: 'http1',
  infer: inferHttp1,
  createParser: (emit, context) => new Http1Parser(emit, context),
};
