/**
 * The bodies of the admin API, checked: a registration (tenant, cluster,
 * backends) and a rotation's options. Every field is checked with the
 * same rules the sensor applies to its own config at start (the OTLP
 * endpoint and broker parsers are the sensor's), so a manifest the portal
 * hands out never fails there. Errors name the field and the fix; they go
 * only to an authenticated admin.
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { parseOtlpEndpoint } from '../sinks/otlp/otlpConfig.ts';
import { parseBrokerAddress } from '../sinks/kafka/kafkaConfig.ts';
import type { BackendEndpoints } from './sensorRegistry.ts';

export interface Registration {
  readonly tenant: string;
  readonly clusterName: string;
  readonly backends: BackendEndpoints;
}

export interface RotationOptions {
  /** Revoke the sensor's earlier certificates now (they are listed in the CRL as superseded). */
  readonly revokePrevious: boolean;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Kafka's own rule for topic names (kafka.common.internals.Topic). */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** Any printable text: a tenant's name lands in a certificate subject and a YAML comment, where control characters do harm. */
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
/** kubernetes.clusterName becomes the k8s.cluster.name attribute of every span. */
const CLUSTER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const MAX_CA_BUNDLE_BYTES = 256 * 1024;

const registrationSchema = z.strictObject({
  tenant: z.string().min(1).max(64).regex(PRINTABLE, 'must be printable text without control characters')
    .refine((t) => t.trim() === t, 'must not begin or end with spaces'),
  clusterName: z.string().regex(CLUSTER_NAME, 'must be 1-63 letters, digits, dots, dashes or underscores, beginning and ending with a letter or digit'),
  otlpEndpoint: z.string().min(1).max(255).optional(),
  kafka: z.strictObject({
    brokers: z.array(z.string().min(1).max(255)).min(1).max(32),
    topic: z.string().regex(TOPIC_NAME, 'must be 1-249 letters, digits, dots, dashes or underscores (Kafka\'s rule)'),
  }).optional(),
  backendCaPem: z.string().min(1).max(MAX_CA_BUNDLE_BYTES).optional(),
});

const rotationSchema = z.strictObject({ revokePrevious: z.boolean().default(false) });

/**
 * A registration from the request body, with the portal's defaults for
 * the backends the body leaves out (`--otlp-endpoint`, `--kafka-brokers`,
 * `--backend-ca`).
 */
export function checkRegistration(body: unknown, defaults: BackendEndpoints): Checked<Registration> {
  const parsed = registrationSchema.safeParse(body);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const r = parsed.data;
  const otlpEndpoint = r.otlpEndpoint ?? defaults.otlpEndpoint;
  const kafka = r.kafka ?? defaults.kafka;
  const backendCaPem = r.backendCaPem ?? defaults.backendCaPem;
  if (otlpEndpoint === undefined && kafka === undefined) {
    return { ok: false, error: 'no backend: give otlpEndpoint (host:port of an OTLP/gRPC receiver) or kafka {brokers, topic}, or start the portal with --otlp-endpoint or --kafka-brokers' };
  }
  if (otlpEndpoint !== undefined) {
    try {
      // The sensor refuses plain text unless told otherwise; so does the portal.
      parseOtlpEndpoint(otlpEndpoint, false);
    } catch (err) {
      return { ok: false, error: `otlpEndpoint: ${(err as Error).message.replace(/^otlp\.endpoint: /, '')}` };
    }
  }
  if (kafka !== undefined) {
    for (const [i, b] of kafka.brokers.entries()) {
      const address = parseBrokerAddress(b);
      if (typeof address === 'string') return { ok: false, error: `kafka.brokers[${i}]: ${address}` };
    }
  }
  if (backendCaPem !== undefined) {
    const problem = checkCaBundle(backendCaPem);
    if (problem) return { ok: false, error: `backendCaPem: ${problem}` };
  }
  return {
    ok: true,
    value: {
      tenant: r.tenant,
      clusterName: r.clusterName,
      backends: {
        ...(otlpEndpoint !== undefined ? { otlpEndpoint } : {}),
        ...(kafka !== undefined ? { kafka: { brokers: [...kafka.brokers], topic: kafka.topic } } : {}),
        ...(backendCaPem !== undefined ? { backendCaPem } : {}),
      },
    },
  };
}

/** A rotation's options; an empty body means the defaults. */
export function checkRotation(body: unknown): Checked<RotationOptions> {
  const parsed = rotationSchema.safeParse(body ?? {});
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: describe(parsed.error) };
}

/** Why a PEM bundle is not a list of certificates, or undefined when it is one. */
export function checkCaBundle(pem: string): string | undefined {
  if (/PRIVATE KEY/.test(pem)) return 'holds a private key: send only the CA certificates (and rotate that key: it has left its owner)';
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} does not parse (${(err as Error).message})`;
    }
  }
  return undefined;
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: not a field (tenant, clusterName, otlpEndpoint, kafka, backendCaPem; rotate: revokePrevious)`;
    return `${issue.path.join('.') || 'body'}: ${issue.message}`;
  }).join('; ');
}
