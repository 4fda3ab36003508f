/** What the parser keeps of one HTTP/2 stream until it ends. */
import { GrpcMessageCounter } from '../grpc/index.ts';
import type { RequestFacts, ResponseFacts } from './headerFacts.ts';
import type { Awaited } from './headerSupply.ts';

export interface Http2Stream {
  readonly id: number;
  /** First byte of the HEADERS (or PUSH_PROMISE) frame that opened it. */
  readonly startNs: bigint;
  request: RequestFacts;
  response: ResponseFacts;
  /** A final (non-1xx) response header block was seen. */
  responseStarted: boolean;
  /** DATA octets per direction, padding excluded. */
  requestBodySize: number;
  responseBodySize: number;
  readonly requestMessages: GrpcMessageCounter;
  readonly responseMessages: GrpcMessageCounter;
  requestEnded: boolean;
  reset?: { readonly errorCode: number; readonly errorName: string; readonly by: 'client' | 'server' };
  /** Error code name of the GOAWAY that left this stream unprocessed. */
  refusedByGoaway?: string;
  /** Frames of this stream may have been lost in a gap: never reported. */
  tainted: boolean;
  /** Header blocks the parser could not decode whose plaintext copy should follow (headerSupply.ts), per side. */
  awaiting: { request: Awaited[]; response: Awaited[] } | undefined;
}

export function newStream(id: number, startNs: bigint, request: RequestFacts): Http2Stream {
  return {
    id,
    startNs,
    request,
    response: { unresolved: 0 },
    responseStarted: false,
    requestBodySize: 0,
    responseBodySize: 0,
    requestMessages: new GrpcMessageCounter(),
    responseMessages: new GrpcMessageCounter(),
    requestEnded: false,
    tainted: false,
    awaiting: undefined, // present from the start: one object shape for every stream
  };
}
