/**
 * A span as the pipeline hands it to sinks, and its JSON Lines form: the
 * OTLP/JSON span object (ids as hex, times as nanosecond strings, kind and
 * status code as OTLP's integers) with attributes as a flat object and the
 * resource beside it (ARCHITECTURE.md).
 */

/**
 * OTLP AnyValue as spans use it: scalars, and string arrays for the
 * captured header and metadata values (a repeated header gives several).
 */
export type AttributeValue = string | number | boolean | readonly string[];

/** OTLP SpanKind values. */
export const SpanKind = { SERVER: 2, CLIENT: 3 } as const;
/** OTLP Status codes. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: (typeof SpanKind)[keyof typeof SpanKind];
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly status: { readonly code: (typeof StatusCode)[keyof typeof StatusCode]; readonly message?: string };
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

export function spanToJson(s: Span): string {
  return JSON.stringify({
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano.toString(),
    endTimeUnixNano: s.endTimeUnixNano.toString(),
    attributes: s.attributes,
    status: s.status,
    resource: s.resource,
  });
}
