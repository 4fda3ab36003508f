/**
 * Several sinks at once. Each network sink has its own queue, so handing
 * a batch to all of them costs a few array appends and one slow backend
 * never holds up another. close() flushes them together under one deadline.
 */
import type { SpanSink } from '../pipeline/pipeline.ts';
import type { Span } from '../spans/span.ts';
import type { QueuedSink, QueuedSinkStats } from './queuedSink.ts';
import type { JsonLinesSink } from './stdoutSink.ts';

export type NamedSink = { readonly kind: 'queued'; readonly sink: QueuedSink } | { readonly kind: 'stdout'; readonly sink: JsonLinesSink };

export class SinkFanout implements SpanSink {
  readonly sinks: readonly NamedSink[];
  private readonly shutdownDeadlineMs: number;

  constructor(sinks: readonly NamedSink[], shutdownDeadlineMs: number) {
    if (sinks.length === 0) throw new Error('no sink configured: name at least one (stdout, otlp, kafka)');
    this.sinks = sinks;
    this.shutdownDeadlineMs = shutdownDeadlineMs;
  }

  write(spans: readonly Span[]): void {
    for (const s of this.sinks) s.sink.write(spans);
  }

  /** Flushes every sink in parallel; what is still queued at the deadline is counted as dropped. */
  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => (s.kind === 'queued' ? s.sink.close(this.shutdownDeadlineMs) : s.sink.close())));
  }

  queueStats(): QueuedSinkStats[] {
    return this.sinks.flatMap((s) => (s.kind === 'queued' ? [s.sink.stats()] : []));
  }

  /** The stdout sink's counts, when there is one. */
  stdoutStats(): { written: number; dropped: number } | undefined {
    const s = this.sinks.find((x) => x.kind === 'stdout');
    return s ? { written: s.sink.written, dropped: s.sink.dropped } : undefined;
  }

  /** Spans the stdout sink could not print (its reader was too slow). */
  stdoutDropped(): number {
    return this.sinks.reduce((n, s) => n + (s.kind === 'stdout' ? s.sink.dropped : 0), 0);
  }

  /** One clause per sink for the closing summary line. */
  summary(): string {
    return this.sinks
      .map((s) => {
        if (s.kind === 'stdout') return `stdout: ${s.sink.written} printed${s.sink.dropped ? `, ${s.sink.dropped} dropped (reader too slow)` : ''}`;
        const st = s.sink.stats();
        const d = st.dropped;
        const dropped = d.queueFull + d.rejected + d.expired + d.shutdown;
        return `${st.sink}: ${st.sent} sent, ${st.retries} retries, ${dropped} dropped` +
          (dropped ? ` (${d.queueFull} queue full, ${d.rejected} refused, ${d.expired} expired, ${d.shutdown} at shutdown)` : '') +
          (st.droppedMaybeDelivered ? `, ${st.droppedMaybeDelivered} of the dropped timed out after sending (may have arrived)` : '') +
          (st.possiblyDuplicated ? `, ${st.possiblyDuplicated} sent again after a timeout (may have arrived twice)` : '');
      })
      .join('; ');
  }
}
