/**
 * One sink behind its own bounded queue. The pipeline's write() only
 * appends to memory and returns: a slow or dead backend never blocks
 * capture or the other sinks. Spans are batched by count and by time, sent
 * one batch at a time in order, retried with backoff and jitter while the
 * backend is away, and dropped oldest-first when the queue is full. Every
 * span ends in exactly one counter (sent, or dropped with a reason), so
 * what is missing at the backend equals what the counters say.
 */
import type { SpanSink } from '../pipeline/pipeline.ts';
import type { Span } from '../spans/span.ts';
import type { BatchExporter, SendOutcome } from './exporter.ts';

export interface QueueLimits {
  /** Spans held at most, batches waiting and the one being retried included. */
  readonly maxQueuedSpans: number;
  /** Spans per batch (one request or one group of messages). */
  readonly maxBatchSpans: number;
  /** A batch is sent at the latest this long after its first span arrived. */
  readonly batchTimeoutMs: number;
  /** Deadline of one send attempt. */
  readonly sendTimeoutMs: number;
  /** Backoff between attempts: first delay, growth factor, cap, and +-jitter fraction. */
  readonly retryInitialMs: number;
  readonly retryMultiplier: number;
  readonly retryMaxMs: number;
  readonly retryJitter: number;
  /** A batch still failing this long after its first attempt is dropped (counted as expired). */
  readonly retryMaxElapsedMs: number;
  /** Drops and permanent errors are logged at most once per interval, with counts. */
  readonly dropLogIntervalMs: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = {
  maxQueuedSpans: 100_000,
  maxBatchSpans: 1_000,
  batchTimeoutMs: 1_000,
  sendTimeoutMs: 10_000,
  retryInitialMs: 500,
  retryMultiplier: 1.5,
  retryMaxMs: 10_000,
  retryJitter: 0.2,
  retryMaxElapsedMs: 300_000,
  dropLogIntervalMs: 10_000,
};

export type DropReason = 'queueFull' | 'rejected' | 'expired' | 'shutdown';

export interface QueuedSinkStats {
  readonly sink: string;
  /** Spans handed to the sink by the pipeline. */
  received: number;
  /** Spans the backend accepted. */
  sent: number;
  /** Send attempts that failed and were tried again. */
  retries: number;
  /** Spans dropped, by reason. received = sent + dropped + queued. */
  dropped: Record<DropReason, number>;
  /**
   * Of the dropped spans, those whose batch had an attempt time out after
   * it left: the backend may hold them after all. Spans lost are between
   * dropped - droppedMaybeDelivered and dropped; never more than dropped.
   */
  droppedMaybeDelivered: number;
  /** Spans sent after an earlier attempt of their batch timed out: the backend may hold them twice (at-least-once). */
  possiblyDuplicated: number;
  queuedSpans: number;
  queuedBatches: number;
}

interface Batch {
  readonly spans: Span[];
  firstAttemptAt: number;
  attempts: number;
  /** An attempt timed out after sending: the backend may have it. */
  maybeDelivered?: boolean;
}

export class QueuedSink implements SpanSink {
  private readonly exporter: BatchExporter;
  private readonly limits: QueueLimits;
  private readonly log: (line: string) => void;
  /** Sealed batches, oldest first. queue[0] may be the one in flight. */
  private readonly queue: Batch[] = [];
  private open: Span[] = [];
  private openTimer: NodeJS.Timeout | undefined;
  private inFlight: Batch | undefined;
  private wakeRetry: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private readonly counters: QueuedSinkStats;
  /** Counts since the last log line, so a burst of drops is one line. */
  private unloggedDrops: Record<DropReason, number> = { queueFull: 0, rejected: 0, expired: 0, shutdown: 0 };
  private lastRejection = '';
  private readonly logTimer: NodeJS.Timeout;

  constructor(exporter: BatchExporter, limits: QueueLimits, log: (line: string) => void) {
    if (limits.maxBatchSpans < 1 || limits.maxQueuedSpans < limits.maxBatchSpans) {
      throw new Error(`${exporter.name}: queue of ${limits.maxQueuedSpans} spans cannot hold one batch of ${limits.maxBatchSpans}: raise the queue size or lower the batch size`);
    }
    this.exporter = exporter;
    this.limits = limits;
    this.log = log;
    this.counters = {
      sink: exporter.name,
      received: 0,
      sent: 0,
      retries: 0,
      dropped: { queueFull: 0, rejected: 0, expired: 0, shutdown: 0 },
      droppedMaybeDelivered: 0,
      possiblyDuplicated: 0,
      queuedSpans: 0,
      queuedBatches: 0,
    };
    this.logTimer = setInterval(() => this.logDrops(), limits.dropLogIntervalMs);
    this.logTimer.unref();
  }

