/**
 * NSS key log files (SSLKEYLOGFILE), as written by browsers, curl, OpenSSL's
 * keylog callback and Node's `keylog` event: `LABEL <client random hex>
 * <secret hex>` per line. Lines we cannot use are counted, never thrown on.
 */

/** The labels the decryptor uses. TLS 1.2: CLIENT_RANDOM (the master secret). */
export type KeyLogLabel =
  | 'CLIENT_RANDOM'
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0';

const USED_LABELS: ReadonlySet<string> = new Set<KeyLogLabel>([
  'CLIENT_RANDOM',
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
]);

/** Well-formed lines with labels we do not need (0-RTT, exporters, RSA pre-master secrets). */
const KNOWN_UNUSED_LABELS: ReadonlySet<string> = new Set([
  'CLIENT_EARLY_TRAFFIC_SECRET',
  'EARLY_EXPORTER_SECRET',
  'EXPORTER_SECRET',
  'RSA',
]);

export interface KeyLog {
  /** The secret logged for a connection, by its ClientHello.random (64 hex digits, any case). */
  get(label: KeyLogLabel, clientRandomHex: string): Uint8Array | undefined;
  /** Distinct (label, client random) secrets stored. */
  readonly entries: number;
  /** `#` comment lines. */
  readonly comments: number;
  /** Well-formed lines with a label we do not use (e.g. CLIENT_EARLY_TRAFFIC_SECRET, RSA). */
  readonly unusedLines: number;
  /** Lines that are not key log lines at all, or have bad hex / lengths. */
  readonly malformedLines: number;
}

const HEX = /^[0-9a-fA-F]+$/;

/** Secret lengths in bytes: the TLS 1.2 master secret is 48; 1.3 secrets are a hash long (32 or 48). */
function secretLengthOk(label: string, bytes: number): boolean {
  return label === 'CLIENT_RANDOM' ? bytes === 48 : bytes === 32 || bytes === 48;
}

export function parseKeyLog(text: string): KeyLog {
  const secrets = new Map<string, Uint8Array>();
  let comments = 0;
  let unusedLines = 0;
  let malformedLines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      comments++;
      continue;
    }
    const fields = line.split(/\s+/);
    const [label, random, secret] = fields;
    if (fields.length !== 3 || label === undefined || random === undefined || secret === undefined) {
      malformedLines++;
      continue;
    }
    if (!USED_LABELS.has(label)) {
      if (KNOWN_UNUSED_LABELS.has(label)) unusedLines++;
      else malformedLines++;
      continue;
    }
    if (random.length !== 64 || !HEX.test(random) || secret.length % 2 !== 0 || !HEX.test(secret)
      || !secretLengthOk(label, secret.length / 2)) {
      malformedLines++;
      continue;
    }
    // A repeated line (logs are often appended to) simply wins again.
    secrets.set(`${label} ${random.toLowerCase()}`, Uint8Array.from(Buffer.from(secret, 'hex')));
  }
  return {
    get: (label, clientRandomHex) => secrets.get(`${label} ${clientRandomHex.toLowerCase()}`),
    entries: secrets.size,
    comments,
    unusedLines,
    malformedLines,
  };
}
