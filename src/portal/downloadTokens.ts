/**
 * One-time download tokens: a random 256-bit secret per manifest, handed to
 * the admin once and stored only as its SHA-256 (a token this random needs
 * no slow hash: there is nothing to guess). The sensor's private key waits
 * for its download sealed with AES-256-GCM under a key derived from the
 * token itself, so the database never holds a usable key: whoever reads it
 * without the token learns neither. Redeeming marks the token used and
 * wipes the sealed key with one conditional UPDATE, so of two racing
 * downloads only one succeeds.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { PortalDatabase } from './database.ts';

/** Recognizable in a leaked log or shell history, and by secret scanners. */
export const TOKEN_PREFIX = 'hpd_';
const TOKEN_PATTERN = /^hpd_[A-Za-z0-9_-]{43}$/;
const SEAL_INFO = 'hydrophone-portal sealed sensor key v1';

export type TokenState = 'pending' | 'used' | 'expired' | 'void';

export interface MintedToken {
  /** The secret: give it to the admin once, never store or log it. */
  readonly token: string;
  readonly expiresAt: Date;
}

export interface RedeemedToken {
  readonly serial: string;
  /** PKCS#8 PEM of the sensor's key. */
  readonly keyPem: string;
}

export class DownloadTokens {
  private readonly db: PortalDatabase;

  constructor(db: PortalDatabase) {
    this.db = db;
  }

  /** A token for the manifest of sensor `uuid` with certificate `serial` and its key. */
  mint(uuid: string, serial: string, keyPem: string, now: Date, ttlMs: number): MintedToken {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + ttlMs);
    this.db.prepare(`INSERT INTO download_tokens (token_hash, sensor_uuid, serial, sealed_key, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?)`).run(hashToken(token), uuid, serial, seal(token, uuid, serial, keyPem), now.toISOString(), expiresAt.toISOString());
    return { token, expiresAt };
  }

  /**
   * What `token` is for sensor `uuid`: undefined when it was never issued
   * for that sensor (a wrong token and a wrong uuid look the same).
   */
  state(uuid: string, token: string, now: Date): TokenState | undefined {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const row = this.db.prepare('SELECT sensor_uuid, expires_at, used_at, voided_at FROM download_tokens WHERE token_hash = ?').get(hashToken(token)) as
      { sensor_uuid: string; expires_at: string; used_at: string | null; voided_at: string | null } | undefined;
    if (!row || row.sensor_uuid !== uuid) return undefined;
    if (row.used_at !== null) return 'used';
    if (row.voided_at !== null) return 'void';
    if (new Date(row.expires_at) <= now) return 'expired';
    return 'pending';
  }

  /**
   * Uses the token: returns the serial and the unsealed key, or undefined
   * when the token is not pending for `uuid` (never issued, used, void or
   * expired). Once this returns, the key exists nowhere in the portal.
   */
  redeem(uuid: string, token: string, now: Date): RedeemedToken | undefined {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const hash = hashToken(token);
    const at = now.toISOString();
    const row = this.db.prepare(`SELECT serial, sealed_key FROM download_tokens
      WHERE token_hash = ? AND sensor_uuid = ? AND used_at IS NULL AND voided_at IS NULL AND expires_at > ? AND sealed_key IS NOT NULL`)
      .get(hash, uuid, at) as { serial: string; sealed_key: Uint8Array } | undefined;
    if (!row) return undefined;
    // The same conditions again: of two requests that both read the row, only one changes it.
    const used = this.db.prepare(`UPDATE download_tokens SET used_at = ?, sealed_key = NULL
      WHERE token_hash = ? AND used_at IS NULL AND voided_at IS NULL AND sealed_key IS NOT NULL`).run(at, hash);
    if (Number(used.changes) !== 1) return undefined;
    return { serial: row.serial, keyPem: unseal(token, uuid, row.serial, Buffer.from(row.sealed_key)) };
  }

  /** Voids the sensor's pending tokens (a rotation or revocation makes them worthless) and wipes their keys; returns how many. */
  voidPending(uuid: string, now: Date): number {
    return Number(this.db.prepare(`UPDATE download_tokens SET voided_at = ?, sealed_key = NULL
      WHERE sensor_uuid = ? AND used_at IS NULL AND voided_at IS NULL`).run(now.toISOString(), uuid).changes);
  }

  /** Wipes the sealed keys of expired tokens: a key nobody can download any more has no reason to stay. */
  purgeExpired(now: Date): number {
    return Number(this.db.prepare('UPDATE download_tokens SET sealed_key = NULL WHERE sealed_key IS NOT NULL AND expires_at <= ?').run(now.toISOString()).changes);
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function sealingKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), Buffer.alloc(0), SEAL_INFO, 32));
}

/** iv (12) | tag (16) | ciphertext; the uuid and serial are authenticated, so a sealed key cannot be moved to another row. */
function seal(token: string, uuid: string, serial: string, keyPem: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(token), iv);
  cipher.setAAD(Buffer.from(`${uuid}\n${serial}`, 'utf8'));
  const body = Buffer.concat([cipher.update(keyPem, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function unseal(token: string, uuid: string, serial: string, sealed: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(token), sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(`${uuid}\n${serial}`, 'utf8'));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
}
