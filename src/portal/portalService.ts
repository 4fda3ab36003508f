/**
 * What the portal does, without HTTP: register a sensor, rotate and revoke
 * its certificate, hand out its manifest once per token, sign the CRL.
 * Each change happens in one database transaction and is audit-logged;
 * results are values (httpApi.ts maps them to status codes).
 */
import { randomUUID } from 'node:crypto';
import type { KubeManifest } from '../deploy/renderManifests.ts';
import type { AuditLog } from './auditLog.ts';
import { inTransaction, nextCounter, type PortalDatabase } from './database.ts';
import { DownloadTokens } from './downloadTokens.ts';
import type { PortalCa } from './portalCa.ts';
import { checkRegistration, checkRotation, type Checked } from './registrationRequest.ts';
import { signRevocationList, type RevocationList } from './revocationList.ts';
import { issueSensorCertificate, type IssuedCertificate } from './sensorCertificate.ts';
import { sensorManifestYaml } from './sensorManifest.ts';
import { SensorRegistry, type BackendEndpoints, type CertificateRecord, type SensorRecord } from './sensorRegistry.ts';

export interface PortalServiceOptions {
  readonly db: PortalDatabase;
  readonly ca: PortalCa;
  /** renderManifests(deploy/base), rendered once at start. */
  readonly base: readonly KubeManifest[];
  readonly audit: AuditLog;
  /** Validity of each sensor certificate. */
  readonly certValidityDays: number;
  /** How long a download token stays usable. */
  readonly tokenTtlMs: number;
  /** https://host:port the operators reach the portal at; manifest URLs start with it. */
  readonly publicUrl: string;
  /** The CRL's URL written into every certificate issued (its distribution point), if the CRL is published. */
  readonly crlUrl?: string;
  /** Backends for registrations that name none. */
  readonly defaults: BackendEndpoints;
  readonly now?: () => Date;
}

/** Who asks: their address, for the audit log. */
export interface RequestContext {
  readonly remote?: string;
}

/** What the admin gets back from a registration or rotation. The token is shown here once and never again. */
export interface ManifestAccess {
  readonly uuid: string;
  readonly downloadToken: string;
  readonly tokenExpiresAt: string;
  /** Without the token: add `?token=...` or send it as a bearer token. */
  readonly manifestUrl: string;
  readonly certificate: { readonly serial: string; readonly notAfter: string };
}

export interface RotationResult extends ManifestAccess {
  /** The sensor's earlier certificates: still accepted by the backends until they expire, unless revoked. */
  readonly previousCertificates: readonly { readonly serial: string; readonly notAfter: string; readonly revoked: boolean }[];
}

export interface RevocationResult {
  readonly uuid: string;
  readonly status: 'revoked';
  readonly revokedAt: string;
  /** Every serial of the sensor now in the CRL. */
  readonly revokedSerials: readonly string[];
}

export interface SensorView {
  readonly uuid: string;
  readonly tenant: string;
  readonly clusterName: string;
  readonly status: SensorRecord['status'];
  readonly backends: { readonly otlpEndpoint?: string; readonly kafka?: { readonly brokers: readonly string[]; readonly topic: string }; readonly backendCa: boolean };
  readonly createdAt: string;
  readonly rotatedAt?: string;
  readonly revokedAt?: string;
  readonly certificate: { readonly serial: string; readonly notAfter: string };
  readonly certificates: readonly { readonly serial: string; readonly notBefore: string; readonly notAfter: string; readonly revokedAt?: string }[];
}

export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'invalid'; readonly error: string }
  | { readonly kind: 'not-found' }
  /** The sensor is revoked: nothing more is issued for it. */
  | { readonly kind: 'revoked' };

export type DownloadOutcome =
  | { readonly kind: 'manifest'; readonly yaml: string; readonly serial: string }
  /** No such token for this sensor, or used, expired or void: 403, whatever the reason. */
  | { readonly kind: 'forbidden' }
  /** A token that was issued for this sensor, which is revoked since: 410. */
  | { readonly kind: 'gone' };

/** A signed CRL is reused for this long when nothing was revoked in between. */
const CRL_REUSE_MS = 3_600_000;

export class PortalService {
  private readonly o: PortalServiceOptions;
  private readonly registry: SensorRegistry;
  private readonly tokens: DownloadTokens;
  private readonly now: () => Date;
  private crl: { list: RevocationList; key: string } | undefined;

  constructor(options: PortalServiceOptions) {
    this.o = options;
    this.registry = new SensorRegistry(options.db);
    this.tokens = new DownloadTokens(options.db);
    this.now = options.now ?? (() => new Date());
  }

