/**
 * A real OpenTelemetry Collector for the OTLP exporter tests: the binary
 * test/peers/otelcol/prepare.sh builds with ocb into ~/.cache/hydrophone
 * (OTLP receiver, file and debug exporters, basicauth extension), started on
 * a free loopback port with one traces pipeline:
 *
 *   otlp (gRPC only; TLS with the server certificate from testPki.ts, a
 *   client certificate from the same CA required unless told otherwise, and
 *   basic auth checked by basicauth/server against one inline htpasswd user)
 *     -> file (OTLP/JSON, one ExportTraceServiceRequest a line, flushed every 100 ms)
 *     -> debug (one summary line a batch in the collector's log)
 *
 * Every start makes its own certificates (openssl CLI, see testPki.ts) in a
 * temporary directory that `stop()` removes. `readSpans()` flattens what the
 * file exporter wrote into one CollectedSpan per span.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';
import { freePort } from './peers.ts';
import { lastLines, startProc, waitUntil, type Proc } from './childProcess.ts';
import { makeTestPki } from './testPki.ts';

const prepareScript = path.join(projectRoot, 'test/peers/otelcol/prepare.sh');

/** A client certificate and its key, PEM. */
export interface ClientIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

/** An OTLP/JSON AnyValue, decoded: intValue is a number when it is a safe integer, else a bigint; bytesValue a Buffer. */
export type AttributeValue = string | number | bigint | boolean | Buffer | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

/**
 * One span the collector received, with the resource and scope it came
 * under. Ids are lowercase hex ('' when absent, as for a root span's
 * parent), times are nanoseconds since the epoch as bigint (exact), enums
 * are OTLP's numbers (kind: 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER,
 * 5 CONSUMER; status code: 0 UNSET, 1 OK, 2 ERROR). `raw` is the span as
 * the file exporter wrote it, for any field not decoded here.
 */
export interface CollectedSpan {
  readonly resource: Attributes;
  readonly scope: { readonly name: string; readonly version: string; readonly attributes: Attributes };
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly flags: number;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Attributes;
  readonly events: readonly { readonly timeUnixNano: bigint; readonly name: string; readonly attributes: Attributes }[];
  readonly links: readonly { readonly traceId: string; readonly spanId: string; readonly traceState: string; readonly attributes: Attributes }[];
  readonly status: { readonly code: number; readonly message: string };
  readonly raw: Record<string, unknown>;
}

/** A running collector; `stop()` ends it and removes every temporary file. */
export interface OtelCollector {
  /** `127.0.0.1:PORT` of the OTLP/gRPC receiver. */
  readonly endpoint: string;
  readonly port: number;
  /** PEM: the CA that signed the collector's certificate (SAN 127.0.0.1 and localhost) and the client's. */
  readonly caPem: string;
  /** A client certificate (clientAuth) and key from that CA: what the receiver requires. */
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** A client certificate signed by another CA: the receiver must refuse it. */
  readonly foreignClient: ClientIdentity;
  /** The one basic-auth user the receiver accepts. */
  readonly user: string;
  readonly password: string;
  /** Whether the receiver requires a client certificate (the `requireClientCert` option). */
  readonly requireClientCert: boolean;
  /** The file exporter's output: one OTLP/JSON ExportTraceServiceRequest a line. Kept across restarts. */
  readonly spansFile: string;
  /** Milliseconds from spawning the collector to its first readiness (certificates not included). */
  readonly startupMs: number;
  /** Every span in spansFile so far, in arrival order (see CollectedSpan). */
  readSpans(): Promise<CollectedSpan[]>;
  /** Resolves with readSpans() once it holds at least `count` spans; throws after `timeoutMs` (default 10 s) with what it has and the log. */
  waitForSpans(count: number, timeoutMs?: number): Promise<CollectedSpan[]>;
  /** Stops the collector (SIGTERM: the file exporter flushes) but keeps its port, certificates and spansFile. */
  halt(): Promise<void>;
  /** Starts it again after `halt()`, on the same port; resolves with the milliseconds until it was ready. */
  start(): Promise<number>;
  /** halt() then start(): resolves with the milliseconds the start took. */
  restart(): Promise<number>;
  running(): boolean;
  /** The running collector's pid (benchmarks freeze it with SIGSTOP to stall the backend). */
  pid(): number | undefined;
  /** The last 64 KiB of the collector's log (its own log on stderr, the debug exporter's lines). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Require a client certificate from `caPem` (default true); when false the receiver only serves TLS. */
  readonly requireClientCert?: boolean;
  /** The basic-auth user (default `hydrophone` with a random password). */
  readonly basicAuth?: { readonly user: string; readonly password: string };
  /** The receiver's port (default a free one). */
  readonly port?: number;
  /** Timeout for the collector to become ready, in ms (default 30 s: a loaded 2-core machine is slow). */
  readonly readyTimeoutMs?: number;
  /**
   * More CA certificates (PEM) the receiver trusts for client certificates,
   * appended to its client_ca_file after `caPem` (with requireClientCert).
   */
  readonly extraClientCaPem?: string;
}

