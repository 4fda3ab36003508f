/**
 * The cipher suites we can decrypt, by IANA id. Everything else is reported
 * as unsupported with its id.
 */
import type { HashName } from './keySchedule.ts';

export type BulkCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-cbc' | 'aes-256-cbc';
export type MacName = 'sha1' | 'sha256' | 'sha384';

export interface CipherSuite {
  readonly id: number;
  readonly name: string;
  readonly tls13: boolean;
  readonly bulk: BulkCipher;
  readonly keyLength: number;
  /** TLS 1.2: the PRF hash. TLS 1.3: the HKDF hash. */
  readonly hash: HashName;
  /** TLS 1.2 CBC suites only: the record MAC (HMAC). */
  readonly mac: MacName | undefined;
}

export const MAC_LENGTH: Record<MacName, number> = { sha1: 20, sha256: 32, sha384: 48 };

const SUITES = new Map<number, CipherSuite>();

function add(id: number, name: string, bulk: BulkCipher, hash: HashName, mac?: MacName): void {
  const keyLength = bulk === 'aes-128-gcm' || bulk === 'aes-128-cbc' ? 16 : 32;
  SUITES.set(id, { id, name, tls13: name.startsWith('TLS_AES') || name.startsWith('TLS_CHACHA'), bulk, keyLength, hash, mac });
}

// TLS 1.3
add(0x1301, 'TLS_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0x1302, 'TLS_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');
add(0x1303, 'TLS_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256');

// TLS 1.2 AES-GCM (RFC 5288, 5289, 5487)
add(0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');
add(0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');
add(0x00a2, 'TLS_DHE_DSS_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0x00a3, 'TLS_DHE_DSS_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');
add(0x00a8, 'TLS_PSK_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0x00a9, 'TLS_PSK_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');
add(0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');
add(0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256');
add(0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384');

// TLS 1.2 ChaCha20-Poly1305 (RFC 7905)
add(0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256');
add(0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256');
add(0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256');
add(0xccab, 'TLS_PSK_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256');
add(0xccac, 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256');

// TLS 1.2 AES-CBC with HMAC (MAC-then-encrypt, or encrypt_then_mac per RFC 7366)
add(0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA', 'aes-128-cbc', 'sha256', 'sha1');
add(0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA', 'aes-256-cbc', 'sha256', 'sha1');
add(0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256', 'aes-128-cbc', 'sha256', 'sha256');
add(0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256', 'aes-256-cbc', 'sha256', 'sha256');
add(0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA', 'aes-128-cbc', 'sha256', 'sha1');
add(0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA', 'aes-256-cbc', 'sha256', 'sha1');
add(0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256', 'aes-128-cbc', 'sha256', 'sha256');
add(0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256', 'aes-256-cbc', 'sha256', 'sha256');
add(0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'aes-128-cbc', 'sha256', 'sha1');
add(0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'aes-256-cbc', 'sha256', 'sha1');
add(0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'aes-128-cbc', 'sha256', 'sha1');
add(0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'aes-256-cbc', 'sha256', 'sha1');
add(0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'aes-128-cbc', 'sha256', 'sha256');
add(0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'aes-256-cbc', 'sha384', 'sha384');
add(0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'aes-128-cbc', 'sha256', 'sha256');
add(0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 'aes-256-cbc', 'sha384', 'sha384');

export function cipherSuite(id: number): CipherSuite | undefined {
  return SUITES.get(id);
}

export function suiteHex(id: number): string {
  return `0x${id.toString(16).padStart(4, '0')}`;
}
