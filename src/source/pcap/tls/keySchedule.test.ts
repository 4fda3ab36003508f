import { describe, expect, it } from 'vitest';
import { hkdfExpandLabel, tls12Prf } from './keySchedule.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('tls12Prf', () => {
  // The P_SHA256 vector circulated on the TLS WG list; both agree with `openssl kdf ... TLS1-PRF`.
  it('matches the published P_SHA256 vector', () => {
    expect(tls12Prf('sha256', hex('9bbe436ba940f017b17652849a71db35'), 'test label', hex('a0ba9f936cda311827a6f796ffd5198c'), 100).toString('hex'))
      .toBe('e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66');
  });

  it('matches OpenSSL for P_SHA384', () => {
    expect(tls12Prf('sha384', hex('b80b733d6ceefcdc71566ea48e5567df'), 'test label', hex('cd665cf6a8447dd6ff8b27555edb7465'), 48).toString('hex'))
      .toBe('7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0');
  });
});

describe('hkdfExpandLabel', () => {
  // RFC 8448 §3 (simple 1-RTT): server handshake traffic secret -> write key and IV.
  const secret = hex('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38');

  it('derives the RFC 8448 server handshake key and iv', () => {
    expect(hkdfExpandLabel('sha256', secret, 'key', new Uint8Array(0), 16).toString('hex')).toBe('3fce516009c21727d0f2e4e86ee403bc');
    expect(hkdfExpandLabel('sha256', secret, 'iv', new Uint8Array(0), 12).toString('hex')).toBe('5d313eb2671276ee13000b30');
  });
});
