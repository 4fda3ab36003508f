/**
 * Key derivation: the TLS 1.2 PRF (RFC 5246 §5) and TLS 1.3's
 * HKDF-Expand-Label (RFC 8446 §7.1), both built on HMAC.
 */
import { createHmac } from 'node:crypto';

export type HashName = 'sha256' | 'sha384';

export const HASH_LENGTH: Record<HashName, number> = { sha256: 32, sha384: 48 };

function hmac(hash: HashName, key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** P_hash(secret, seed) truncated to `length` bytes. */
function pHash(hash: HashName, secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  let produced = 0;
  let a: Uint8Array = seed; // A(0)
  while (produced < length) {
    a = hmac(hash, secret, a);
    const block = hmac(hash, secret, a, seed);
    out.push(block);
    produced += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** PRF(secret, label, seed) for TLS 1.2 (P_SHA256, or P_SHA384 for the *_SHA384 suites). */
export function tls12Prf(hash: HashName, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  return pHash(hash, secret, Buffer.concat([Buffer.from(label, 'latin1'), seed]), length);
}

/** HKDF-Expand (RFC 5869 §2.3); node's hkdf always extracts first, which TLS 1.3 traffic keys must not. */
export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  let produced = 0;
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1; produced < length; i++) {
    t = hmac(hash, prk, t, info, Uint8Array.of(i));
    out.push(t as Buffer);
    produced += t.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HKDF-Expand-Label(secret, label, context, length) with the "tls13 " prefix. */
export function hkdfExpandLabel(hash: HashName, secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.alloc(2 + 1 + fullLabel.length + 1 + context.length);
  info.writeUInt16BE(length, 0);
  info[2] = fullLabel.length;
  fullLabel.copy(info, 3);
  info[3 + fullLabel.length] = context.length;
  info.set(context, 4 + fullLabel.length);
  return hkdfExpand(hash, secret, info, length);
}
