/**
 * The portal's storage: one SQLite file (node:sqlite, built into Node 24),
 * its schema, and the one transaction helper. Nothing secret is stored in
 * the clear: download tokens as SHA-256 hashes, a sensor's private key only
 * sealed with its download token until that token is used (downloadTokens.ts).
 */
import { DatabaseSync } from 'node:sqlite';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export type PortalDatabase = DatabaseSync;

/** Bumped with every schema change; openPortalDatabase refuses a newer file than it knows. */
export const SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE sensors (
  uuid            TEXT PRIMARY KEY,
  tenant          TEXT NOT NULL,
  cluster_name    TEXT NOT NULL,
  otlp_endpoint   TEXT,
  kafka_brokers   TEXT,            -- JSON array of host:port
  kafka_topic     TEXT,
  backend_ca_pem  TEXT,            -- public: the CA the sensor trusts for its backends
  status          TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  cert_serial     TEXT NOT NULL,   -- the current certificate
  cert_not_after  TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  rotated_at      TEXT,
  revoked_at      TEXT
) STRICT;

CREATE TABLE certificates (
  serial          TEXT PRIMARY KEY,
  sensor_uuid     TEXT NOT NULL REFERENCES sensors(uuid),
  cert_pem        TEXT NOT NULL,
  not_before      TEXT NOT NULL,
  not_after       TEXT NOT NULL,
  issued_at       TEXT NOT NULL,
  revoked_at      TEXT,
  revocation_reason TEXT CHECK (revocation_reason IN ('cessationOfOperation', 'superseded'))
) STRICT;
CREATE INDEX certificates_by_sensor ON certificates(sensor_uuid);

CREATE TABLE download_tokens (
  token_hash      TEXT PRIMARY KEY, -- hex SHA-256 of the token; the token itself is never stored
  sensor_uuid     TEXT NOT NULL REFERENCES sensors(uuid),
  serial          TEXT NOT NULL REFERENCES certificates(serial),
  sealed_key      BLOB,            -- the sensor's key, AES-256-GCM under a key derived from the token; NULL once used or void
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  used_at         TEXT,
  voided_at       TEXT             -- a rotation or revocation made it worthless
) STRICT;
CREATE INDEX download_tokens_by_sensor ON download_tokens(sensor_uuid);

CREATE TABLE audit_log (
  id              INTEGER PRIMARY KEY,
  at              TEXT NOT NULL,
  actor           TEXT NOT NULL,
  action          TEXT NOT NULL,
  sensor_uuid     TEXT,
  remote          TEXT,
  detail          TEXT NOT NULL    -- JSON object
) STRICT;

CREATE TABLE meta (
  key             TEXT PRIMARY KEY,
  value           TEXT NOT NULL
) STRICT;
`;

/**
 * Opens (creating when absent) the database file and brings its schema to
 * SCHEMA_VERSION. The file and its directory are private to the portal's
 * user: they hold the audit trail and the sealed keys of pending downloads.
 */
export function openPortalDatabase(file: string): PortalDatabase {
  if (file !== ':memory:') {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }
  const fresh = file === ':memory:' || !existsSync(file);
  const db = new DatabaseSync(file, { enableForeignKeyConstraints: true, timeout: 5_000 });
  try {
    if (file !== ':memory:') {
      if (fresh) chmodSync(file, 0o600);
      // Several readers and one writer at a time, and a crash never leaves half a transaction.
      db.exec('PRAGMA journal_mode = WAL');
    }
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${file}: the portal database has schema version ${version}, newer than this portal's ${SCHEMA_VERSION}: run the portal version that wrote it, or a newer one`);
    }
    if (version < 1) {
      inTransaction(db, () => {
        db.exec(SCHEMA_V1);
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      });
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Runs `work` in one IMMEDIATE transaction (the write lock taken at the start): all of it or none. */
export function inTransaction<T>(db: PortalDatabase, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** The next value of a counter kept in `meta` (the CRL number). */
export function nextCounter(db: PortalDatabase, key: string): number {
  const row = db.prepare(`INSERT INTO meta (key, value) VALUES (?, '1')
    ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value`).get(key) as { value: string };
  return Number(row.value);
}
