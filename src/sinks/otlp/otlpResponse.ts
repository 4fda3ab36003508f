/**
 * ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1 },
 * ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2 }:
 * a collector that accepted a request but dropped some of its spans says so
 * here, and those spans must be counted, not reported as sent.
 */
import { protoFields } from './protoReader.ts';

export interface PartialSuccess {
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

export function decodePartialSuccess(response: Uint8Array): PartialSuccess | undefined {
  try {
    for (const [field, body] of protoFields(response)) {
      if (field !== 1 || !(body instanceof Uint8Array)) continue;
      let rejectedSpans = 0;
      let errorMessage = '';
      for (const [f, v] of protoFields(body)) {
        if (f === 1 && typeof v === 'number') rejectedSpans = v;
        if (f === 2 && v instanceof Uint8Array) errorMessage = Buffer.from(v).toString('utf8');
      }
      return rejectedSpans > 0 || errorMessage ? { rejectedSpans, errorMessage } : undefined;
    }
  } catch {
    // A malformed response body: the request itself succeeded.
  }
  return undefined;
}
