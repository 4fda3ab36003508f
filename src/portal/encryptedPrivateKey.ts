/**
 * A private key as an encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE
 * KEY-----`, RFC 5958 EncryptedPrivateKeyInfo with PBES2, RFC 8018):
 * PBKDF2-HMAC-SHA256 and AES-256-CBC, the form `openssl pkey` and Node
 * read with the passphrase.
 *
 * Written here rather than with KeyObject.export({ cipher, passphrase })
 * because that derives the key with 2,048 PBKDF2 iterations (OpenSSL's
 * default), cheap to guess against offline; the portal's CA key is the key
 * to every sensor's identity, so it gets OWASP's 600,000. Reading goes
 * through Node (OpenSSL), so what is written here is checked by an
 * independent implementation every time it is opened.
 */
import { createCipheriv, createPrivateKey, pbkdf2Sync, randomBytes, type KeyObject } from 'node:crypto';

/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
export const PBKDF2_ITERATIONS = 600_000;

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/** The key, encrypted under the passphrase, as PEM. */
export function encryptPrivateKeyPem(key: KeyObject, passphrase: string, iterations: number = PBKDF2_ITERATIONS): string {
  if (key.type !== 'private') throw new Error('encryptPrivateKeyPem: not a private key');
  if (passphrase.length === 0) throw new Error('encryptPrivateKeyPem: the passphrase is empty');
  const plain = key.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const aesKey = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  aesKey.fill(0);
  const der = sequence(
    sequence(
      objectId(OID.pbes2),
      sequence(
        sequence(objectId(OID.pbkdf2), sequence(octetString(salt), integer(iterations), sequence(objectId(OID.hmacWithSha256), NULL))),
        sequence(objectId(OID.aes256Cbc), octetString(iv)),
      ),
    ),
    octetString(encrypted),
  );
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body}-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** Thrown when the passphrase does not open the key (or the file is not an encrypted key). */
export class KeyDecryptionError extends Error {}

/**
 * Opens an encrypted PKCS#8 PEM. A plain (unencrypted) key is refused: the
 * file is meant to be encrypted at rest, and a plain one means someone
 * replaced it.
 */
export function decryptPrivateKeyPem(pem: string, passphrase: string): KeyObject {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new KeyDecryptionError('not an encrypted PKCS#8 key (no BEGIN ENCRYPTED PRIVATE KEY)');
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    throw new KeyDecryptionError(`the passphrase does not open it (${(err as Error).message})`);
  }
}

// ---- DER, just the five types EncryptedPrivateKeyInfo needs ----

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const octetString = (b: Buffer) => tlv(0x04, b);
const NULL = Buffer.from([0x05, 0x00]);

function integer(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`DER integer: ${n} is not a non-negative safe integer`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0); // positive: no sign bit
  return tlv(0x02, Buffer.from(bytes));
}

function objectId(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      base128.unshift((v & 0x7f) | (base128.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}
