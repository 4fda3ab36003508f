/**
 * Sensors and their certificates in the portal database: what was
 * registered, which certificate is current, which are revoked. Rows in,
 * typed records out; no policy (portalService.ts decides).
 */
import type { PortalDatabase } from './database.ts';
import type { RevokedCertificate } from './revocationList.ts';

/** Where a sensor sends its spans. */
export interface BackendEndpoints {
  /** host:port or https://host:port of an OTLP/gRPC receiver. */
  readonly otlpEndpoint?: string;
  readonly kafka?: { readonly brokers: readonly string[]; readonly topic: string };
  /** PEM bundle that signs the backends' server certificates; absent: the system's CAs. */
  readonly backendCaPem?: string;
}

export type SensorStatus = 'active' | 'revoked';

export interface SensorRecord {
  readonly uuid: string;
  readonly tenant: string;
  readonly clusterName: string;
  readonly backends: BackendEndpoints;
  readonly status: SensorStatus;
  /** The current certificate: the one the latest manifest carries. */
  readonly certSerial: string;
  readonly certNotAfter: Date;
  readonly createdAt: Date;
  readonly rotatedAt?: Date;
  readonly revokedAt?: Date;
}

export interface CertificateRecord {
  readonly serial: string;
  readonly sensorUuid: string;
  readonly certPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly issuedAt: Date;
  readonly revokedAt?: Date;
  readonly revocationReason?: RevokedCertificate['reason'];
}

interface SensorRow {
  uuid: string; tenant: string; cluster_name: string; otlp_endpoint: string | null; kafka_brokers: string | null; kafka_topic: string | null;
  backend_ca_pem: string | null; status: string; cert_serial: string; cert_not_after: string; created_at: string; rotated_at: string | null; revoked_at: string | null;
}

interface CertificateRow {
  serial: string; sensor_uuid: string; cert_pem: string; not_before: string; not_after: string; issued_at: string; revoked_at: string | null; revocation_reason: string | null;
}

export class SensorRegistry {
  private readonly db: PortalDatabase;

  constructor(db: PortalDatabase) {
    this.db = db;
  }