let binary: string | undefined;
let unavailable: string | undefined;

/**
 * The built collector, or why it cannot be used (a string). Never builds:
 * `sh test/peers/otelcol/prepare.sh` does (minutes cold). HYDROPHONE_OTELCOL
 * (a collector binary with the same components) overrides it.
 */
export function otelCollectorBinary(): string | { unavailable: string } {
  if (binary === undefined && unavailable === undefined) {
    const found = findBinary();
    if (found.startsWith('/')) binary = found;
    else unavailable = found;
  }
  return binary ?? { unavailable: unavailable! };
}

/** undefined when a real collector can be started here; otherwise why the tests must skip (printed once). */
export function otelCollectorUnavailableReason(): string | undefined {
  const found = otelCollectorBinary();
  if (typeof found === 'string') return undefined;
  if (!reported) {
    reported = true;
    process.stderr.write(`\n[hydrophone] SKIPPING OpenTelemetry Collector tests: ${found.unavailable}\n`);
  }
  return found.unavailable;
}
let reported = false;

/** An absolute path, or the reason there is none. */
function findBinary(): string {
  const fromEnv = process.env.HYDROPHONE_OTELCOL;
  if (fromEnv) return existsSync(fromEnv) ? path.resolve(fromEnv) : `${fromEnv} (from HYDROPHONE_OTELCOL) does not exist`;
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (openssl.status !== 0) return 'the openssl command is missing (it makes the test certificates; apt-get install openssl)';
  const r = spawnSync('sh', [prepareScript, '--no-build'], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/^prepare-otelcol: /, '');
  const built = /^otelcol=(\/.*)$/m.exec(r.stdout)?.[1];
  if (!built) return `${prepareScript} --no-build printed no otelcol= line: ${r.stdout.trim()}`;
  return built;
}

/**
 * Makes the certificates, writes the collector's configuration and starts
 * it; resolves once it logged that everything is ready and its port
 * accepts connections. Throws when the collector is not built (check
 * otelCollectorUnavailableReason first) or does not start (with the tail of
 * its log).
 */
