/**
 * The privacy properties' oracle: what the sensor exports, as bytes a
 * collector or a reader of stdout gets (the OTLP protobuf request and the
 * JSON Lines of every span: names, attributes, status, resource), searched
 * for hidden secrets (plantedTraffic.ts says what is hidden and what a
 * leak is); and the captured values checked against what was sent.
 */
import type { Exchange, Side } from '../../src/protocols/contract.ts';
import { encodeExportTraceRequest } from '../../src/sinks/otlp/otlpProtobuf.ts';
import { spanToJson, type Span } from '../../src/spans/span.ts';
import { MAX_CAPTURED_VALUE_LENGTH, MAX_CAPTURED_VALUES } from '../../src/protocols/attributeCapture/index.ts';
import type { ExpectedExchange, PlantedConversation } from './plantedTraffic.ts';
import { CAPTURED_KEY, Violation } from './wellFormed.ts';

/** Characters of a secret that make a leak: a truncated or split secret leaks too. */
export const LEAK_WINDOW = 10;

/** Where LEAK_WINDOW characters of `secret` first appear in `text`, or -1. */
function windowAt(text: string, secret: string): number {
  for (let i = 0; i + LEAK_WINDOW <= secret.length; i++) {
    const at = text.indexOf(secret.slice(i, i + LEAK_WINDOW));
    if (at >= 0) return at;
  }
  return -1;
}

/** Every string in `value` with the path of the field that holds it ("attributes.url.query", "name"...). */
function fieldsOf(value: unknown, path: string, out: Array<readonly [string, string]>): void {
  if (typeof value === 'string') out.push([path, value]);
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') out.push([path, String(value)]);
  else if (Array.isArray(value)) for (const v of value) fieldsOf(v, path, out);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) fieldsOf(v, path === '' ? k : `${path}.${k}`, out);
}

/**
 * Throws a Violation when LEAK_WINDOW characters of a hidden secret appear
 * in `records` (exchanges or spans, searched field by field, so the message
 * names the fields: "LEAK of 1 hidden secret(s) in <what>, in fields
 * [attributes.http.request.method_original]") or in `serialized` (the bytes
 * a sink writes: the field "<serialized>" when only they hold it).
 */
export function assertNoLeak(what: string, records: readonly object[], serialized: readonly string[], hidden: readonly string[]): void {
  const fields: Array<readonly [string, string]> = [];
  for (const r of records) fieldsOf(r, '', fields);
  const found: string[] = [];
  const where = new Set<string>();
  for (const secret of hidden) {
    const inFields = fields.filter(([, text]) => windowAt(text, secret) >= 0);
    if (inFields.length > 0) {
      for (const [path] of inFields) where.add(path);
      found.push(`${secret} in ${inFields.map(([path, text]) => `${path} = ${JSON.stringify(text.slice(0, 160))}`).join(', ')}`);
      continue;
    }
    for (const text of serialized) {
      const at = windowAt(text, secret);
      if (at < 0) continue;
      where.add('<serialized>');
      found.push(`${secret} in the serialized spans at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 80), at + 40))}`);
      break;
    }
  }
  if (found.length > 0) throw new Violation(`LEAK of ${found.length} hidden secret(s) in ${what}, in fields [${[...where].sort().join(', ')}]:\n  ${found.join('\n  ')}`);
}

/** Spans as the two sinks write them: the OTLP ExportTraceServiceRequest (protobuf, as latin1) and the stdout JSON Lines. */
export function exportedTexts(spans: readonly Span[]): readonly string[] {
  return spans.length === 0 ? [] : [encodeExportTraceRequest(spans).toString('latin1'), spans.map(spanToJson).join('\n')];
}

const json = (value: unknown) => JSON.stringify(value);

/** Captured names each side of an exchange reports, with their values. */
function capturedOf(e: Exchange): Record<Side, Map<string, readonly string[]>> {
  const out: Record<Side, Map<string, readonly string[]>> = { request: new Map(), response: new Map() };
  for (const [key, value] of Object.entries(e.attributes)) {
    const m = CAPTURED_KEY.exec(key);
    if (m) out[(m[1] ?? m[2]) as Side].set(m[3]!, value as readonly string[]);
  }
  return out;
}

/**
 * Every captured value is one an allow-listed field of that name carried
 * on that side (or its first MAX_CAPTURED_VALUE_LENGTH characters): a
 * value under an allowed name that was not sent under it is a mix-up,
 * whether or not it holds a secret.
 */
export function assertCapturedValuesSent(e: Exchange, conversation: PlantedConversation): void {
  const captured = capturedOf(e);
  for (const side of ['request', 'response'] as const) {
    for (const [name, values] of captured[side]) {
      const sent = conversation.allowedValues[side].get(name);
      for (const v of values) {
        const ok = sent !== undefined && (sent.has(v) || (v.length === MAX_CAPTURED_VALUE_LENGTH && [...sent].some((s) => s.startsWith(v))));
        if (!ok) throw new Violation(`${e.protocol} ${side} ${name}: captured value was not sent in an allow-listed ${name} field: ${JSON.stringify(v.slice(0, 120))}`);
      }
    }
  }
}

/**
 * An exchange of an intact conversation reports every allow-listed name
 * its sides sent (under the HTTP or gRPC keys, by what it is), and no
 * other; all of them while the capture kept them all (MAX_CAPTURED_VALUES).
 */
export function assertCapturedNames(e: Exchange, expected: ExpectedExchange): void {
  if ((e.protocol === 'grpc') !== expected.grpc) throw new Violation(`exchange is ${e.protocol}, sent as ${expected.grpc ? 'gRPC' : 'HTTP'}`);
  const captured = capturedOf(e);
  for (const side of ['request', 'response'] as const) {
    const got = [...captured[side].keys()].sort();
    const want = [...expected.sent[side].names].sort();
    const complete = expected.sent[side].kept <= MAX_CAPTURED_VALUES;
    const ok = complete ? json(got) === json(want) : got.every((n) => want.includes(n));
    if (!ok) throw new Violation(`${e.protocol} ${side}: captured names ${json(got)}, sent ${json(want)} (${expected.sent[side].kept} values kept before the cap)`);
  }
}
