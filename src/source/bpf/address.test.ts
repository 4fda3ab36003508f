import { describe, expect, it } from 'vitest';
import { formatAddress } from './address.ts';
import { Enums } from './eventLayout.ts';

const v6 = (hex: string) => Buffer.from(hex.replace(/:/g, ''), 'hex');

describe('formatAddress', () => {
  it.each([
    ['IPv4', Buffer.from([192, 168, 1, 20, ...Array(12).fill(0)]), Enums.HP_AF_INET, '192.168.1.20'],
    ['IPv6 loopback', v6('0000:0000:0000:0000:0000:0000:0000:0001'), Enums.HP_AF_INET6, '::1'],
    ['IPv6 any', v6('0000:0000:0000:0000:0000:0000:0000:0000'), Enums.HP_AF_INET6, '::'],
    ['IPv6 global', v6('2001:0db8:0000:0000:0008:0800:200c:417a'), Enums.HP_AF_INET6, '2001:db8::8:800:200c:417a'],
    ['IPv6 single zero group not compressed', v6('2001:0db8:0000:0001:0001:0001:0001:0001'), Enums.HP_AF_INET6, '2001:db8:0:1:1:1:1:1'],
    ['IPv4-mapped IPv6 is the IPv4 address', v6('0000:0000:0000:0000:0000:ffff:0a00:0001'), Enums.HP_AF_INET6, '10.0.0.1'],
    ['Unix', Buffer.alloc(16), Enums.HP_AF_UNIX, ''],
  ])('%s', (_name, bytes, family, text) => {
    expect(formatAddress(bytes, family)).toBe(text);
  });
});
