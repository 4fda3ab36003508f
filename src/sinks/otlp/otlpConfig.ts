/**
 * The OTLP/gRPC sink's settings, checked at start. Secrets (password,
 * token) are read from files or the environment, never from the command
 * line, where every user of the node could read them in /proc.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadTlsMaterial, type TlsFiles, type TlsMaterial } from '../tls/tlsMaterial.ts';

export type OtlpAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly passwordFile?: string }
  | { readonly kind: 'bearer'; readonly tokenFile?: string };

export interface OtlpSinkConfig {
  /** host:port or https://host:port; http://host:port only with allowPlaintext. */
  readonly endpoint: string;
  readonly allowPlaintext: boolean;
  readonly tls: TlsFiles;
  readonly auth?: OtlpAuth;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
}

/** Where secrets come from when no file is named. */
export const PASSWORD_ENV = 'HYDROPHONE_OTLP_PASSWORD';
export const TOKEN_ENV = 'HYDROPHONE_OTLP_BEARER_TOKEN';

export interface OtlpEndpoint {
  /** What the OpenTelemetry exporter takes: always with a scheme. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly plaintext: boolean;
}

export function parseOtlpEndpoint(endpoint: string, allowPlaintext: boolean): OtlpEndpoint {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`otlp.endpoint: "${endpoint}" is not host:port or https://host:port`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`otlp.endpoint: scheme ${url.protocol} is not supported: use https://host:port (or http:// with plaintext allowed)`);
  }
  const plaintext = url.protocol === 'http:';
  if (plaintext && !allowPlaintext) {
    throw new Error(`otlp.endpoint: ${endpoint} is plain text, so spans and credentials would cross the network readable by anyone on the path: use https://, or allow plain text explicitly (--otlp-insecure) for a collector on the same host`);
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new Error(`otlp.endpoint: gRPC takes no path (${url.pathname}): give https://host:port`);
  }
  const port = url.port ? Number(url.port) : 4317;
  return { url: `${url.protocol}//${url.host}${url.port ? '' : ':4317'}`, host: url.hostname.replace(/^\[|\]$/g, ''), port, plaintext };
}

/** Everything the exporter needs, read from disk now. */
export interface OtlpCredentials {
  readonly tls: TlsMaterial;
  /** The authorization metadata value, or undefined. A secret: never log it. */
  readonly authorization?: string;
  /** Changes whenever any of the files' contents change. */
  readonly fingerprint: string;
}

function readSecret(field: string, file: string | undefined, env: string): string {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code}): make it readable by the sensor user`);
    }
    const value = text.trim();
    if (!value) throw new Error(`${field}: ${file} is empty`);
    return value;
  }
  const value = process.env[env]?.trim();
  if (!value) throw new Error(`${field}: no secret given: name a file, or set ${env}`);
  return value;
}

export function loadOtlpCredentials(config: OtlpSinkConfig): OtlpCredentials {
  const tls = loadTlsMaterial('otlp', config.tls);
  let authorization: string | undefined;
  if (config.auth?.kind === 'basic') {
    if (!config.auth.username || config.auth.username.includes(':')) throw new Error('otlp.auth.username: must be non-empty and contain no colon (HTTP basic auth)');
    const password = readSecret('otlp.auth.passwordFile', config.auth.passwordFile, PASSWORD_ENV);
    authorization = `Basic ${Buffer.from(`${config.auth.username}:${password}`).toString('base64')}`;
  } else if (config.auth?.kind === 'bearer') {
    authorization = `Bearer ${readSecret('otlp.auth.tokenFile', config.auth.tokenFile, TOKEN_ENV)}`;
  }
  return { tls, ...(authorization ? { authorization } : {}), fingerprint: createHash('sha256').update(`${tls.fingerprint}\n${authorization ?? ''}`).digest('hex') };
}

/** The files whose change means new credentials. */
export function credentialFiles(config: OtlpSinkConfig): string[] {
  const files = [config.tls.caFile, config.tls.certFile, config.tls.keyFile];
  if (config.auth?.kind === 'basic') files.push(config.auth.passwordFile);
  if (config.auth?.kind === 'bearer') files.push(config.auth.tokenFile);
  return files.filter((f): f is string => f !== undefined);
}
