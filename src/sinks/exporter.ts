/**
 * The contract between a sink's queue and the code that talks to one
 * backend. The queue (queuedSink.ts) owns batching, bounds, retries and
 * drop counting; an exporter only sends one batch and says how it went.
 * Results are values, not exceptions (STYLE.md): a send never throws.
 */
import type { Span } from '../spans/span.ts';

export type SendOutcome =
  /** Accepted; a backend may still say it dropped some spans of the batch (OTLP partial success). */
  | { readonly kind: 'sent'; readonly rejected?: number; readonly rejectedReason?: string }
  /**
   * Worth sending again: the backend is away, overloaded or asked for a
   * pause. `maybeDelivered`: the attempt timed out after the request left,
   * so the backend may have taken it anyway (a retry may then duplicate it,
   * and a drop may not be a loss).
   */
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMs?: number; readonly maybeDelivered?: boolean }
  /** Sending again cannot help (rejected data, refused credentials): the batch is dropped and counted. */
  | { readonly kind: 'permanent'; readonly reason: string };

export interface BatchExporter {
  /** Names the sink in logs and counters: 'otlp', 'kafka'. */
  readonly name: string;
  /** Sends one batch. `deadline` is a Date.now() value the send must not outlive. */
  send(spans: readonly Span[], deadline: number): Promise<SendOutcome>;
  /** Releases connections and watchers. Pending sends settle first or fail. */
  close(): Promise<void>;
}
