/**
 * Who did what to which sensor, and when: one JSON line on stderr for the
 * log pipeline, and, for every change and every delivered manifest, a row
 * in the audit_log table that outlives log rotation. Refused requests go to
 * stderr only, so an unauthenticated caller cannot grow the database.
 *
 * Never key material, never a token: details are short scalars, and a
 * value that looks like a PEM block or a download token is refused with an
 * exception (a bug to fix, not a line to write).
 */
import type { PortalDatabase } from './database.ts';
import { TOKEN_PREFIX } from './downloadTokens.ts';

export type AuditAction =
  | 'ca.created'
  | 'sensor.registered'
  | 'sensor.rotated'
  | 'sensor.revoked'
  | 'manifest.downloaded'
  | 'manifest.refused'
  | 'auth.refused';

/** Refusals are logged but not stored (see above). */
const STDERR_ONLY: ReadonlySet<AuditAction> = new Set(['manifest.refused', 'auth.refused']);

export type AuditDetail = Readonly<Record<string, string | number | boolean | readonly string[]>>;

export interface AuditEvent {
  /** `admin`, `download-token`, `anonymous` or `portal`. */
  readonly actor: 'admin' | 'download-token' | 'anonymous' | 'portal';
  readonly action: AuditAction;
  readonly sensorUuid?: string;
  /** The client's address. */
  readonly remote?: string;
  readonly detail?: AuditDetail;
}

export interface AuditRow extends AuditEvent {
  readonly id: number;
  readonly at: Date;
}

/** A value that must never reach a log: PEM, a download token, or anything long enough to be a secret blob. */
const SECRET_LIKE = new RegExp(`-----BEGIN|PRIVATE KEY|${TOKEN_PREFIX}[A-Za-z0-9_-]{8}`);
const MAX_VALUE_LENGTH = 256;

export class AuditLog {
  private readonly db: PortalDatabase;
  private readonly writeLine: (line: string) => void;
  private readonly now: () => Date;

  constructor(db: PortalDatabase, writeLine: (line: string) => void = (l) => process.stderr.write(`${l}\n`), now: () => Date = () => new Date()) {
    this.db = db;
    this.writeLine = writeLine;
    this.now = now;
  }

  record(event: AuditEvent): void {
    const detail = event.detail ?? {};
    for (const [key, value] of Object.entries(detail)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        if (typeof v === 'string' && (SECRET_LIKE.test(v) || v.length > MAX_VALUE_LENGTH)) {
          throw new Error(`audit: detail ${key} looks like key material or a token; audit entries never carry secrets`);
        }
      }
    }
    const at = this.now();
    if (!STDERR_ONLY.has(event.action)) {
      this.db.prepare('INSERT INTO audit_log (at, actor, action, sensor_uuid, remote, detail) VALUES (?, ?, ?, ?, ?, ?)').run(
        at.toISOString(), event.actor, event.action, event.sensorUuid ?? null, event.remote ?? null, JSON.stringify(detail));
    }
    this.writeLine(JSON.stringify({
      time: at.toISOString(), msg: 'audit', actor: event.actor, action: event.action,
      ...(event.sensorUuid ? { sensor: event.sensorUuid } : {}), ...(event.remote ? { remote: event.remote } : {}), ...detail,
    }));
  }

  /** Stored rows, oldest first (optionally for one sensor). */
  rows(sensorUuid?: string): AuditRow[] {
    const rows = (sensorUuid === undefined
      ? this.db.prepare('SELECT * FROM audit_log ORDER BY id').all()
      : this.db.prepare('SELECT * FROM audit_log WHERE sensor_uuid = ? ORDER BY id').all(sensorUuid)) as unknown as
      { id: number; at: string; actor: AuditEvent['actor']; action: AuditAction; sensor_uuid: string | null; remote: string | null; detail: string }[];
    return rows.map((r) => ({
      id: r.id, at: new Date(r.at), actor: r.actor, action: r.action,
      ...(r.sensor_uuid !== null ? { sensorUuid: r.sensor_uuid } : {}), ...(r.remote !== null ? { remote: r.remote } : {}),
      detail: JSON.parse(r.detail) as AuditDetail,
    }));
  }
}
