/**
 * Decodes OTLP ExportTraceServiceRequest bytes with protobufjs and the
 * official .proto files (fetched from Maven Central by
 * test/peers/otlpProto/prepare.sh), independently of the OpenTelemetry JS
 * serializer the sinks encode with: a test that compares what it decodes
 * with what it sent checks the encoding against the specification itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { projectRoot } from '../../src/native/addon.ts';
import type { AttributeValue } from '../../src/spans/span.ts';

const prepareScript = path.join(projectRoot, 'test/peers/otlpProto/prepare.sh');
const TRACE_SERVICE = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';
const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

/** One span as the request carries it, flattened with its resource and scope; ids hex, times as decimal strings. */
export interface DecodedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: Record<string, AttributeValue>;
  readonly status: { readonly code: number; readonly message?: string };
  readonly resource: Record<string, AttributeValue>;
  readonly scope: { readonly name: string; readonly version: string };
}

let found: string | undefined;
let reported = false;

/** The directory holding opentelemetry/proto/**, or why it is missing (a string starting with "no "). */
function protoDir(): { dir: string } | { missing: string } {
  if (found) return { dir: found };
  const override = process.env.HYDROPHONE_OTLP_PROTO_DIR;
  if (override) return existsSync(path.join(override, TRACE_SERVICE)) ? { dir: (found = override) } : { missing: `${override} (HYDROPHONE_OTLP_PROTO_DIR) holds no ${TRACE_SERVICE}` };
  const r = spawnSync('sh', [prepareScript, '--no-build'], { encoding: 'utf8' });
  if (r.status !== 0) return { missing: (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/^prepare-otlp-proto: /, '') };
  const dir = /^otlp-proto=(.*)$/m.exec(r.stdout)?.[1];
  if (!dir || !existsSync(path.join(dir, TRACE_SERVICE))) return { missing: `${prepareScript} --no-build printed no usable otlp-proto= line: ${r.stdout.trim()}` };
  return { dir: (found = dir) };
}

/** undefined when the .proto files are here; otherwise why tests that decode must skip (printed once). */
export function otlpProtoUnavailableReason(): string | undefined {
  const d = protoDir();
  if ('dir' in d) return undefined;
  if (!reported) {
    reported = true;
    process.stderr.write(`\n[hydrophone] SKIPPING tests that decode OTLP: ${d.missing}\n`);
  }
  return d.missing;
}

let requestType: protobuf.Type | undefined;

function exportTraceServiceRequest(): protobuf.Type {
  if (requestType) return requestType;
  const d = protoDir();
  if (!('dir' in d)) throw new Error(`no OTLP .proto files: ${d.missing}`);
  const root = new protobuf.Root();
  // Imports name files relative to the proto root ("opentelemetry/proto/trace/v1/trace.proto").
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(d.dir, target));
  root.loadSync(path.join(d.dir, TRACE_SERVICE), { keepCase: false });
  requestType = root.lookupType(REQUEST_TYPE);
  return requestType;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: unknown;
  kvlistValue?: unknown;
  bytesValue?: string;
}
interface KeyValue { key: string; value?: AnyValue }

function attributeValue(key: string, v: AnyValue | undefined): AttributeValue {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.boolValue !== undefined) return v.boolValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.doubleValue !== undefined) return v.doubleValue;
  // String arrays: the captured header and metadata values.
  const items = (v?.arrayValue as { values?: AnyValue[] } | undefined)?.values;
  if (v?.arrayValue !== undefined && (items ?? []).every((x) => x.stringValue !== undefined)) return (items ?? []).map((x) => x.stringValue!);
  throw new Error(`attribute ${key}: a value of a kind the sensor never writes: ${JSON.stringify(v)}`);
}

function attributes(kvs: KeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = attributeValue(kv.key, kv.value);
  return out;
}

const hex = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('hex');

/** Every span of one ExportTraceServiceRequest, in the order the request holds them. */
export function decodeExportTraceRequest(bytes: Uint8Array): DecodedSpan[] {
  const type = exportTraceServiceRequest();
  const request = type.toObject(type.decode(bytes), { longs: String, enums: Number, bytes: String, defaults: false, arrays: true }) as {
    resourceSpans: { resource?: { attributes?: KeyValue[] }; scopeSpans: { scope?: { name?: string; version?: string }; spans: Record<string, unknown>[] }[] }[];
  };
  const spans: DecodedSpan[] = [];
  for (const rs of request.resourceSpans) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans) {
        const status = (s.status ?? {}) as { code?: number; message?: string };
        spans.push({
          traceId: hex(s.traceId as string),
          spanId: hex(s.spanId as string),
          parentSpanId: hex(s.parentSpanId as string | undefined),
          name: (s.name as string | undefined) ?? '',
          kind: (s.kind as number | undefined) ?? 0,
          startTimeUnixNano: (s.startTimeUnixNano as string | undefined) ?? '0',
          endTimeUnixNano: (s.endTimeUnixNano as string | undefined) ?? '0',
          attributes: attributes(s.attributes as KeyValue[] | undefined),
          status: status.message ? { code: status.code ?? 0, message: status.message } : { code: status.code ?? 0 },
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}
