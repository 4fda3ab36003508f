/**
 * Our spans as the OpenTelemetry JS SDK's ReadableSpan, the shape its own
 * OTLP serializer takes: tests encode the same spans with it and with ours
 * (src/sinks/otlp/otlpProtobuf.ts) and compare. Ids and times are carried
 * unchanged.
 */
import type { HrTime, SpanContext, Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { Span, AttributeValue } from '../../src/spans/span.ts';
import { SENSOR_NAME, SENSOR_VERSION } from '../../src/sensorIdentity.ts';

/** The instrumentation scope of every span: the sensor itself. */
export const SENSOR_SCOPE = { name: SENSOR_NAME, version: SENSOR_VERSION } as const;

/** OTLP's span kind minus one: the SDK's SpanKind enum (SERVER=1, CLIENT=2). */
const SDK_KIND_OFFSET = 1;
const TRACE_FLAG_SAMPLED = 1;
const NS_PER_S = 1_000_000_000n;

/**
 * One SDK resource per resource object: the serializer groups spans by
 * resource identity, and the span builder hands out one object per workload.
 */
const resources = new WeakMap<object, Resource>();

function sdkResource(attrs: Readonly<Record<string, AttributeValue>>): Resource {
  let r = resources.get(attrs);
  if (r === undefined) {
    r = resourceFromAttributes(attrs as Attributes);
    resources.set(attrs, r);
  }
  return r;
}

function hrTime(ns: bigint): HrTime {
  return [Number(ns / NS_PER_S), Number(ns % NS_PER_S)];
}

export function toReadableSpan(s: Span): ReadableSpan {
  const context: SpanContext = { traceId: s.traceId, spanId: s.spanId, traceFlags: TRACE_FLAG_SAMPLED };
  const start = hrTime(s.startTimeUnixNano);
  const end = hrTime(s.endTimeUnixNano);
  const durationNs = s.endTimeUnixNano - s.startTimeUnixNano;
  return {
    name: s.name,
    kind: s.kind - SDK_KIND_OFFSET,
    spanContext: () => context,
    parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TRACE_FLAG_SAMPLED } : undefined,
    startTime: start,
    endTime: end,
    duration: hrTime(durationNs > 0n ? durationNs : 0n),
    status: s.status.message === undefined ? { code: s.status.code } : { code: s.status.code, message: s.status.message },
    attributes: s.attributes as Attributes,
    links: [],
    events: [],
    ended: true,
    resource: sdkResource(s.resource),
    instrumentationScope: SENSOR_SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  } as ReadableSpan;
}
