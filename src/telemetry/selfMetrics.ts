/**
 * The sensor's metrics about itself, in Prometheus text format
 * (prom-client). Nothing is counted twice: every value is read at scrape
 * time from the counters the stages already keep (kernel maps, delivery,
 * tracker, parsers, sink queues, informers), so a scrape costs the reads
 * and the hot paths pay nothing for being observed.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueuedSinkStats } from '../sinks/queuedSink.ts';
import type { TrackerStats } from '../reassembly/connectionTracker.ts';
import type { ParserStats } from '../protocols/contract.ts';
import type { CaptureStats } from '../protocols/attributeCapture/index.ts';
import type { SamplerStats } from '../spans/spanSampler.ts';

/** Per-CPU kernel counters, in the order of their names. */
export interface KernelCounterSnapshot {
  readonly names: readonly string[];
  readonly perCpu: readonly (readonly bigint[])[];
}

export interface InformerSnapshot {
  readonly pods: number;
  readonly services: number;
  readonly endpointSlices: number;
  readonly watches: Readonly<Record<string, { readonly state: string; readonly lists: number; readonly gone: number; readonly errors: number; readonly silentRestarts: number }>>;
}

/** Where each family reads its values; absent sources leave their families empty. */
export interface MetricSources {
  kernel?(): KernelCounterSnapshot | undefined;
  delivery?(): undefined | { readonly batches: number; readonly records: number; readonly bytes: number; readonly waitsForJs: number; readonly inFlight: number; readonly malformed: number };
  pipeline?(): undefined | { readonly events: number; readonly spans: number; readonly tracker: TrackerStats; readonly parsers: Readonly<Record<string, ParserStats>>; readonly sampler?: SamplerStats; readonly filtered?: number; readonly captured?: CaptureStats };
  sinks?(): readonly QueuedSinkStats[];
  sinkCapacity?(sink: string): number | undefined;
  stdout?(): { readonly written: number; readonly dropped: number } | undefined;
  informers?(): InformerSnapshot | undefined;
  tls?(): undefined | { readonly binaries: number; readonly notTraced: number; readonly removed: number };
}

/** Kernel counter names (bpf/abi.h order) -> metric family and help. */
const KERNEL_FAMILIES: Record<string, { name: string; help: string }> = {
  events: { name: 'hydrophone_kernel_events_total', help: 'Events the BPF programs wrote to the ring buffer, per CPU' },
  ringbufLost: { name: 'hydrophone_kernel_events_lost_total', help: 'Events lost because the ring buffer was full, per CPU' },
  bytesLost: { name: 'hydrophone_kernel_bytes_lost_total', help: 'Payload bytes of lost events, per CPU' },
  connMapFull: { name: 'hydrophone_kernel_conn_map_full_total', help: 'Connections not tracked because the kernel connection map was full, per CPU' },
  iovTruncated: { name: 'hydrophone_kernel_iov_truncated_total', help: 'Vectored I/O calls with more entries than are walked, per CPU' },
  filtered: { name: 'hydrophone_kernel_filtered_total', help: 'Events skipped by the pid/port/cgroup filters, per CPU' },
  tlsUnkeyed: { name: 'hydrophone_kernel_tls_unkeyed_total', help: 'TLS plaintext events whose socket could not be learned, per CPU' },
  h2Unkeyed: { name: 'hydrophone_kernel_h2_unkeyed_total', help: 'Go HTTP/2 header blocks not sent because their socket could not be learned, per CPU' },
};

