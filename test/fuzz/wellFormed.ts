/**
 * What every exchange, span and counter must look like, whatever bytes
 * produced it. Each check throws an Error naming the field and the value,
 * so a fuzz failure says what was malformed, not only that something was.
 */
import type { Exchange, ParserStats } from '../../src/protocols/contract.ts';
import { MAX_CAPTURED_VALUES, MAX_CAPTURED_VALUE_LENGTH, MAX_QUERY_LENGTH, SENSITIVE_HEADERS, type AttributeCapture } from '../../src/protocols/attributeCapture/index.ts';
import type { Span } from '../../src/spans/span.ts';
import type { TrackerStats } from '../../src/reassembly/connectionTracker.ts';

/** What a fuzz property forbids happened (malformed output, a bound exceeded, an unexpected exception). */
export class Violation extends Error {
  override readonly name = 'Violation';
}

function fail(what: string, value: unknown): never {
  const shown = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
  throw new Violation(`${what}: ${shown === undefined ? String(value) : shown.slice(0, 200)}`);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const PROTOCOLS = new Set(['http1', 'http2', 'grpc']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '_OTHER']);
/** Attributes that count bytes or messages. */
const COUNT_ATTRIBUTES = [
  'http.request.body.size', 'http.response.body.size',
  'rpc.grpc.request.message_count', 'rpc.grpc.response.message_count',
  'rpc.grpc.request.body.size', 'rpc.grpc.response.body.size',
];
const PORT_ATTRIBUTES = ['server.port', 'client.port', 'network.peer.port'];

/** The attribute keys a capture may report, by side: `http.request.header.<name>`... for its allow-listed names only. */
function capturedKeys(capture: AttributeCapture): Record<'request' | 'response', ReadonlySet<string>> {
  const keys = (names: AttributeCapture['http2Request']) => new Set((names?.entries ?? []).flatMap((e) => [e.httpKey, e.grpcKey]).filter((k): k is string => k !== undefined));
  // The HTTP/2 lists hold the HTTP/1 ones (headers) and the gRPC metadata.
  return { request: keys(capture.http2Request), response: keys(capture.http2Response) };
}

/** A captured attribute's key: [1] or [2] the side, [3] the name. */
export const CAPTURED_KEY = /^(?:http\.(request|response)\.header|rpc\.grpc\.(request|response)\.metadata)\.(.*)$/;

/**
 * Captured values (attributeCapture), when `capture` is on: string arrays
 * only under an allow-listed key (lower case, never a sensitive name: the
 * capture struck those), every element a string of at most
 * MAX_CAPTURED_VALUE_LENGTH, at most MAX_CAPTURED_VALUES per side of the
 * exchange; url.query a string of at most MAX_QUERY_LENGTH, and only when
 * the capture reports it. Without a capture, neither.
 */
function checkCaptured(attributes: Readonly<Record<string, unknown>>, where: string, capture: AttributeCapture | undefined): void {
  const allowed = capture === undefined ? undefined : capturedKeys(capture);
  const perSide = { request: 0, response: 0 };
  for (const [key, value] of Object.entries(attributes)) {
    const m = CAPTURED_KEY.exec(key);
    if (!m) {
      if (Array.isArray(value)) fail(`${where} attribute ${key} is an array but no captured header or metadata`, value);
      continue;
    }
    const side = (m[1] ?? m[2]) as 'request' | 'response';
    if (allowed === undefined) fail(`${where} attribute ${key} is reported without a capture configured`, value);
    if (m[3] !== m[3]!.toLowerCase()) fail(`${where} captured attribute ${key} is not lower case`, key);
    if (SENSITIVE_HEADERS.includes(m[3]!)) fail(`${where} captured attribute ${key} names a sensitive header`, key);
    if (!allowed[side].has(key)) fail(`${where} captured attribute ${key} is not allow-listed`, [...allowed[side]]);
    if (!Array.isArray(value) || value.length === 0) fail(`${where} captured attribute ${key} is not a non-empty string array`, value);
    for (const v of value as unknown[]) {
      if (typeof v !== 'string') fail(`${where} captured attribute ${key} holds a non-string`, v);
      if (v.length > MAX_CAPTURED_VALUE_LENGTH) fail(`${where} captured attribute ${key} holds a value longer than ${MAX_CAPTURED_VALUE_LENGTH}`, v.length);
    }
    perSide[side] += value.length;
  }
  for (const side of ['request', 'response'] as const) {
    if (perSide[side] > MAX_CAPTURED_VALUES) fail(`${where} carries more than ${MAX_CAPTURED_VALUES} captured ${side} values`, perSide[side]);
  }
  const query = attributes['url.query'];
  if (query === undefined) return;
  if (!capture?.capturesQuery) fail(`${where} url.query is reported without url.query configured`, query);
  if (typeof query !== 'string' || query.length > MAX_QUERY_LENGTH) fail(`${where} url.query is not a string of at most ${MAX_QUERY_LENGTH}`, query);
}

/**
 * Attribute values a span may carry (OTLP AnyValue scalars; string arrays
 * only where checkCaptured allows them), and the known ones in their ranges.
 */
