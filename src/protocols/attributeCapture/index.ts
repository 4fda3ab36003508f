/**
 * Header, gRPC metadata and query capture, by allow-list, with sensitive
 * headers never captured (the configuration's `attributes` section).
 */
export { AttributeCapture, SENSITIVE_HEADERS, attributeCaptureOf } from './attributeCapture.ts';
export type { AttributeCaptureSettings } from './attributeCapture.ts';
export { CaptureNames, CapturedValues, MAX_CAPTURED_VALUES, MAX_CAPTURED_VALUE_LENGTH } from './captureNames.ts';
export type { CaptureStats } from './captureNames.ts';
export { MAX_QUERY_LENGTH, REDACTED, queryOf, redactQuery } from './queryRedaction.ts';
