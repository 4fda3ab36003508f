import { describe, expect, it } from 'vitest';
import { grpcExchange, isGrpcContentType, percentDecode, splitAuthority } from './callMapping.ts';
import type { GrpcCall } from './callMapping.ts';
import { GrpcMessageCounter } from './messageFraming.ts';
import { parseGrpcTimeout } from './timeout.ts';

const base: GrpcCall = {
  streamId: 3,
  startNs: 1_000_000n,
  endNs: 101_000_000n,
  path: '/helloworld.Greeter/SayHello',
  authority: 'greeter:50051',
  responseUnresolved: false,
  request: new GrpcMessageCounter(),
  response: new GrpcMessageCounter(),
};

describe('gRPC call outcome', () => {
  it.each([
    ['OK', { grpcStatus: 0 }, 0, false, false, undefined],
    ['NOT_FOUND is a client error only', { grpcStatus: 5, grpcMessage: 'no%20such%20user' }, 5, false, true, 'no such user'],
    ['UNAVAILABLE is a server error', { grpcStatus: 14 }, 14, true, true, undefined],
    ['CANCEL from the client', { reset: { errorCode: 8, errorName: 'CANCEL', by: 'client' as const } }, 1, false, true, 'RST_STREAM CANCEL from the client'],
    ['CANCEL after the deadline', { timeoutNs: 100_000_000n, reset: { errorCode: 8, errorName: 'CANCEL', by: 'client' as const } }, 4, true, true, 'deadline exceeded: RST_STREAM CANCEL from the client'],
    ['CANCEL from a server at the deadline (grpc-go)', { timeoutNs: 100_000_000n, reset: { errorCode: 8, errorName: 'CANCEL', by: 'server' as const } }, 4, true, true, 'deadline exceeded: RST_STREAM CANCEL from the server'],
    ['CANCEL well before the deadline', { timeoutNs: 5_000_000_000n, reset: { errorCode: 8, errorName: 'CANCEL', by: 'client' as const } }, 1, false, true, 'RST_STREAM CANCEL from the client'],
    ['REFUSED_STREAM', { reset: { errorCode: 7, errorName: 'REFUSED_STREAM', by: 'server' as const } }, 14, true, true, 'RST_STREAM REFUSED_STREAM from the server'],
    ['grpc-status wins over a reset', { grpcStatus: 4, reset: { errorCode: 0, errorName: 'NO_ERROR', by: 'server' as const } }, 4, true, true, undefined],
    ['HTTP 503 without grpc-status', { httpStatus: 503 }, 14, true, true, 'HTTP 503'],
    ['no grpc-status at all', {}, 2, true, true, 'no grpc-status in the response'],
    ['no grpc-status, but unresolved fields', { responseUnresolved: true }, undefined, false, false, undefined],
  ])('%s', (_what, over, status, server, client, message) => {
    const e = grpcExchange({ ...base, ...over });
    expect(e.attributes['rpc.grpc.status_code']).toBe(status);
    expect(e.error.server).toBe(server);
    expect(e.error.client).toBe(client);
    if (message !== undefined) expect(e.error.message).toBe(message);
  });

  it('names the call and its server', () => {
    const e = grpcExchange({ ...base, grpcStatus: 0 });
    expect(e.name).toBe('helloworld.Greeter/SayHello');
    expect(e.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'helloworld.Greeter', 'rpc.method': 'SayHello', 'server.address': 'greeter', 'server.port': 50051 });
    expect(e.pairKey).toBe('3');
  });
});

describe('gRPC header values', () => {
  it.each([
    ['application/grpc', true], ['application/grpc+proto', true], ['application/grpc;charset=utf-8', true],
    ['application/grpc-web', false], ['application/json', false], [undefined, false],
  ])('content-type %s', (v, yes) => expect(isGrpcContentType(v)).toBe(yes));

  it.each([
    ['100m', 100_000_000n], ['1S', 1_000_000_000n], ['2H', 7_200_000_000_000n], ['3M', 180_000_000_000n],
    ['5u', 5_000n], ['9n', 9n], ['99999999m', 99_999_999_000_000n], ['123456789m', undefined], ['10', undefined], ['m', undefined],
  ])('grpc-timeout %s', (v, ns) => expect(parseGrpcTimeout(v)).toBe(ns));

  it.each([
    ['plain', 'plain'], ['a%20b', 'a b'], ['%C3%BC', 'ü'], ['100%', '100%'], ['%zz', '%zz'],
  ])('grpc-message %s', (v, text) => expect(percentDecode(v)).toBe(text));

  it.each([
    ['example.com', { address: 'example.com' }], ['example.com:8443', { address: 'example.com', port: 8443 }],
    ['[::1]:50051', { address: '::1', port: 50051 }], ['user@host:1', { address: 'host', port: 1 }],
  ])(':authority %s', (v, parts) => expect(splitAuthority(v)).toEqual(parts));
});
