/**
 * Record protection for one direction and one key epoch: TLS 1.2 AEAD
 * (explicit-nonce GCM, RFC 7905 ChaCha20), TLS 1.2 CBC+HMAC, TLS 1.3 AEAD.
 * The sequence number advances on each successful record.
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { CipherGCMTypes, DecipherChaCha20Poly1305, DecipherGCM } from 'node:crypto';
import { MAC_LENGTH } from './cipherSuites.ts';
import type { CipherSuite } from './cipherSuites.ts';
import { hkdfExpandLabel, tls12Prf } from './keySchedule.ts';

const TAG_LENGTH = 16;

export type DecryptResult =
  | { ok: true; type: number; plaintext: Buffer }
  | { ok: false; why: string };

export interface RecordDecrypter {
  /** `header` is the 5-byte record header, `fragment` the protected bytes after it. */
  decrypt(header: Uint8Array, fragment: Uint8Array): DecryptResult;
}

function seqBytes(seq: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(seq);
  return b;
}

/** The per-record nonce of RFC 7905 / RFC 8446: the static IV xor the left-padded sequence number. */
function xorNonce(iv: Uint8Array, seq: bigint): Buffer {
  const nonce = Buffer.from(iv);
  const s = seqBytes(seq);
  for (let i = 0; i < 8; i++) nonce[nonce.length - 8 + i]! ^= s[i]!;
  return nonce;
}

/** AEAD open; undefined when the tag does not verify. */
function aeadOpen(bulk: CipherSuite['bulk'], key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_LENGTH) return undefined;
  const ciphertext = sealed.subarray(0, sealed.length - TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  try {
    let d: DecipherGCM | DecipherChaCha20Poly1305;
    if (bulk === 'chacha20-poly1305') {
      const c = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
      c.setAAD(aad, { plaintextLength: ciphertext.length });
      d = c;
    } else {
      const c = createDecipheriv(bulk as CipherGCMTypes, key, nonce, { authTagLength: TAG_LENGTH });
      c.setAAD(aad);
      d = c;
    }
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    return undefined;
  }
}

function tls12Aad(seq: bigint, type: number, version: number, length: number): Buffer {
  const aad = Buffer.alloc(13);
  aad.writeBigUInt64BE(seq, 0);
  aad[8] = type;
  aad.writeUInt16BE(version, 9);
  aad.writeUInt16BE(length, 11);
  return aad;
}

function headerFields(header: Uint8Array): { type: number; version: number } {
  return { type: header[0]!, version: (header[1]! << 8) | header[2]! };
}

class Tls12Aead implements RecordDecrypter {
  readonly #bulk: CipherSuite['bulk'];
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  #seq = 0n;

  constructor(bulk: CipherSuite['bulk'], key: Uint8Array, iv: Uint8Array) {
    this.#bulk = bulk;
    this.#key = key;
    this.#iv = iv;
  }

