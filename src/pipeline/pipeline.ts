/**
 * The pipeline, wired in one place. Each edge is named after what it
 * connects, so the graph reads as a sentence:
 *
 *   source -> sourceToTracker -> ConnectionTracker (reassembly, inference,
 *   parsers) -> trackerToSpanBuilder -> SpanBuilder -> spanBuilderToSink ->
 *   (SpanFilter, SpanSampler: when configured) -> sink
 *
 * Sources (live BPF, recordings, later pcap) call accept() with each batch
 * of events, in order; spans reach the sink once per batch.
 */
import type { SensorEvent } from '../source/events.ts';
import type { Exchange, Protocol } from '../protocols/contract.ts';
import { protocolsWith } from '../protocols/registry.ts';
import type { AttributeCapture } from '../protocols/attributeCapture/index.ts';
import { ConnectionTracker, DEFAULT_TRACKER_LIMITS, type ConnContext, type TrackerLimits } from '../reassembly/connectionTracker.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import type { Span } from '../spans/span.ts';
import type { SpanSampler } from '../spans/spanSampler.ts';
import type { SpanFilter } from '../spans/spanFilter.ts';

export interface SpanSink {
  write(spans: readonly Span[]): void;
  close(): Promise<void>;
}

export interface PipelineOptions {
  protocols?: readonly Protocol[];
  limits?: TrackerLimits;
  spanBuilder?: SpanBuilder;
  /** What the operator chose not to see (spanFilter.ts). */
  filter?: SpanFilter;
  /** Load shedding by the documented rule (spanSampler.ts); absent: every span goes on. */
  sampler?: SpanSampler;
  /** Allow-listed headers, gRPC metadata and url.query the parsers report (attributeCapture); absent: none. */
  capture?: AttributeCapture;
}

export class Pipeline {
  private readonly tracker: ConnectionTracker;
  private readonly spanBuilder: SpanBuilder;
  private readonly sink: SpanSink;
  private readonly sampler: SpanSampler | undefined;
  private readonly filter: SpanFilter | undefined;
  private readonly capture: AttributeCapture | undefined;
  private batch: Span[] = [];
  spans = 0;
  events = 0;

  constructor(sink: SpanSink, options: PipelineOptions = {}) {
    this.sink = sink;
    this.spanBuilder = options.spanBuilder ?? new SpanBuilder();
    this.sampler = options.sampler?.active ? options.sampler : undefined;
    this.filter = options.filter?.active ? options.filter : undefined;
    this.capture = options.capture;
    this.tracker = new ConnectionTracker(options.protocols ?? protocolsWith(options.capture), this.trackerToSpanBuilder, options.limits ?? DEFAULT_TRACKER_LIMITS);
  }

  private readonly trackerToSpanBuilder = (conn: ConnContext, exchange: Exchange): void => {
    this.batch.push(this.spanBuilder.build(conn, exchange));
  };

  private spanBuilderToSink(): void {
    if (this.batch.length === 0) return;
    this.spans += this.batch.length;
    const wanted = this.filter ? this.filter.filter(this.batch) : this.batch;
    const kept = this.sampler ? this.sampler.filter(wanted) : wanted;
    if (kept.length > 0) this.sink.write(kept);
    this.batch = [];
  }

  /** sourceToTracker: one batch of a source's events. */
  accept(events: readonly SensorEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'open') this.spanBuilder.connectionOpened(ev);
      this.tracker.handle(ev);
      // After the tracker: its connections' last exchanges still need the name.
      if (ev.type === 'exit') this.spanBuilder.processExited(ev.pid);
    }
    this.events += events.length;
    this.tracker.flush();
    this.spanBuilderToSink();
  }

  stats() {
    return { events: this.events, spans: this.spans, tracker: this.tracker.stats(), parsers: this.tracker.parserStats(), ...(this.sampler ? { sampler: { ...this.sampler.stats } } : {}), filtered: this.filter?.filtered ?? 0, ...(this.capture ? { captured: { ...this.capture.stats } } : {}) };
  }

  /** Ends every connection (what is complete is reported), then closes the sink. */
  async close(): Promise<void> {
    this.tracker.closeAll();
    this.spanBuilderToSink();
    await this.sink.close();
  }
}
