/**
 * The portal's SQLite storage, on a real file: schema, sensors and their
 * certificates, one-time tokens (hashed, single use, expiring, the key
 * sealed), and the audit log (no secrets).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditLog } from './auditLog.ts';
import { openPortalDatabase, nextCounter, SCHEMA_VERSION, type PortalDatabase } from './database.ts';
import { DownloadTokens, hashToken, TOKEN_PREFIX } from './downloadTokens.ts';
import { SensorRegistry, type CertificateRecord, type SensorRecord } from './sensorRegistry.ts';

const root = mkdtempSync(path.join(tmpdir(), 'hp-portal-db-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let file: string;
let db: PortalDatabase;
let n = 0;
beforeEach(() => {
  file = path.join(root, `db-${++n}`, 'portal.db');
  db = openPortalDatabase(file);
});
afterEach(() => db.close());

const T0 = new Date('2026-05-01T10:00:00Z');
const hours = (h: number) => new Date(T0.getTime() + h * 3_600_000);
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsecretsecretsecret\n-----END PRIVATE KEY-----\n';

function sensor(uuid: string, serial: string, overrides: Partial<SensorRecord> = {}): [SensorRecord, CertificateRecord] {
  const notAfter = hours(24 * 90);
  return [
    { uuid, tenant: 'acme', clusterName: 'prod-1', backends: { otlpEndpoint: 'otlp.example.com:4317', kafka: { brokers: ['k1:9093', 'k2:9093'], topic: 'spans' }, backendCaPem: 'CA PEM' },
      status: 'active', certSerial: serial, certNotAfter: notAfter, createdAt: T0, ...overrides },
    { serial, sensorUuid: uuid, certPem: `cert ${serial}`, notBefore: T0, notAfter, issuedAt: T0 },
  ];
}

/** Every value in every row of every table, as text: what someone who copies the database file gets. */
function everythingStored(): string {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
  return tables.flatMap((t) => db.prepare(`SELECT * FROM ${t}`).all().map((row) => Object.values(row as object).map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v))).join('|'))).join('\n');
}

describe('the database file', () => {
  it('is private to the portal (0600 in a 0700 directory) and has the current schema', () => {
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
  });

  it('refuses a file from a newer portal, saying what to do', () => {
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openPortalDatabase(file)).toThrow(/schema version 2, newer than this portal's 1: run the portal version that wrote it/);
    db = new DatabaseSync(':memory:');
  });

  it('counts CRL numbers upward, across reopenings', () => {
    expect([nextCounter(db, 'crl_number'), nextCounter(db, 'crl_number')]).toEqual([1, 2]);
    db.close();
    db = openPortalDatabase(file);
    expect(nextCounter(db, 'crl_number')).toBe(3);
  });
});

describe('sensors and certificates', () => {
  it('keep what was registered, and the current certificate after a rotation', () => {
    const registry = new SensorRegistry(db);
    const [s, c] = sensor('u-1', 'AA01');
    registry.addSensor(s, c);
    expect(registry.sensor('u-1')).toEqual(s);
    expect(registry.sensor('u-2')).toBeUndefined();
    const next: CertificateRecord = { ...c, serial: 'AA02', certPem: 'cert AA02', issuedAt: hours(1), notAfter: hours(1 + 24 * 90) };
    registry.addCertificate(next);
    registry.setCurrentCertificate('u-1', next, hours(1));
    expect(registry.sensor('u-1')).toMatchObject({ certSerial: 'AA02', certNotAfter: next.notAfter, rotatedAt: hours(1), status: 'active' });
    expect(registry.certificates('u-1').map((x) => x.serial)).toEqual(['AA01', 'AA02']);
  });

  it('revoke: the sensor and all its certificates; superseded: only the older ones; the CRL leaves out what expired', () => {
    const registry = new SensorRegistry(db);
    const [s1, c1] = sensor('u-1', 'AA01');
    const [s2, c2] = sensor('u-2', 'BB01');
    registry.addSensor(s1, c1);
    registry.addSensor(s2, c2);
    registry.addCertificate({ ...c1, serial: 'AA02', issuedAt: hours(1) });
    registry.addCertificate({ ...c2, serial: 'BB02', issuedAt: hours(1), notAfter: hours(2) });
    expect(registry.revokeSupersededCertificates('u-2', 'BB02', hours(1))).toEqual(['BB01']);
    expect(registry.sensor('u-2')!.status).toBe('active');
    expect(registry.revokeSensor('u-1', hours(3))).toEqual(['AA01', 'AA02']);
    expect(registry.revokeSensor('u-1', hours(4))).toEqual([]); // once
    expect(registry.sensor('u-1')).toMatchObject({ status: 'revoked', revokedAt: hours(3) });
    expect(registry.revokeSensor('u-2', hours(5))).toEqual(['BB02']);
    expect(registry.revokedCertificates(hours(6)).map((r) => [r.serial, r.reason])).toEqual([
      ['BB01', 'superseded'], ['AA01', 'cessationOfOperation'], ['AA02', 'cessationOfOperation'],
    ]); // BB02 expired at hours(2): not listed
    expect(registry.certificate('AA02')).toMatchObject({ revokedAt: hours(3), revocationReason: 'cessationOfOperation' });
  });
});