function checkAttributes(attributes: Readonly<Record<string, unknown>>, where: string, capture?: AttributeCapture): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string' || typeof value === 'boolean' || Array.isArray(value)) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${where} attribute ${key} is not a string, boolean or finite number`, value);
  }
  checkCaptured(attributes, where, capture);
  const method = attributes['http.request.method'];
  if (method !== undefined && !METHODS.has(method as string)) fail(`${where} http.request.method is not a known method or _OTHER`, method);
  for (const key of ['url.path', 'http.route', 'http.request.method_original', 'server.address']) {
    const v = attributes[key];
    if (v !== undefined && typeof v !== 'string') fail(`${where} ${key} is not a string`, v);
  }
  const status = attributes['http.response.status_code'];
  // RFC 9110 15: three digits, 100-599 defined, 600-999 seen in the wild; never below 100.
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 999)) {
    fail(`${where} http.response.status_code is not an integer from 100 to 999`, status);
  }
  const grpcStatus = attributes['rpc.grpc.status_code'];
  if (grpcStatus !== undefined && !isCount(grpcStatus)) fail(`${where} rpc.grpc.status_code is not a non-negative integer`, grpcStatus);
  for (const key of COUNT_ATTRIBUTES) {
    const v = attributes[key];
    if (v !== undefined && !isCount(v)) fail(`${where} ${key} is not a non-negative integer`, v);
  }
  for (const key of PORT_ATTRIBUTES) {
    const v = attributes[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535)) fail(`${where} ${key} is not a port (0-65535)`, v);
  }
}

/**
 * An exchange as a parser emits it. Messages name it "exchange (<protocol>)"
 * (knownBugs.ts tells failures apart by what they name). `capture`: the
 * attribute capture the parser was given, if any (checkCaptured).
 */
export function checkExchange(e: Exchange, capture?: AttributeCapture): void {
  if (!PROTOCOLS.has(e.protocol)) fail('exchange protocol', e.protocol);
  const what = `exchange (${e.protocol})`;
  if (typeof e.name !== 'string' || e.name.length === 0) fail(`${what} name is not a non-empty string`, e.name);
  if (typeof e.startNs !== 'bigint' || typeof e.endNs !== 'bigint') fail(`${what} times are not bigints`, [String(e.startNs), String(e.endNs)]);
  if (e.endNs < e.startNs) fail(`${what} ends before it starts`, [String(e.startNs), String(e.endNs)]);
  checkAttributes(e.attributes, what, capture);
  if (typeof e.error.server !== 'boolean' || typeof e.error.client !== 'boolean') fail(`${what} error flags are not booleans`, e.error);
  if (e.error.message !== undefined && typeof e.error.message !== 'string') fail(`${what} error message`, e.error.message);
  if (e.traceparent !== undefined && typeof e.traceparent !== 'string') fail(`${what} traceparent`, e.traceparent);
  if (e.pairKey !== undefined && typeof e.pairKey !== 'string') fail(`${what} pairKey`, e.pairKey);
}

/** "grpc", "http/1.1", "http/2": the protocol a span's attributes say it is. */
function spanProtocol(s: Span): string {
  const a = s.attributes;
  return String(a['rpc.system'] ?? `${a['network.protocol.name'] ?? '?'}/${a['network.protocol.version'] ?? '?'}`);
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** A span as the pipeline hands it to sinks; `capture`: the pipeline's attribute capture, if any. */
export function checkSpan(s: Span, capture?: AttributeCapture): void {
  const what = `span (${spanProtocol(s)})`;
  if (!HEX32.test(s.traceId) || /^0+$/.test(s.traceId)) fail(`${what} traceId is not 32 hex digits, not all zero`, s.traceId);
  if (!HEX16.test(s.spanId) || /^0+$/.test(s.spanId)) fail(`${what} spanId is not 16 hex digits, not all zero`, s.spanId);
  if (s.parentSpanId !== '' && !HEX16.test(s.parentSpanId)) fail(`${what} parentSpanId is neither empty nor 16 hex digits`, s.parentSpanId);
  if (typeof s.name !== 'string' || s.name.length === 0) fail(`${what} name is not a non-empty string`, s.name);
  if (s.kind !== 2 && s.kind !== 3) fail(`${what} kind is neither SERVER (2) nor CLIENT (3)`, s.kind);
  if (s.endTimeUnixNano < s.startTimeUnixNano) fail(`${what} ends before it starts`, [String(s.startTimeUnixNano), String(s.endTimeUnixNano)]);
  if (s.startTimeUnixNano < 0n) fail(`${what} starts before the epoch`, String(s.startTimeUnixNano));
  checkAttributes(s.attributes, what, capture);
  checkAttributes(s.resource, `${what} resource`);
  if (![0, 1, 2].includes(s.status.code)) fail(`${what} status code`, s.status.code);
}

/** Parser counters: non-negative integers. */
export function checkParserStats(stats: ParserStats, where: string): void {
  for (const [key, value] of Object.entries(stats)) if (!isCount(value)) fail(`${where} parser stat ${key} is not a non-negative integer`, value);
}

/** Tracker counters: non-negative integers, connections within the limit. */
export function checkTrackerStats(stats: TrackerStats, maxConnections: number): void {
  for (const [key, value] of Object.entries(stats)) {
    // A gauge by stage (buffered: reorder, inference, parsers) is counts too.
    const counts = typeof value === 'object' && value !== null ? Object.entries(value as object).map(([k, v]) => [`${key}.${k}`, v] as const) : [[key, value] as const];
    for (const [name, v] of counts) if (!isCount(v)) fail(`tracker stat ${name} is not a non-negative integer`, v);
  }
  if (stats.connections > maxConnections) fail(`tracker holds more connections than its limit ${maxConnections}`, stats.connections);
}
