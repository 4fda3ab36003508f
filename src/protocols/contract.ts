/**
 * The one contract every protocol implements (src/protocols/<name>/), after
 * Pixie's socket tracer: inference from the first bytes, then per
 * connection an incremental parser fed the reassembled byte stream of each
 * side, which stitches requests to responses and reports finished
 * exchanges. Adding a protocol means one folder and one line in registry.ts.
 *
 * Streams are given as "request side" and "response side": which of the
 * traced process's directions carries requests depends on its role, and the
 * connection tracker works that out (from the role, or from inference when
 * the role is unknown).
 */
import type { Role } from '../source/events.ts';
import type { AttributeValue } from '../spans/span.ts';

export type Side = 'request' | 'response';

/** Result of one step of a parser (find a frame boundary, parse it). */
export type ParseStep<F> =
  | { readonly kind: 'needMore' }
  /** Not this protocol's bytes at this point: skip `skip` bytes and resynchronise. */
  | { readonly kind: 'invalid'; readonly reason: string; readonly skip: number }
  /** A well-formed frame with nothing to report (e.g. an HTTP/2 PING). */
  | { readonly kind: 'ignored'; readonly consumed: number }
  | { readonly kind: 'frame'; readonly frame: F; readonly consumed: number };

/** What inference concluded from the first bytes of a connection. */
export interface Inference {
  /** Confidence: 'yes' decides at once; 'maybe' waits for more bytes (bounded). */
  readonly verdict: 'yes' | 'maybe' | 'no';
  /** Which traced direction carries requests, when the bytes say so. */
  readonly requestsOn?: 'egress' | 'ingress';
}

/** The first bytes seen in each direction of a connection (may be empty). */
export interface FirstBytes {
  readonly egress: Uint8Array;
  readonly ingress: Uint8Array;
  readonly role: Role;
}

/**
 * One request/response exchange, protocol-neutral enough for the span
 * builder: timing from the stream's own timestamps, and the attributes the
 * protocol's span mapping produced.
 */
export interface Exchange {
  readonly protocol: string;
  /** Span name, low cardinality ("GET /users/{id}", "helloworld.Greeter/SayHello"). */
  readonly name: string;
  /** Time of the first byte of the request and of the last byte of the response. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /**
   * OpenTelemetry semantic-convention attributes. String arrays only for
   * the allow-listed headers and metadata (`http.request.header.<name>`,
   * `rpc.grpc.request.metadata.<key>`...), see ./attributeCapture.
   */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** Error by the protocol's rule for each side (e.g. HTTP: server 5xx; client 4xx and 5xx). */
  readonly error: { readonly server: boolean; readonly client: boolean; readonly message?: string };
  /** A W3C traceparent header value seen on the request, if any. */
  readonly traceparent?: string;
  /**
   * Identifies the exchange on its connection the same way on both ends
   * (HTTP/1: the byte position where the request starts, when both ends
   * were seen from the connection's first byte; HTTP/2: the stream id), so
   * a client span and the server span of the same exchange can be paired
   * when both processes are on this host. Undefined when no such key is
   * known: the spans are then not paired, rather than paired wrongly.
   */
  readonly pairKey?: string;
}

/** Counters a parser keeps; the pipeline exports them per protocol. */
export interface ParserStats {
  /** Bytes skipped to resynchronise after invalid input or a gap. */
  invalidBytes: number;
  /** Requests whose response never came (connection closed, or evicted). */
  unansweredRequests: number;
  /** Responses with no request to pair with (their request was lost). */
  orphanResponses: number;
  /** Exchanges not reported because a gap made them untrustworthy. */
  droppedByGap: number;
}

export interface ConnectionParser {
  /** Contiguous bytes of one side, in order; `tsNs` is when they moved. */
  onData(side: Side, bytes: Uint8Array, tsNs: bigint): void;
  /** `length` bytes of that side are missing here: resynchronise, never stitch across. */
  onGap(side: Side, length: number, tsNs: bigint): void;
  /** The connection closed: report what is complete; count what is not. */
  onClose(tsNs: bigint): void;
  /** Bytes held in buffers (for the memory bound). */
  bufferedBytes(): number;
  /**
   * A header block of one side that the program held in plaintext (a
   * uprobe read it), for protocols whose wire form needs state the
   * observer may lack (HTTP/2's HPACK). Optional: others ignore them.
   */
  onHeaders?(side: Side, block: HeaderBlockCopy, tsNs: bigint): void;
  readonly stats: ParserStats;
}

/**
 * One HTTP/2 header block as the program held it (src/source/events.ts
 * HeadersEvent), in the parsers' terms.
 */
export interface HeaderBlockCopy {
  readonly streamId: number;
  readonly endStream: boolean;
  /** value undefined: not known (withheld, cut short, unreadable). */
  readonly fields: ReadonlyArray<{ readonly name: string; readonly value: string | undefined }>;
  /** Fields whose name or value is not all there, or that the copy could not carry. */
  readonly unknown: number;
  /** It comes after its frame's bytes (a block the program decoded), else before (one it is about to encode). */
  readonly follows: boolean;
}

export interface ParserContext {
  readonly fromStart: boolean;
}

export interface Protocol {
  readonly name: string;
  infer(first: FirstBytes): Inference;
  /**
   * `emit` receives each finished exchange, in completion order.
   * `fromStart`: the streams begin at the connection's first byte (it was
   * seen opening), so byte positions mean the same on both ends.
   */
  createParser(emit: (exchange: Exchange) => void, context: ParserContext): ConnectionParser;
}

export function newParserStats(): ParserStats {
  return { invalidBytes: 0, unansweredRequests: 0, orphanResponses: 0, droppedByGap: 0 };
}