describe('one-time download tokens', () => {
  let tokens: DownloadTokens;
  beforeEach(() => {
    const [s, c] = sensor('u-1', 'AA01');
    const [s2, c2] = sensor('u-2', 'BB01');
    new SensorRegistry(db).addSensor(s, c);
    new SensorRegistry(db).addSensor(s2, c2);
    tokens = new DownloadTokens(db);
  });

  it('are 256 random bits, stored only as their SHA-256, with the key sealed: the file holds neither the token nor the key', () => {
    const { token, expiresAt } = tokens.mint('u-1', 'AA01', KEY_PEM, T0, 3_600_000);
    expect(token).toMatch(new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`));
    expect(expiresAt).toEqual(hours(1));
    const stored = everythingStored();
    expect(stored).toContain(hashToken(token));
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 16));
    expect(stored).not.toContain('PRIVATE KEY');
    expect(stored).not.toContain('secretsecretsecret');
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const onDisk = readFileSync(file).toString('latin1');
    expect(onDisk).toContain(hashToken(token)); // the search works on the file
    expect(onDisk).not.toContain(token);
    expect(onDisk).not.toContain('secretsecretsecret');
  });

  it('give the key once: the second use, another sensor\'s uuid or a made-up token get nothing', () => {
    const { token } = tokens.mint('u-1', 'AA01', KEY_PEM, T0, 3_600_000);
    expect(tokens.state('u-2', token, T0)).toBeUndefined();
    expect(tokens.redeem('u-2', token, T0)).toBeUndefined();
    expect(tokens.redeem('u-1', `${TOKEN_PREFIX}${'A'.repeat(43)}`, T0)).toBeUndefined();
    expect(tokens.state('u-1', token, T0)).toBe('pending');
    expect(tokens.redeem('u-1', token, T0)).toEqual({ serial: 'AA01', keyPem: KEY_PEM });
    expect(tokens.state('u-1', token, T0)).toBe('used');
    expect(tokens.redeem('u-1', token, T0)).toBeUndefined();
    expect((db.prepare('SELECT COUNT(*) AS n FROM download_tokens WHERE sealed_key IS NOT NULL').get() as { n: number }).n).toBe(0);
  });

  it('expire, and their keys are wiped when they do', () => {
    const { token } = tokens.mint('u-1', 'AA01', KEY_PEM, T0, 3_600_000);
    expect(tokens.state('u-1', token, hours(1))).toBe('expired');
    expect(tokens.redeem('u-1', token, hours(1))).toBeUndefined();
    expect(tokens.purgeExpired(hours(0.5))).toBe(0);
    expect(tokens.purgeExpired(hours(1))).toBe(1);
    expect(tokens.redeem('u-1', token, T0)).toBeUndefined(); // even with the clock turned back: the key is gone
  });

  it('are voided by a rotation or revocation', () => {
    const a = tokens.mint('u-1', 'AA01', KEY_PEM, T0, 3_600_000);
    const b = tokens.mint('u-2', 'BB01', KEY_PEM, T0, 3_600_000);
    expect(tokens.voidPending('u-1', T0)).toBe(1);
    expect(tokens.state('u-1', a.token, T0)).toBe('void');
    expect(tokens.redeem('u-1', a.token, T0)).toBeUndefined();
    expect(tokens.redeem('u-2', b.token, T0)?.serial).toBe('BB01');
  });

  it('seal each key to its row: a sealed key copied to another token\'s row does not open', () => {
    const a = tokens.mint('u-1', 'AA01', KEY_PEM, T0, 3_600_000);
    const b = tokens.mint('u-2', 'BB01', 'other key', T0, 3_600_000);
    db.prepare('UPDATE download_tokens SET sealed_key = (SELECT sealed_key FROM download_tokens WHERE token_hash = ?) WHERE token_hash = ?').run(hashToken(a.token), hashToken(b.token));
    expect(() => tokens.redeem('u-2', b.token, T0)).toThrow(/unable to authenticate|auth/i);
  });
});

describe('the audit log', () => {
  it('stores changes and downloads with who, what, when and from where, and writes each as a JSON line', () => {
    const lines: string[] = [];
    const audit = new AuditLog(db, (l) => lines.push(l), () => T0);
    const [s, c] = sensor('u-1', 'AA01');
    new SensorRegistry(db).addSensor(s, c);
    audit.record({ actor: 'admin', action: 'sensor.registered', sensorUuid: 'u-1', remote: '10.0.0.7', detail: { serial: 'AA01', kafkaBrokers: ['k1:9093'] } });
    audit.record({ actor: 'anonymous', action: 'auth.refused', remote: '10.0.0.8', detail: { route: 'POST /api/v1/sensors', reason: 'wrong admin token' } });
    expect(audit.rows()).toEqual([{ id: 1, at: T0, actor: 'admin', action: 'sensor.registered', sensorUuid: 'u-1', remote: '10.0.0.7', detail: { serial: 'AA01', kafkaBrokers: ['k1:9093'] } }]);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { time: T0.toISOString(), msg: 'audit', actor: 'admin', action: 'sensor.registered', sensor: 'u-1', remote: '10.0.0.7', serial: 'AA01', kafkaBrokers: ['k1:9093'] },
      { time: T0.toISOString(), msg: 'audit', actor: 'anonymous', action: 'auth.refused', remote: '10.0.0.8', route: 'POST /api/v1/sensors', reason: 'wrong admin token' },
    ]);
  });

  it.each([
    ['a PEM block', KEY_PEM],
    ['a download token', `${TOKEN_PREFIX}abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`],
    ['a long blob', 'x'.repeat(300)],
  ])('refuses an entry carrying %s, and writes nothing', (_name, value) => {
    const lines: string[] = [];
    const audit = new AuditLog(db, (l) => lines.push(l));
    expect(() => audit.record({ actor: 'admin', action: 'sensor.rotated', detail: { note: value } })).toThrow(/never carry secrets/);
    expect(() => audit.record({ actor: 'admin', action: 'sensor.rotated', detail: { list: ['ok', value] } })).toThrow(/never carry secrets/);
    expect(lines).toEqual([]);
    expect(audit.rows()).toEqual([]);
  });
});
