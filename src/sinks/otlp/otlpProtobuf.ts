/**
 * Spans as the OTLP protobuf ExportTraceServiceRequest, the message both
 * network sinks carry (gRPC body, Kafka value). The encoding is
 * OpenTelemetry JS's own serializer of the official OTLP protos, the one
 * its exporters use, so the bytes are what every Collector expects.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Span } from '../../spans/span.ts';
import { toReadableSpan } from './readableSpan.ts';

export function encodeExportTraceRequest(spans: readonly Span[]): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans.map(toReadableSpan));
  // The serializer's type allows undefined for its failure path; it throws instead in practice.
  if (bytes === undefined) throw new Error('OTLP serializer returned nothing for a span batch');
  return bytes;
}
