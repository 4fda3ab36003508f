/**
 * gRPC over HTTP/2: what the HTTP/2 parser needs to recognise a call on a
 * stream, follow its length-prefixed messages and report it. gRPC is not
 * a protocol of its own on a connection: the HTTP/2 parser decides per
 * stream (see ../http2).
 */
export { GrpcMessageCounter } from './messageFraming.ts';
export { grpcExchange, isGrpcContentType, splitAuthority } from './callMapping.ts';
export type { GrpcCall } from './callMapping.ts';
export { parseGrpcTimeout } from './timeout.ts';