  /** A new sensor with its first certificate. Call inside a transaction with the token it comes with. */
  addSensor(sensor: SensorRecord, certificate: CertificateRecord): void {
    const b = sensor.backends;
    this.db.prepare(`INSERT INTO sensors (uuid, tenant, cluster_name, otlp_endpoint, kafka_brokers, kafka_topic, backend_ca_pem, status,
        cert_serial, cert_not_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      sensor.uuid, sensor.tenant, sensor.clusterName, b.otlpEndpoint ?? null, b.kafka ? JSON.stringify(b.kafka.brokers) : null, b.kafka?.topic ?? null,
      b.backendCaPem ?? null, sensor.status, sensor.certSerial, sensor.certNotAfter.toISOString(), sensor.createdAt.toISOString());
    this.addCertificate(certificate);
  }

  addCertificate(c: CertificateRecord): void {
    this.db.prepare(`INSERT INTO certificates (serial, sensor_uuid, cert_pem, not_before, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?)`).run(
      c.serial, c.sensorUuid, c.certPem, c.notBefore.toISOString(), c.notAfter.toISOString(), c.issuedAt.toISOString());
  }

  /** Makes `c` (already added) the sensor's current certificate. */
  setCurrentCertificate(uuid: string, c: CertificateRecord, rotatedAt: Date): void {
    this.db.prepare('UPDATE sensors SET cert_serial = ?, cert_not_after = ?, rotated_at = ? WHERE uuid = ?').run(
      c.serial, c.notAfter.toISOString(), rotatedAt.toISOString(), uuid);
  }

  sensor(uuid: string): SensorRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sensors WHERE uuid = ?').get(uuid) as SensorRow | undefined;
    return row ? toSensor(row) : undefined;
  }

  certificate(serial: string): CertificateRecord | undefined {
    const row = this.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(serial) as CertificateRow | undefined;
    return row ? toCertificate(row) : undefined;
  }

  /** A sensor's certificates, oldest first. */
  certificates(uuid: string): CertificateRecord[] {
    return (this.db.prepare('SELECT * FROM certificates WHERE sensor_uuid = ? ORDER BY issued_at, rowid').all(uuid) as unknown as CertificateRow[]).map(toCertificate);
  }

  /** Marks the sensor revoked and every one of its certificates not yet revoked; returns the serials revoked now. */
  revokeSensor(uuid: string, at: Date): string[] {
    this.db.prepare(`UPDATE sensors SET status = 'revoked', revoked_at = ? WHERE uuid = ? AND status = 'active'`).run(at.toISOString(), uuid);
    const rows = this.db.prepare(`UPDATE certificates SET revoked_at = ?, revocation_reason = 'cessationOfOperation'
      WHERE sensor_uuid = ? AND revoked_at IS NULL RETURNING serial`).all(at.toISOString(), uuid) as unknown as { serial: string }[];
    return rows.map((r) => r.serial).sort();
  }

  /** Revokes the sensor's certificates other than `keep` (after a rotation); returns the serials revoked now. */
  revokeSupersededCertificates(uuid: string, keep: string, at: Date): string[] {
    const rows = this.db.prepare(`UPDATE certificates SET revoked_at = ?, revocation_reason = 'superseded'
      WHERE sensor_uuid = ? AND serial <> ? AND revoked_at IS NULL RETURNING serial`).all(at.toISOString(), uuid, keep) as unknown as { serial: string }[];
    return rows.map((r) => r.serial).sort();
  }

  /**
   * Every revoked certificate still within its validity at `now`. An
   * expired certificate is refused by every verifier anyway; leaving it out
   * keeps the list from growing forever (RFC 5280 allows it).
   */
  revokedCertificates(now: Date): RevokedCertificate[] {
    const rows = this.db.prepare(`SELECT serial, revoked_at, revocation_reason FROM certificates
      WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY revoked_at, serial`).all(now.toISOString()) as unknown as
      { serial: string; revoked_at: string; revocation_reason: string }[];
    return rows.map((r) => ({ serial: r.serial, revokedAt: new Date(r.revoked_at), reason: r.revocation_reason === 'superseded' ? 'superseded' : 'cessationOfOperation' }));
  }
}

function toSensor(r: SensorRow): SensorRecord {
  const backends: BackendEndpoints = {
    ...(r.otlp_endpoint !== null ? { otlpEndpoint: r.otlp_endpoint } : {}),
    ...(r.kafka_brokers !== null ? { kafka: { brokers: JSON.parse(r.kafka_brokers) as string[], topic: r.kafka_topic ?? '' } } : {}),
    ...(r.backend_ca_pem !== null ? { backendCaPem: r.backend_ca_pem } : {}),
  };
  return {
    uuid: r.uuid,
    tenant: r.tenant,
    clusterName: r.cluster_name,
    backends,
    status: r.status === 'revoked' ? 'revoked' : 'active',
    certSerial: r.cert_serial,
    certNotAfter: new Date(r.cert_not_after),
    createdAt: new Date(r.created_at),
    ...(r.rotated_at !== null ? { rotatedAt: new Date(r.rotated_at) } : {}),
    ...(r.revoked_at !== null ? { revokedAt: new Date(r.revoked_at) } : {}),
  };
}

function toCertificate(r: CertificateRow): CertificateRecord {
  return {
    serial: r.serial,
    sensorUuid: r.sensor_uuid,
    certPem: r.cert_pem,
    notBefore: new Date(r.not_before),
    notAfter: new Date(r.not_after),
    issuedAt: new Date(r.issued_at),
    ...(r.revoked_at !== null ? { revokedAt: new Date(r.revoked_at) } : {}),
    ...(r.revocation_reason !== null ? { revocationReason: r.revocation_reason === 'superseded' ? 'superseded' as const : 'cessationOfOperation' as const } : {}),
  };
}
