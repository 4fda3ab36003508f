import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decryptPrivateKeyPem, encryptPrivateKeyPem, KeyDecryptionError, PBKDF2_ITERATIONS } from './encryptedPrivateKey.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-pkcs8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const plainDer = privateKey.export({ type: 'pkcs8', format: 'der' });
const pem = encryptPrivateKeyPem(privateKey, 'correct horse battery');

describe('encrypted PKCS#8', () => {
  it('is an ENCRYPTED PRIVATE KEY that holds no part of the plain key', () => {
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END ENCRYPTED PRIVATE KEY-----\n$/);
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\n/g, ''), 'base64');
    // The private scalar appears nowhere in the file.
    const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    expect(scalar).toHaveLength(32);
    expect(plainDer.includes(scalar)).toBe(true); // the search can find it where it is
    expect(der.includes(scalar)).toBe(false);
  });

  it('opens with the passphrase, to the same key', () => {
    const back = decryptPrivateKeyPem(pem, 'correct horse battery');
    expect(back.export({ type: 'pkcs8', format: 'der' }).equals(plainDer)).toBe(true);
  });

  it('does not open without it, nor with another', () => {
    expect(() => createPrivateKey(pem)).toThrow();
    expect(() => decryptPrivateKeyPem(pem, 'correct horse battery!')).toThrow(KeyDecryptionError);
    expect(() => decryptPrivateKeyPem(pem, 'correct horse battery!')).toThrow(/the passphrase does not open it/);
  });

  it('refuses a plain key where an encrypted one belongs', () => {
    const plain = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => decryptPrivateKeyPem(plain, 'correct horse battery')).toThrow(/not an encrypted PKCS#8 key/);
  });

  it('is PBES2 with PBKDF2-HMAC-SHA256 (600,000 iterations) and AES-256-CBC, as OpenSSL reads it', () => {
    const file = path.join(dir, 'key.pem');
    writeFileSync(file, pem);
    const asn1 = execFileSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' });
    expect(asn1).toMatch(/OBJECT\s+:PBES2/);
    expect(asn1).toMatch(/OBJECT\s+:PBKDF2/);
    expect(asn1).toMatch(/OBJECT\s+:hmacWithSHA256/);
    expect(asn1).toMatch(/OBJECT\s+:aes-256-cbc/);
    expect(PBKDF2_ITERATIONS).toBe(600_000);
    expect(asn1).toMatch(/INTEGER\s+:0927C0\n/); // 600000
    // OpenSSL, an implementation independent of ours, decrypts it to the same key.
    const decrypted = execFileSync('openssl', ['pkey', '-in', file, '-passin', 'pass:correct horse battery'], { encoding: 'utf8' });
    expect(decrypted).toContain('-----BEGIN PRIVATE KEY-----');
    expect(createPrivateKey(decrypted).export({ type: 'pkcs8', format: 'der' }).equals(plainDer)).toBe(true);
    expect(() => execFileSync('openssl', ['pkey', '-in', file, '-passin', 'pass:wrong', '-noout'], { stdio: 'pipe' })).toThrow();
  });
});