export async function startOtelCollector(opts: StartOptions = {}): Promise<OtelCollector> {
  const bin = otelCollectorBinary();
  if (typeof bin !== 'string') throw new Error(`no OpenTelemetry Collector: ${bin.unavailable}`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const requireClientCert = opts.requireClientCert ?? true;
  const dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-otelcol-'));
  let proc: Proc | undefined;
  const cleanup = async () => {
    await proc?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [pki, port] = await Promise.all([makeTestPki(path.join(dir, 'pki')), opts.port ?? freePort()]);
    const user = opts.basicAuth?.user ?? 'hydrophone';
    const password = opts.basicAuth?.password ?? randomBytes(12).toString('hex');
    const spansFile = path.join(dir, 'spans.jsonl');
    const configPath = path.join(dir, 'config.yaml');
    let clientCaFile = pki.caFile;
    if (opts.extraClientCaPem) {
      clientCaFile = path.join(dir, 'client-ca-bundle.crt');
      await writeFile(clientCaFile, `${pki.caPem.trimEnd()}\n${opts.extraClientCaPem.trimEnd()}\n`);
    }
    await writeFile(configPath, collectorConfig({
      port, spansFile, user, password,
      certFile: pki.server.certFile, keyFile: pki.server.keyFile,
      clientCaFile: requireClientCert ? clientCaFile : undefined,
    }));

    const launch = async () => {
      const started = performance.now();
      // The collector ends its pipelines in order on SIGTERM (the file
      // exporter flushes); 10 s before SIGKILL is plenty for one idle pipeline.
      const p = startProc('otelcol', bin, [`--config=${configPath}`], 10_000);
      proc = p;
      await waitUntil(readyTimeoutMs, p, async () => p.log().includes(READY_LINE) && await acceptsTcp(port));
      return Math.round(performance.now() - started);
    };
    const startupMs = await launch();

    const readSpans = async () => parseSpansFile(existsSync(spansFile) ? await readFile(spansFile, 'utf8') : '');
    const halt = async () => { await proc?.stop(); };
    const start = async () => (proc && !proc.exited() ? 0 : launch());
    let stopped: Promise<void> | undefined;
    return {
      endpoint: `127.0.0.1:${port}`,
      port,
      caPem: pki.caPem,
      clientCertPem: pki.client.certPem,
      clientKeyPem: pki.client.keyPem,
      foreignClient: { certPem: pki.foreignClient.certPem, keyPem: pki.foreignClient.keyPem },
      user,
      password,
      requireClientCert,
      spansFile,
      startupMs,
      readSpans,
      async waitForSpans(count, timeoutMs = 10_000) {
        const deadline = performance.now() + timeoutMs;
        for (;;) {
          const spans = await readSpans();
          if (spans.length >= count) return spans;
          if (performance.now() > deadline) {
            throw new Error(`the collector received ${spans.length} of ${count} spans in ${timeoutMs} ms (${spans.map((s) => s.name).join(', ') || 'none'}); its log:\n${lastLines(proc?.log() ?? '')}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      halt,
      start,
      async restart() {
        await halt();
        return start();
      },
      running: () => proc !== undefined && !proc.exited(),
      pid: () => proc?.child.pid,
      log: () => proc?.log() ?? '',
      stop() {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// What go.opentelemetry.io/collector/service logs once every pipeline started.
const READY_LINE = 'Everything is ready';

interface ConfigInput {
  port: number;
  spansFile: string;
  user: string;
  password: string;
  certFile: string;
  keyFile: string;
  /** Absent: no client certificate asked for. */
  clientCaFile: string | undefined;
}

/** The collector's YAML. Values are JSON strings, which YAML reads as they are (paths and passwords need no escaping then). */
function collectorConfig(c: ConfigInput): string {
  const q = JSON.stringify;
  if (c.user.includes(':') || /\s/.test(c.user + c.password)) throw new Error('basic auth user and password for the test collector must not contain ":" (user) or whitespace');
  return [
    'extensions:',
    '  basicauth/server:',
    '    htpasswd:',
    // go-htpasswd accepts a plain-text password line (AcceptPlain).
    `      inline: ${q(`${c.user}:${c.password}`)}`,
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      grpc:',
    `        endpoint: ${q(`127.0.0.1:${c.port}`)}`,
    '        tls:',
    `          cert_file: ${q(c.certFile)}`,
    `          key_file: ${q(c.keyFile)}`,
    ...(c.clientCaFile ? [`          client_ca_file: ${q(c.clientCaFile)}`] : []),
    '        auth:',
    '          authenticator: basicauth/server',
    'exporters:',
    '  file:',
    `    path: ${q(c.spansFile)}`,
    '    format: json',
    // Kept across restarts (without it each start truncates the file).
    '    append: true',
    // Default 1 s: tests wait for spans, so flush sooner.
    '    flush_interval: 100ms',
    '  debug:',
    '    verbosity: basic',
    'service:',
    '  extensions: [basicauth/server]',
    '  telemetry:',
    // Otherwise the collector serves its own metrics on :8888, one port
    // for every collector on the machine.
    '    metrics:',
    '      level: none',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      exporters: [file, debug]',
    '',
  ].join('\n');
}

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok: boolean) => { clearTimeout(timer); s.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), 2_000);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// ---- the file exporter's OTLP/JSON ----

type Json = Record<string, unknown>;
const asArray = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
const asNumber = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);
// protojson writes 64-bit integers as strings, and omits zero values.
const asBigint = (v: unknown): bigint => (typeof v === 'string' || typeof v === 'number' ? BigInt(v) : 0n);

/**
 * Every span in the file, flattened. A line the exporter has not finished
 * writing (no newline yet: its buffer flushes mid-line when full) is left
 * for the next read.
 */
export function parseSpansFile(text: string): CollectedSpan[] {
  const spans: CollectedSpan[] = [];
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (line.trim() === '') continue;
    const request = JSON.parse(line) as Json;
    for (const rs of asArray(request.resourceSpans)) {
      const resource = decodeAttributes((rs.resource as Json | undefined)?.attributes);
      for (const ss of asArray(rs.scopeSpans)) {
        const s = (ss.scope ?? {}) as Json;
        const scope = { name: asString(s.name), version: asString(s.version), attributes: decodeAttributes(s.attributes) };
        for (const span of asArray(ss.spans)) spans.push(decodeSpan(resource, scope, span));
      }
    }
  }
  return spans;
}

function decodeSpan(resource: Attributes, scope: CollectedSpan['scope'], span: Json): CollectedSpan {
  const status = (span.status ?? {}) as Json;
  return {
    resource,
    scope,
    traceId: asString(span.traceId).toLowerCase(),
    spanId: asString(span.spanId).toLowerCase(),
    parentSpanId: asString(span.parentSpanId).toLowerCase(),
    traceState: asString(span.traceState),
    flags: asNumber(span.flags),
    name: asString(span.name),
    kind: asNumber(span.kind),
    startTimeUnixNano: asBigint(span.startTimeUnixNano),
    endTimeUnixNano: asBigint(span.endTimeUnixNano),
    attributes: decodeAttributes(span.attributes),
    events: asArray(span.events).map((e) => ({ timeUnixNano: asBigint(e.timeUnixNano), name: asString(e.name), attributes: decodeAttributes(e.attributes) })),
    links: asArray(span.links).map((l) => ({
      traceId: asString(l.traceId).toLowerCase(), spanId: asString(l.spanId).toLowerCase(), traceState: asString(l.traceState), attributes: decodeAttributes(l.attributes),
    })),
    status: { code: asNumber(status.code), message: asString(status.message) },
    raw: span,
  };
}

function decodeAttributes(list: unknown): Attributes {
  const out: Attributes = {};
  for (const kv of asArray(list)) out[asString(kv.key)] = decodeAnyValue(kv.value);
  return out;
}

function decodeAnyValue(v: unknown): AttributeValue {
  if (v === null || typeof v !== 'object') return null;
  const a = v as Json;
  if ('stringValue' in a) return asString(a.stringValue);
  if ('boolValue' in a) return a.boolValue === true;
  if ('intValue' in a) {
    const n = asBigint(a.intValue);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  // protojson writes NaN and the infinities as strings.
  if ('doubleValue' in a) return typeof a.doubleValue === 'number' ? a.doubleValue : Number(a.doubleValue);
  if ('bytesValue' in a) return Buffer.from(asString(a.bytesValue), 'base64');
  if ('arrayValue' in a) return asArray((a.arrayValue as Json | undefined)?.values).map(decodeAnyValue);
  if ('kvlistValue' in a) return decodeAttributes((a.kvlistValue as Json | undefined)?.values);
  return null;
}
