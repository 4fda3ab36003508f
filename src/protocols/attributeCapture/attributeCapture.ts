/**
 * What a parser may keep besides the attributes it always reports: the
 * allow-listed request and response headers, gRPC metadata and the
 * redacted query string (the `attributes` section of the configuration).
 * Built once per pipeline; `attributeCaptureOf` returns undefined when
 * nothing is asked for, and a parser given undefined does nothing more
 * per message than before.
 *
 * Sensitive headers (SENSITIVE_HEADERS plus the configured ones) are taken
 * off every allow-list here, before any parser sees the lists: their values
 * are never decoded, kept, exported or logged, even when allow-listed.
 */
import { CaptureNames, type CaptureName, type CaptureStats } from './captureNames.ts';
import { MAX_QUERY_LENGTH, redactQuery } from './queryRedaction.ts';

/**
 * Headers that carry credentials: never captured, whatever the allow-lists
 * say. The configuration's `attributes.sensitiveHeaders` adds to them.
 */
export const SENSITIVE_HEADERS: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key',
  'x-auth-token', 'x-access-token', 'x-csrf-token', 'x-xsrf-token', 'x-amz-security-token',
];

/** The `attributes` settings (src/config/sensorConfig.ts); names as configured. */
export interface AttributeCaptureSettings {
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];
  readonly grpcRequestMetadata: readonly string[];
  readonly grpcResponseMetadata: readonly string[];
  readonly sensitiveHeaders: readonly string[];
  readonly urlQuery: 'off' | 'redacted';
  readonly queryParams: readonly string[];
}

export class AttributeCapture {
  readonly stats: CaptureStats = { valuesDropped: 0, valuesTruncated: 0 };
  /** HTTP/1 requests and responses: the HTTP header allow-lists. */
  readonly http1Request: CaptureNames | undefined;
  readonly http1Response: CaptureNames | undefined;
  /**
   * HTTP/2 streams: header and metadata names together, since whether a
   * stream is a gRPC call is known only when it ends; the mapping then
   * reports each value under the key of what the stream turned out to be.
   */
  readonly http2Request: CaptureNames | undefined;
  readonly http2Response: CaptureNames | undefined;
  /** Allowed query parameter names; undefined when url.query is off. */
  private readonly queryParams: ReadonlySet<string> | undefined;
  /** Allow-listed names left out because they are sensitive, for the startup log. */
  readonly sensitiveLeftOut: readonly string[];

  constructor(settings: AttributeCaptureSettings) {
    const sensitive = new Set([...SENSITIVE_HEADERS, ...settings.sensitiveHeaders.map(lower)]);
    const leftOut = new Set<string>();
    const allowed = (names: readonly string[]) => {
      const out = new Set<string>();
      for (const n of names.map(lower)) (sensitive.has(n) ? leftOut : out).add(n);
      return out;
    };
    const reqHeaders = allowed(settings.requestHeaders);
    const resHeaders = allowed(settings.responseHeaders);
    const reqMetadata = allowed(settings.grpcRequestMetadata);
    const resMetadata = allowed(settings.grpcResponseMetadata);
    this.sensitiveLeftOut = [...leftOut].sort();
    this.http1Request = this.names(reqHeaders, new Set(), 'request');
    this.http1Response = this.names(resHeaders, new Set(), 'response');
    this.http2Request = this.names(reqHeaders, reqMetadata, 'request');
    this.http2Response = this.names(resHeaders, resMetadata, 'response');
    this.queryParams = settings.urlQuery === 'redacted' ? new Set(settings.queryParams) : undefined;
  }

  private names(headers: ReadonlySet<string>, metadata: ReadonlySet<string>, side: 'request' | 'response'): CaptureNames | undefined {
    const entries: CaptureName[] = [];
    for (const name of new Set([...headers, ...metadata])) {
      entries.push({
        name,
        httpKey: headers.has(name) ? `http.${side}.header.${name}` : undefined,
        grpcKey: metadata.has(name) ? `rpc.grpc.${side}.metadata.${name}` : undefined,
      });
    }
    return entries.length > 0 ? new CaptureNames(entries, this.stats) : undefined;
  }

  /** Whether url.query is reported at all. */
  get capturesQuery(): boolean {
    return this.queryParams !== undefined;
  }

  /** The `url.query` attribute of a query (no "?"), or undefined when url.query is off. */
  urlQuery(query: string): string | undefined {
    if (this.queryParams === undefined) return undefined;
    const redacted = redactQuery(query, this.queryParams);
    if (redacted.length <= MAX_QUERY_LENGTH) return redacted;
    this.stats.valuesTruncated++;
    return redacted.slice(0, MAX_QUERY_LENGTH);
  }

  /** One line for the startup log: names only, never a value. */
  describe(): string {
    const list = (c: CaptureNames | undefined, key: 'httpKey' | 'grpcKey') => c?.entries.filter((e) => e[key] !== undefined).map((e) => e.name).join(', ') || 'none';
    const parts = [
      `request headers: ${list(this.http1Request, 'httpKey')}`,
      `response headers: ${list(this.http1Response, 'httpKey')}`,
      `gRPC request metadata: ${list(this.http2Request, 'grpcKey')}`,
      `gRPC response metadata: ${list(this.http2Response, 'grpcKey')}`,
      `url.query: ${this.queryParams === undefined ? 'off' : `redacted${this.queryParams.size > 0 ? ` except ${[...this.queryParams].join(', ')}` : ''}`}`,
    ];
    const leftOut = this.sensitiveLeftOut.length > 0 ? `; sensitive, never captured although allow-listed: ${this.sensitiveLeftOut.join(', ')}` : '';
    return `captured attributes: ${parts.join('; ')}${leftOut}`;
  }
}

function lower(name: string): string {
  return name.toLowerCase();
}

/** The capture a configuration asks for, or undefined when it asks for nothing (the default). */
export function attributeCaptureOf(settings: AttributeCaptureSettings): AttributeCapture | undefined {
  const asks = settings.requestHeaders.length + settings.responseHeaders.length + settings.grpcRequestMetadata.length + settings.grpcResponseMetadata.length > 0 ||
    settings.urlQuery !== 'off';
  return asks ? new AttributeCapture(settings) : undefined;
}
