/**
 * Load shedding between the span builder and the sinks, by a documented
 * rule (README, "Limits"):
 *
 * 1. Spans with an error status are always kept: they are what an operator
 *    looks for when something is on fire, and they are few.
 * 2. Head sampling by trace id: a trace is kept when the low 56 bits of its
 *    id, as a fraction of 2^56, fall below `ratio`. Every span of a trace
 *    gets the same answer, on every node, so sampled traces stay whole (the
 *    W3C randomness bits, as OpenTelemetry's TraceIdRatioBased sampler uses).
 * 3. A ceiling in spans per second (token bucket refilled every second):
 *    beyond it, the sensor drops and counts rather than letting sinks and
 *    memory take the surge.
 *
 * Every span dropped here is counted by reason, and the sensor says so in
 * its log once per interval.
 */
import type { Span } from './span.ts';
import { StatusCode } from './span.ts';

export interface SamplingRule {
  /** Fraction of traces kept, 0..1 (1: all). */
  readonly ratio: number;
  /** Spans per second at most (0: no ceiling). Error spans do not count against it. */
  readonly maxPerSecond: number;
}

export interface SamplerStats {
  kept: number;
  droppedByRatio: number;
  droppedByRate: number;
  keptErrors: number;
}

const LOW_56 = 2 ** 56;

/** The low 56 bits of a 32-hex-digit trace id, as a fraction of 2^56. */
export function traceRandomness(traceId: string): number {
  // 14 hex digits = 56 bits: exact in a double.
  return parseInt(traceId.slice(18, 32), 16) / LOW_56;
}

export class SpanSampler {
  private readonly rule: SamplingRule;
  private readonly now: () => number;
  private windowStart = 0;
  private usedInWindow = 0;
  readonly stats: SamplerStats = { kept: 0, droppedByRatio: 0, droppedByRate: 0, keptErrors: 0 };

  constructor(rule: SamplingRule, now: () => number = () => performance.now()) {
    if (!(rule.ratio >= 0 && rule.ratio <= 1)) throw new RangeError(`sampling ratio must be from 0 to 1, got ${rule.ratio}`);
    if (!(rule.maxPerSecond >= 0)) throw new RangeError(`maxPerSecond must be 0 or more, got ${rule.maxPerSecond}`);
    this.rule = rule;
    this.now = now;
  }

  /** Whether the rule sheds anything at all; a sampler that keeps everything is left out of the pipeline. */
  get active(): boolean {
    return this.rule.ratio < 1 || this.rule.maxPerSecond > 0;
  }

  /** The spans to keep, in order; the rest are counted. */
  filter(spans: readonly Span[]): Span[] {
    const out: Span[] = [];
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.usedInWindow = 0;
    }
    for (const s of spans) {
      if (s.status.code === StatusCode.ERROR) {
        this.stats.keptErrors++;
        this.stats.kept++;
        out.push(s);
        continue;
      }
      if (this.rule.ratio < 1 && traceRandomness(s.traceId) >= this.rule.ratio) {
        this.stats.droppedByRatio++;
        continue;
      }
      if (this.rule.maxPerSecond > 0 && this.usedInWindow >= this.rule.maxPerSecond) {
        this.stats.droppedByRate++;
        continue;
      }
      this.usedInWindow++;
      this.stats.kept++;
      out.push(s);
    }
    return out;
  }
}