  decrypt(header: Uint8Array, fragment: Uint8Array): DecryptResult {
    const { type, version } = headerFields(header);
    let nonce: Buffer;
    let sealed: Uint8Array;
    if (this.#bulk === 'chacha20-poly1305') {
      nonce = xorNonce(this.#iv, this.#seq);
      sealed = fragment;
    } else {
      // GCM: 4-byte implicit salt from the key block + 8-byte explicit nonce leading the record.
      if (fragment.length < 8 + TAG_LENGTH) return { ok: false, why: 'record too short for AES-GCM' };
      nonce = Buffer.concat([this.#iv, fragment.subarray(0, 8)]);
      sealed = fragment.subarray(8);
    }
    if (sealed.length < TAG_LENGTH) return { ok: false, why: 'record too short for its tag' };
    const aad = tls12Aad(this.#seq, type, version, sealed.length - TAG_LENGTH);
    const plaintext = aeadOpen(this.#bulk, this.#key, nonce, aad, sealed);
    if (plaintext === undefined) return { ok: false, why: 'record authentication failed' };
    this.#seq++;
    return { ok: true, type, plaintext };
  }
}

class Tls12Cbc implements RecordDecrypter {
  readonly #bulk: 'aes-128-cbc' | 'aes-256-cbc';
  readonly #key: Uint8Array;
  readonly #macKey: Uint8Array;
  readonly #mac: NonNullable<CipherSuite['mac']>;
  readonly #encryptThenMac: boolean;
  #seq = 0n;

  constructor(bulk: 'aes-128-cbc' | 'aes-256-cbc', key: Uint8Array, mac: NonNullable<CipherSuite['mac']>, macKey: Uint8Array, encryptThenMac: boolean) {
    this.#bulk = bulk;
    this.#key = key;
    this.#mac = mac;
    this.#macKey = macKey;
    this.#encryptThenMac = encryptThenMac;
  }

  #hmac(type: number, version: number, data: Uint8Array): Buffer {
    return createHmac(this.#mac, this.#macKey).update(tls12Aad(this.#seq, type, version, data.length)).update(data).digest();
  }

  decrypt(header: Uint8Array, fragment: Uint8Array): DecryptResult {
    const { type, version } = headerFields(header);
    const macLength = MAC_LENGTH[this.#mac];
    let encrypted = fragment;
    if (this.#encryptThenMac) {
      if (fragment.length < macLength) return { ok: false, why: 'record too short for its MAC' };
      encrypted = fragment.subarray(0, fragment.length - macLength);
      const expected = this.#hmac(type, version, encrypted);
      if (!timingSafeEqual(expected, fragment.subarray(fragment.length - macLength))) {
        return { ok: false, why: 'record authentication failed' };
      }
    }
    if (encrypted.length < 32 || encrypted.length % 16 !== 0) return { ok: false, why: 'CBC record length is not whole blocks' };
    let padded: Buffer;
    try {
      const d = createDecipheriv(this.#bulk, this.#key, encrypted.subarray(0, 16)).setAutoPadding(false);
      padded = Buffer.concat([d.update(encrypted.subarray(16)), d.final()]);
    } catch {
      return { ok: false, why: 'CBC decryption failed' };
    }
    const pad = padded[padded.length - 1]!;
    const unpaddedLength = padded.length - pad - 1;
    if (unpaddedLength < (this.#encryptThenMac ? 0 : macLength)) return { ok: false, why: 'record authentication failed (bad padding)' };
    for (let i = unpaddedLength; i < padded.length; i++) {
      if (padded[i] !== pad) return { ok: false, why: 'record authentication failed (bad padding)' };
    }
    let plaintext = padded.subarray(0, unpaddedLength);
    if (!this.#encryptThenMac) {
      const content = plaintext.subarray(0, plaintext.length - macLength);
      const expected = this.#hmac(type, version, content);
      if (!timingSafeEqual(expected, plaintext.subarray(plaintext.length - macLength))) {
        return { ok: false, why: 'record authentication failed' };
      }
      plaintext = content;
    }
    this.#seq++;
    return { ok: true, type, plaintext };
  }
}

/** Both directions' record protection of a TLS 1.2 connection, from the key block (RFC 5246 §6.3). */
export function tls12Decrypters(
  suite: CipherSuite,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  encryptThenMac: boolean,
): { client: RecordDecrypter; server: RecordDecrypter } {
  const macLength = suite.mac === undefined ? 0 : MAC_LENGTH[suite.mac];
  const ivLength = suite.bulk === 'chacha20-poly1305' ? 12 : suite.mac === undefined ? 4 : 0;
  const k = suite.keyLength;
  const block = tls12Prf(suite.hash, masterSecret, 'key expansion', Buffer.concat([serverRandom, clientRandom]),
    2 * (macLength + k + ivLength));
  let at = 0;
  const take = (n: number): Buffer => block.subarray(at, (at += n));
  const clientMac = take(macLength);
  const serverMac = take(macLength);
  const clientKey = take(k);
  const serverKey = take(k);
  const clientIv = take(ivLength);
  const serverIv = take(ivLength);
  if (suite.mac !== undefined && (suite.bulk === 'aes-128-cbc' || suite.bulk === 'aes-256-cbc')) {
    return {
      client: new Tls12Cbc(suite.bulk, clientKey, suite.mac, clientMac, encryptThenMac),
      server: new Tls12Cbc(suite.bulk, serverKey, suite.mac, serverMac, encryptThenMac),
    };
  }
  return { client: new Tls12Aead(suite.bulk, clientKey, clientIv), server: new Tls12Aead(suite.bulk, serverKey, serverIv) };
}

/** One TLS 1.3 traffic secret's record protection (RFC 8446 §5.2, §7.3). */
export class Tls13Decrypter implements RecordDecrypter {
  readonly secret: Uint8Array;
  readonly #suite: CipherSuite;
  readonly #key: Buffer;
  readonly #iv: Buffer;
  #seq = 0n;

  constructor(suite: CipherSuite, secret: Uint8Array) {
    this.#suite = suite;
    this.secret = secret;
    this.#key = hkdfExpandLabel(suite.hash, secret, 'key', new Uint8Array(0), suite.keyLength);
    this.#iv = hkdfExpandLabel(suite.hash, secret, 'iv', new Uint8Array(0), 12);
  }

  /** The decrypter of the next generation after a KeyUpdate ("traffic upd"). */
  next(): Tls13Decrypter {
    const hashLength = this.#suite.hash === 'sha384' ? 48 : 32;
    return new Tls13Decrypter(this.#suite, hkdfExpandLabel(this.#suite.hash, this.secret, 'traffic upd', new Uint8Array(0), hashLength));
  }

  decrypt(header: Uint8Array, fragment: Uint8Array): DecryptResult {
    const inner = aeadOpen(this.#suite.bulk, this.#key, xorNonce(this.#iv, this.#seq), header, fragment);
    if (inner === undefined) return { ok: false, why: 'record authentication failed' };
    this.#seq++;
    // TLSInnerPlaintext: content, then the real content type, then zero padding.
    let end = inner.length;
    while (end > 0 && inner[end - 1] === 0) end--;
    if (end === 0) return { ok: false, why: 'record has no content type (all padding)' };
    return { ok: true, type: inner[end - 1]!, plaintext: inner.subarray(0, end - 1) };
  }
}