  get name(): string {
    return this.exporter.name;
  }

  write(spans: readonly Span[]): void {
    if (spans.length === 0) return;
    this.counters.received += spans.length;
    if (this.closing) {
      this.drop(spans.length, 'shutdown', false);
      return;
    }
    for (const s of spans) {
      this.open.push(s);
      this.counters.queuedSpans++;
      if (this.open.length >= this.limits.maxBatchSpans) this.seal();
    }
    if (this.open.length > 0 && this.openTimer === undefined) {
      this.openTimer = setTimeout(() => this.seal(), this.limits.batchTimeoutMs);
      this.openTimer.unref();
    }
    this.shedOverflow();
  }

  stats(): QueuedSinkStats {
    return { ...this.counters, dropped: { ...this.counters.dropped }, queuedBatches: this.queue.length + (this.open.length > 0 ? 1 : 0) };
  }

  /**
   * Sends what is queued until it is empty or `deadlineMs` (from now) has
   * passed; what is left is counted as dropped at shutdown. Then closes the
   * exporter.
   */
  async close(deadlineMs = 5_000): Promise<void> {
    this.closing = true;
    this.seal();
    const deadline = Date.now() + deadlineMs;
    // A batch waiting out a backoff is tried once more now rather than after the deadline.
    this.wakeRetry?.();
    const timeUp = new Promise<'timeUp'>((resolve) => setTimeout(() => resolve('timeUp'), Math.max(0, deadlineMs)).unref());
    await Promise.race([this.idle(), timeUp]);
    clearInterval(this.logTimer);
    // Whatever is still queued (the in-flight batch included, whose attempt is abandoned) will not be sent.
    for (const b of this.queue.splice(0)) {
      this.drop(b.spans.length, 'shutdown');
      if (b.maybeDelivered) this.counters.droppedMaybeDelivered += b.spans.length;
    }
    this.inFlight = undefined;
    this.logDrops();
    await Promise.race([this.exporter.close(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() + 1_000)).unref())]);
  }

  private async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Moves the open batch into the queue and makes sure the sender runs. */
  private seal(): void {
    if (this.openTimer !== undefined) {
      clearTimeout(this.openTimer);
      this.openTimer = undefined;
    }
    if (this.open.length === 0) return;
    this.queue.push({ spans: this.open, firstAttemptAt: 0, attempts: 0 });
    this.open = [];
    this.kick();
  }

  /** Drops the oldest batches not in the middle of an attempt until the queue fits its cap. */
  private shedOverflow(): void {
    let i = 0;
    while (this.counters.queuedSpans > this.limits.maxQueuedSpans && i < this.queue.length) {
      const b = this.queue[i]!;
      if (b === this.inFlight && this.wakeRetry === undefined) {
        i++; // its attempt is on the wire: the outcome decides
        continue;
      }
      this.queue.splice(i, 1);
      if (b === this.inFlight) {
        this.inFlight = undefined;
        this.wakeRetry?.();
      }
      this.drop(b.spans.length, 'queueFull');
      if (b.maybeDelivered) this.counters.droppedMaybeDelivered += b.spans.length;
    }
    // Still over (everything sealed is gone or on the wire): the open batch's oldest spans go.
    const over = this.counters.queuedSpans - this.limits.maxQueuedSpans;
    if (over > 0 && this.open.length > 0) {
      const n = Math.min(over, this.open.length);
      this.open.splice(0, n);
      this.drop(n, 'queueFull');
    }
  }

  /** Counts dropped spans; `queued` says whether they had been counted in queuedSpans. */
  private drop(n: number, reason: DropReason, queued = true): void {
    this.counters.dropped[reason] += n;
    this.unloggedDrops[reason] += n;
    if (queued) this.counters.queuedSpans -= n;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.sendAll().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0 && this.inFlight === undefined && !this.closing) this.kick();
    });
  }

  private async sendAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      this.inFlight = batch;
      if (batch.attempts === 0) batch.firstAttemptAt = Date.now();
      batch.attempts++;
      const outcome = await this.attempt(batch);
      if (this.inFlight !== batch) continue; // dropped by overflow or shutdown meanwhile
      if (outcome.kind === 'sent') {
        this.finish(batch);
        const rejected = Math.min(outcome.rejected ?? 0, batch.spans.length);
        this.counters.sent += batch.spans.length - rejected;
        if (batch.maybeDelivered) this.counters.possiblyDuplicated += batch.spans.length;
        if (rejected > 0) this.reject(rejected, `it accepted the request but dropped some of its spans (partial success): ${outcome.rejectedReason || 'no reason given'}`);
        continue;
      }
      if (outcome.kind === 'permanent') {
        this.finish(batch);
        this.reject(batch.spans.length, outcome.reason);
        continue;
      }
      if (outcome.maybeDelivered) batch.maybeDelivered = true;
      const elapsed = Date.now() - batch.firstAttemptAt;
      if (this.closing || elapsed >= this.limits.retryMaxElapsedMs) {
        this.finish(batch);
        this.drop(batch.spans.length, this.closing ? 'shutdown' : 'expired', false);
        if (batch.maybeDelivered) this.counters.droppedMaybeDelivered += batch.spans.length;
        if (this.closing) return;
        continue;
      }
      this.counters.retries++;
      this.lastRejection = outcome.reason;
      await this.backoff(batch, outcome.retryAfterMs);
    }
    this.inFlight = undefined;
  }

  private async attempt(batch: Batch): Promise<SendOutcome> {
    try {
      return await this.exporter.send(batch.spans, Date.now() + this.limits.sendTimeoutMs);
    } catch (err) {
      // An exporter must not throw; if one does, it is a bug worth a retry rather than a crash.
      return { kind: 'retryable', reason: `exporter threw: ${(err as Error).message}` };
    }
  }

  private finish(batch: Batch): void {
    const i = this.queue.indexOf(batch);
    if (i >= 0) this.queue.splice(i, 1);
    this.counters.queuedSpans -= batch.spans.length;
    this.inFlight = undefined;
  }

  private reject(n: number, reason: string): void {
    this.drop(n, 'rejected', false);
    if (this.lastRejection !== reason) {
      // The first of a kind is logged at once; repeats are summed in the interval line.
      this.log(`${this.name}: the backend refused ${n} spans for good: ${reason}`);
      this.unloggedDrops.rejected -= n;
    }
    this.lastRejection = reason;
  }

  private backoff(batch: Batch, retryAfterMs: number | undefined): Promise<void> {
    const base = Math.min(this.limits.retryMaxMs, this.limits.retryInitialMs * this.limits.retryMultiplier ** (batch.attempts - 1));
    const jittered = base * (1 + (Math.random() * 2 - 1) * this.limits.retryJitter);
    // The backend's own pause (gRPC RetryInfo, Kafka throttling) wins over our guess, within the cap.
    const delay = Math.min(this.limits.retryMaxElapsedMs, retryAfterMs ?? jittered);
    return new Promise((resolve) => {
      this.wakeRetry = () => {
        clearTimeout(this.retryTimer);
        this.wakeRetry = undefined;
        resolve();
      };
      this.retryTimer = setTimeout(() => this.wakeRetry?.(), delay);
    });
  }

  private logDrops(): void {
    const d = this.unloggedDrops;
    const total = d.queueFull + d.rejected + d.expired + d.shutdown;
    if (total === 0) return;
    const parts: string[] = [];
    if (d.queueFull) parts.push(`${d.queueFull} because the queue was full (cap ${this.limits.maxQueuedSpans} spans; the backend is slow or away${this.lastRejection ? `: ${this.lastRejection}` : ''})`);
    if (d.rejected) parts.push(`${d.rejected} refused by the backend (${this.lastRejection})`);
    if (d.expired) parts.push(`${d.expired} still failing after ${Math.round(this.limits.retryMaxElapsedMs / 1000)} s of retries${this.lastRejection ? ` (${this.lastRejection})` : ''}`);
    if (d.shutdown) parts.push(`${d.shutdown} not sent before the shutdown deadline${this.lastRejection ? ` (last error: ${this.lastRejection})` : ''}`);
    this.log(`${this.name}: dropped ${total} spans: ${parts.join('; ')}`);
    this.unloggedDrops = { queueFull: 0, rejected: 0, expired: 0, shutdown: 0 };
  }
}