export function createSelfMetrics(sources: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hydrophone_' });
  const counter = (name: string, help: string, labelNames: string[], collect: (c: Counter) => void) =>
    new Counter({ name, help, labelNames, registers: [registry], collect() { this.reset(); collect(this); } });
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); collect(this); } });

  for (const [key, family] of Object.entries(KERNEL_FAMILIES)) {
    counter(family.name, family.help, ['cpu'], (c) => {
      const k = sources.kernel?.();
      const i = k?.names.indexOf(key) ?? -1;
      if (!k || i < 0) return;
      k.perCpu.forEach((values, cpu) => c.inc({ cpu: String(cpu) }, Number(values[i] ?? 0n)));
    });
  }

  counter('hydrophone_delivery_batches_total', 'Batches the addon delivered from the ring buffer to JavaScript', [], (c) => c.inc(sources.delivery?.()?.batches ?? 0));
  counter('hydrophone_delivery_records_total', 'Records delivered from the ring buffer', [], (c) => c.inc(sources.delivery?.()?.records ?? 0));
  counter('hydrophone_delivery_bytes_total', 'Bytes delivered from the ring buffer', [], (c) => c.inc(sources.delivery?.()?.bytes ?? 0));
  counter('hydrophone_delivery_waits_total', 'Times the poll thread waited for JavaScript to finish a batch (the kernel counts the loss meanwhile)', [], (c) => c.inc(sources.delivery?.()?.waitsForJs ?? 0));
  gauge('hydrophone_delivery_batches_in_flight', 'Batches handed to JavaScript and not yet processed', [], (g) => g.set(sources.delivery?.()?.inFlight ?? 0));
  counter('hydrophone_decode_malformed_total', 'Records too short or of an unknown kind (ABI drift)', [], (c) => c.inc(sources.delivery?.()?.malformed ?? 0));

  counter('hydrophone_pipeline_events_total', 'Events the pipeline received', [], (c) => c.inc(sources.pipeline?.()?.events ?? 0));
  counter('hydrophone_spans_built_total', 'Spans the pipeline built', [], (c) => c.inc(sources.pipeline?.()?.spans ?? 0));
  counter('hydrophone_spans_shed_total', 'Spans dropped by load shedding before the sinks, by reason (ratio: head sampling; rate: the spans-per-second ceiling)', ['reason'], (c) => {
    const x = sources.pipeline?.()?.sampler;
    if (!x) return;
    c.inc({ reason: 'ratio' }, x.droppedByRatio);
    c.inc({ reason: 'rate' }, x.droppedByRate);
  });
  counter('hydrophone_spans_filtered_total', 'Spans the configured filters (namespaces, pod labels, processes, protocols) left out', [], (c) => c.inc(sources.pipeline?.()?.filtered ?? 0));
  gauge('hydrophone_connections_tracked', 'Connections tracked now', [], (g) => g.set(sources.pipeline?.()?.tracker.connections ?? 0));
  counter('hydrophone_connections_evicted_total', 'Connections dropped from tracking, by reason', ['reason'], (c) => {
    const t = sources.pipeline?.()?.tracker;
    if (!t) return;
    c.inc({ reason: 'lru' }, t.evictedLru);
    c.inc({ reason: 'idle' }, t.evictedIdle);
  });
  counter('hydrophone_connections_unknown_protocol_total', 'Connections no parser claimed', [], (c) => c.inc(sources.pipeline?.()?.tracker.unknownProtocol ?? 0));
  counter('hydrophone_stream_gaps_total', 'Holes in reassembled streams (lost or uncaptured bytes)', [], (c) => c.inc(sources.pipeline?.()?.tracker.gaps ?? 0));
  counter('hydrophone_stream_gap_bytes_total', 'Bytes missing in those holes', [], (c) => c.inc(sources.pipeline?.()?.tracker.gapBytes ?? 0));
  gauge('hydrophone_stream_buffered_bytes', 'Bytes of traced streams held in memory now, by stage (reorder: events waiting for a hole to fill; inference: first bytes of connections whose protocol is undecided; parser: incomplete frames, heads and messages)', ['stage'], (g) => {
    const b = sources.pipeline?.()?.tracker.buffered;
    if (!b) return;
    g.set({ stage: 'reorder' }, b.reorder);
    g.set({ stage: 'inference' }, b.inference);
    g.set({ stage: 'parser' }, b.parsers);
  });
  counter('hydrophone_parser_errors_total', 'Parser trouble, by protocol and kind', ['protocol', 'kind'], (c) => {
    const parsers = sources.pipeline?.()?.parsers;
    for (const [protocol, s] of Object.entries(parsers ?? {})) {
      c.inc({ protocol, kind: 'invalid_bytes' }, s.invalidBytes);
      c.inc({ protocol, kind: 'orphan_responses' }, s.orphanResponses);
      c.inc({ protocol, kind: 'unanswered_requests' }, s.unansweredRequests);
      c.inc({ protocol, kind: 'dropped_by_gap' }, s.droppedByGap);
    }
  });
  counter('hydrophone_captured_values_cut_total', 'Allow-listed header, metadata and query values cut by the per-message bounds, by reason', ['reason'], (c) => {
    const x = sources.pipeline?.()?.captured;
    if (!x) return;
    c.inc({ reason: 'count' }, x.valuesDropped);
    c.inc({ reason: 'length' }, x.valuesTruncated);
  });

  counter('hydrophone_sink_spans_received_total', 'Spans handed to each sink', ['sink'], (c) => {
    for (const s of sources.sinks?.() ?? []) c.inc({ sink: s.sink }, s.received);
    const out = sources.stdout?.();
    if (out) c.inc({ sink: 'stdout' }, out.written + out.dropped);
  });
  counter('hydrophone_sink_spans_exported_total', 'Spans each backend accepted', ['sink'], (c) => {
    for (const s of sources.sinks?.() ?? []) c.inc({ sink: s.sink }, s.sent);
    const out = sources.stdout?.();
    if (out) c.inc({ sink: 'stdout' }, out.written);
  });
  counter('hydrophone_sink_retries_total', 'Send attempts that failed and were retried', ['sink'], (c) => {
    for (const s of sources.sinks?.() ?? []) c.inc({ sink: s.sink }, s.retries);
  });
  counter('hydrophone_sink_spans_dropped_total', 'Spans a sink dropped, by reason (queue_full, rejected, expired, shutdown, reader_too_slow)', ['sink', 'reason'], (c) => {
    for (const s of sources.sinks?.() ?? []) {
      c.inc({ sink: s.sink, reason: 'queue_full' }, s.dropped.queueFull);
      c.inc({ sink: s.sink, reason: 'rejected' }, s.dropped.rejected);
      c.inc({ sink: s.sink, reason: 'expired' }, s.dropped.expired);
      c.inc({ sink: s.sink, reason: 'shutdown' }, s.dropped.shutdown);
    }
    const out = sources.stdout?.();
    if (out) c.inc({ sink: 'stdout', reason: 'reader_too_slow' }, out.dropped);
  });
  counter('hydrophone_sink_spans_dropped_maybe_delivered_total', 'Of the dropped spans, those whose batch timed out after it was sent: the backend may hold them after all', ['sink'], (c) => {
    for (const s of sources.sinks?.() ?? []) c.inc({ sink: s.sink }, s.droppedMaybeDelivered);
  });
  counter('hydrophone_sink_spans_possibly_duplicated_total', 'Spans sent again after a timed-out attempt: the backend may hold them twice', ['sink'], (c) => {
    for (const s of sources.sinks?.() ?? []) c.inc({ sink: s.sink }, s.possiblyDuplicated);
  });
  gauge('hydrophone_sink_queue_spans', 'Spans waiting in each sink\'s queue', ['sink'], (g) => {
    for (const s of sources.sinks?.() ?? []) g.set({ sink: s.sink }, s.queuedSpans);
  });
  gauge('hydrophone_sink_queue_capacity_spans', 'The cap of each sink\'s queue', ['sink'], (g) => {
    for (const s of sources.sinks?.() ?? []) {
      const cap = sources.sinkCapacity?.(s.sink);
      if (cap !== undefined) g.set({ sink: s.sink }, cap);
    }
  });

  gauge('hydrophone_kubernetes_watch_up', '1 when a Kubernetes watch is synced and watching, by kind', ['kind', 'state'], (g) => {
    for (const [kind, w] of Object.entries(sources.informers?.()?.watches ?? {})) g.set({ kind, state: w.state }, w.state === 'watching' ? 1 : 0);
  });
  counter('hydrophone_kubernetes_watch_events_total', 'Kubernetes list/watch events, by kind (lists, gone, errors, silent_restarts)', ['kind', 'event'], (c) => {
    for (const [kind, w] of Object.entries(sources.informers?.()?.watches ?? {})) {
      c.inc({ kind, event: 'lists' }, w.lists);
      c.inc({ kind, event: 'gone' }, w.gone);
      c.inc({ kind, event: 'errors' }, w.errors);
      c.inc({ kind, event: 'silent_restarts' }, w.silentRestarts);
    }
  });
  gauge('hydrophone_kubernetes_objects', 'Kubernetes objects held (slim copies), by kind', ['kind'], (g) => {
    const i = sources.informers?.();
    if (!i) return;
    g.set({ kind: 'pods' }, i.pods);
    g.set({ kind: 'services' }, i.services);
    g.set({ kind: 'endpointslices' }, i.endpointSlices);
  });

  gauge('hydrophone_tls_binaries_probed', 'Binaries with TLS uprobes attached', [], (g) => g.set(sources.tls?.()?.binaries ?? 0));
  gauge('hydrophone_tls_binaries_not_traced', 'Binaries that carry a TLS library but could not be probed (see the log for why)', [], (g) => g.set(sources.tls?.()?.notTraced ?? 0));
  counter('hydrophone_tls_binaries_removed_total', 'Binaries whose probes were removed because no process used them any more', [], (c) => c.inc(sources.tls?.()?.removed ?? 0));
  return registry;
}