  async register(body: unknown, ctx: RequestContext): Promise<Checked<ManifestAccess>> {
    const checked = checkRegistration(body, this.o.defaults);
    if (!checked.ok) return checked;
    const r = checked.value;
    const uuid = randomUUID();
    const now = this.now();
    const issued = await issueSensorCertificate(this.o.ca, { uuid, tenant: r.tenant, validityDays: this.o.certValidityDays, ...(this.o.crlUrl !== undefined ? { crlUrl: this.o.crlUrl } : {}), now });
    const sensor: SensorRecord = {
      uuid, tenant: r.tenant, clusterName: r.clusterName, backends: r.backends, status: 'active',
      certSerial: issued.serial, certNotAfter: issued.notAfter, createdAt: now,
    };
    // The audit row is part of the transaction: a change that cannot be audited does not happen.
    const minted = inTransaction(this.o.db, () => {
      this.tokens.purgeExpired(now);
      this.registry.addSensor(sensor, certificateRecord(uuid, issued, now));
      const token = this.tokens.mint(uuid, issued.serial, issued.keyPem, now, this.o.tokenTtlMs);
      this.o.audit.record({
        actor: 'admin', action: 'sensor.registered', sensorUuid: uuid, ...remote(ctx),
        detail: {
          tenant: r.tenant, clusterName: r.clusterName, serial: issued.serial, notAfter: issued.notAfter.toISOString(),
          tokenExpiresAt: token.expiresAt.toISOString(), ...backendDetail(r.backends),
        },
      });
      return token;
    });
    return { ok: true, value: this.access(uuid, issued, minted) };
  }

  async rotate(uuid: string, body: unknown, ctx: RequestContext): Promise<Outcome<RotationResult>> {
    const options = checkRotation(body);
    if (!options.ok) return { kind: 'invalid', error: options.error };
    const sensor = this.registry.sensor(uuid);
    if (!sensor) return { kind: 'not-found' };
    if (sensor.status === 'revoked') return { kind: 'revoked' };
    const now = this.now();
    const issued = await issueSensorCertificate(this.o.ca, { uuid, tenant: sensor.tenant, validityDays: this.o.certValidityDays, ...(this.o.crlUrl !== undefined ? { crlUrl: this.o.crlUrl } : {}), now });
    const done = inTransaction(this.o.db, () => {
      // Checked again inside the transaction: a revocation may have come in during the signing.
      if (this.registry.sensor(uuid)?.status !== 'active') return undefined;
      const record = certificateRecord(uuid, issued, now);
      this.registry.addCertificate(record);
      this.registry.setCurrentCertificate(uuid, record, now);
      const voidedTokens = this.tokens.voidPending(uuid, now);
      const revokedSerials = options.value.revokePrevious ? this.registry.revokeSupersededCertificates(uuid, issued.serial, now) : [];
      const minted = this.tokens.mint(uuid, issued.serial, issued.keyPem, now, this.o.tokenTtlMs);
      const previous = this.registry.certificates(uuid).filter((c) => c.serial !== issued.serial);
      this.o.audit.record({
        actor: 'admin', action: 'sensor.rotated', sensorUuid: uuid, ...remote(ctx),
        detail: {
          serial: issued.serial, previousSerial: sensor.certSerial, notAfter: issued.notAfter.toISOString(),
          revokedSerials, voidedTokens, tokenExpiresAt: minted.expiresAt.toISOString(),
        },
      });
      return { minted, revokedSerials, previous };
    });
    if (!done) return { kind: 'revoked' };
    if (done.revokedSerials.length) this.crl = undefined;
    return {
      kind: 'ok',
      value: {
        ...this.access(uuid, issued, done.minted),
        previousCertificates: done.previous.map((c) => ({ serial: c.serial, notAfter: c.notAfter.toISOString(), revoked: c.revokedAt !== undefined })),
      },
    };
  }

  revoke(uuid: string, ctx: RequestContext): Outcome<RevocationResult> {
    const now = this.now();
    const done = inTransaction(this.o.db, () => {
      const sensor = this.registry.sensor(uuid);
      if (!sensor) return undefined;
      const revokedNow = this.registry.revokeSensor(uuid, now);
      const voidedTokens = this.tokens.voidPending(uuid, now);
      if (revokedNow.length) {
        this.o.audit.record({ actor: 'admin', action: 'sensor.revoked', sensorUuid: uuid, ...remote(ctx), detail: { revokedSerials: revokedNow, voidedTokens } });
      }
      return { revokedNow, sensor: this.registry.sensor(uuid)!, all: this.registry.certificates(uuid) };
    });
    if (!done) return { kind: 'not-found' };
    if (done.revokedNow.length) this.crl = undefined;
    return {
      kind: 'ok',
      value: {
        uuid,
        status: 'revoked',
        revokedAt: (done.sensor.revokedAt ?? now).toISOString(),
        revokedSerials: done.all.filter((c) => c.revokedAt !== undefined).map((c) => c.serial).sort(),
      },
    };
  }

  describe(uuid: string): SensorView | undefined {
    const s = this.registry.sensor(uuid);
    if (!s) return undefined;
    return {
      uuid: s.uuid,
      tenant: s.tenant,
      clusterName: s.clusterName,
      status: s.status,
      backends: {
        ...(s.backends.otlpEndpoint ? { otlpEndpoint: s.backends.otlpEndpoint } : {}),
        ...(s.backends.kafka ? { kafka: s.backends.kafka } : {}),
        backendCa: s.backends.backendCaPem !== undefined,
      },
      createdAt: s.createdAt.toISOString(),
      ...(s.rotatedAt ? { rotatedAt: s.rotatedAt.toISOString() } : {}),
      ...(s.revokedAt ? { revokedAt: s.revokedAt.toISOString() } : {}),
      certificate: { serial: s.certSerial, notAfter: s.certNotAfter.toISOString() },
      certificates: this.registry.certificates(uuid).map((c) => ({
        serial: c.serial, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(),
        ...(c.revokedAt ? { revokedAt: c.revokedAt.toISOString() } : {}),
      })),
    };
  }

  /**
   * The manifest for `uuid`, once per token. Anything but a pending token
   * issued for this very sensor is 'forbidden', with no hint whether the
   * sensor exists; 'gone' only to the holder of a real token of a sensor
   * revoked since.
   */
  download(uuid: string, token: string, ctx: RequestContext): DownloadOutcome {
    const now = this.now();
    const state = this.tokens.state(uuid, token, now);
    const refuse = (reason: string, outcome: DownloadOutcome): DownloadOutcome => {
      this.o.audit.record({ actor: 'download-token', action: 'manifest.refused', ...(state !== undefined ? { sensorUuid: uuid } : {}), ...remote(ctx), detail: { reason } });
      return outcome;
    };
    if (state === undefined) return refuse('no such token for this sensor', { kind: 'forbidden' });
    const sensor = this.registry.sensor(uuid);
    if (!sensor || sensor.status === 'revoked') return refuse('sensor revoked', { kind: 'gone' });
    if (state !== 'pending') return refuse(`token ${state}`, { kind: 'forbidden' });
    // Redeeming, writing the manifest and the audit row commit together:
    // if any fails, the token stays unused and the admin's link still works.
    const delivered = inTransaction(this.o.db, () => {
      this.tokens.purgeExpired(now);
      const redeemed = this.tokens.redeem(uuid, token, now);
      if (!redeemed) return undefined;
      const certificate = this.registry.certificate(redeemed.serial)!;
      const yaml = sensorManifestYaml({
        base: this.o.base, sensor, certPem: certificate.certPem, keyPem: redeemed.keyPem, serial: certificate.serial, notAfter: certificate.notAfter,
      });
      this.o.audit.record({ actor: 'download-token', action: 'manifest.downloaded', sensorUuid: uuid, ...remote(ctx), detail: { serial: certificate.serial } });
      return { kind: 'manifest' as const, yaml, serial: certificate.serial };
    });
    return delivered ?? refuse('token used by a concurrent request', { kind: 'forbidden' });
  }

  /** The CRL: re-signed after every revocation, and at least hourly. */
  async revocationList(): Promise<RevocationList> {
    const now = this.now();
    const revoked = this.registry.revokedCertificates(now);
    const key = revoked.map((r) => r.serial).join(',');
    const cached = this.crl;
    if (cached && cached.key === key && now.getTime() - cached.list.thisUpdate.getTime() < CRL_REUSE_MS) return cached.list;
    const list = await signRevocationList(this.o.ca, revoked, nextCounter(this.o.db, 'crl_number'), now);
    this.crl = { list, key };
    return list;
  }

  private access(uuid: string, issued: IssuedCertificate, minted: { token: string; expiresAt: Date }): ManifestAccess {
    return {
      uuid,
      downloadToken: minted.token,
      tokenExpiresAt: minted.expiresAt.toISOString(),
      manifestUrl: `${this.o.publicUrl}/api/v1/manifests/sensor-saas/${uuid}`,
      certificate: { serial: issued.serial, notAfter: issued.notAfter.toISOString() },
    };
  }
}

function certificateRecord(uuid: string, issued: IssuedCertificate, now: Date): CertificateRecord {
  return { serial: issued.serial, sensorUuid: uuid, certPem: issued.certPem, notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now };
}

function remote(ctx: RequestContext): { remote?: string } {
  return ctx.remote ? { remote: ctx.remote } : {};
}

function backendDetail(b: BackendEndpoints): Record<string, string | readonly string[] | boolean> {
  return {
    ...(b.otlpEndpoint ? { otlpEndpoint: b.otlpEndpoint } : {}),
    ...(b.kafka ? { kafkaBrokers: b.kafka.brokers, kafkaTopic: b.kafka.topic } : {}),
    backendCa: b.backendCaPem !== undefined,
  };
}
