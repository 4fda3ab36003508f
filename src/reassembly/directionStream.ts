/**
 * One direction of one connection, put back in byte order by the position
 * every data event carries. Out-of-order events are held back until the
 * next flush (two threads writing one socket can race to the ring buffer);
 * a hole still open then is reported as a gap of its exact size. Overlaps
 * keep the first copy. Bytes that were moved but not captured (capture
 * limit, sendfile) are gaps too: the parser decides what they mean.
 */
import type { DataEvent } from '../source/events.ts';

export type Delivery =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly tsNs: bigint }
  | { readonly kind: 'gap'; readonly length: number; readonly tsNs: bigint };

/**
 * What a stream delivers to, in order, as it is delivered: calls rather
 * than Delivery objects in a list, because nearly every event is in order
 * and goes straight on to a parser (an object and a list per packet were
 * a visible part of the pipeline's allocation).
 */
export interface DeliverySink {
  bytes(bytes: Uint8Array, tsNs: bigint): void;
  gap(length: number, tsNs: bigint): void;
}

/** A sink that keeps the deliveries as Delivery objects, in `out`. */
export function collectInto(out: Delivery[]): DeliverySink {
  return {
    bytes: (bytes, tsNs) => out.push({ kind: 'bytes', bytes, tsNs }),
    gap: (length, tsNs) => out.push({ kind: 'gap', length, tsNs }),
  };
}

/** Events held back waiting for a hole to fill, at most; beyond it the hole is a gap. */
const MAX_HELD = 64;

export class DirectionStream {
  /** Next expected position; -1 until the first event. */
  private next: number;
  private held: DataEvent[] = [];
  gaps = 0;
  gapBytes = 0;
  overlapBytes = 0;

  /**
   * `start`: the position the stream begins at when known (0 for a
   * connection seen opening); -1 to begin wherever the first event does.
   */
  constructor(start = -1) {
    this.next = start;
  }

  get holding(): boolean {
    return this.held.length > 0;
  }

  /** Captured bytes of the events held back (at most MAX_HELD + 1 events: cheap to sum when asked). */
  get heldBytes(): number {
    let n = 0;
    for (const ev of this.held) n += ev.payload.length;
    return n;
  }

  /** Takes one event; delivers what can be delivered in order now. */
  push(ev: DataEvent, out: DeliverySink): void {
    if (this.next < 0) this.next = ev.pos;
    if (ev.pos > this.next) {
      this.held.push(ev);
      if (this.held.length > MAX_HELD) this.flush(out);
      return;
    }
    this.deliver(ev, out);
    this.drainHeld(out);
  }

  /** Ends the wait for missing bytes: holes become gaps. */
  flush(out: DeliverySink): void {
    while (this.held.length) {
      this.held.sort((a, b) => a.pos - b.pos);
      const first = this.held[0]!;
      if (first.pos > this.next) {
        const length = first.pos - this.next;
        this.gaps++;
        this.gapBytes += length;
        out.gap(length, first.tsNs);
        this.next = first.pos;
      }
      this.drainHeld(out);
    }
  }

  private drainHeld(out: DeliverySink): void {
    if (!this.held.length) return;
    this.held.sort((a, b) => a.pos - b.pos);
    while (this.held.length && this.held[0]!.pos <= this.next) this.deliver(this.held.shift()!, out);
  }

  private deliver(ev: DataEvent, out: DeliverySink): void {
    const end = ev.pos + ev.len;
    if (end <= this.next) {
      this.overlapBytes += ev.len;
      return;
    }
    const skip = this.next - ev.pos; // already delivered: first copy wins
    this.overlapBytes += skip;
    if (skip < ev.payload.length) out.bytes(skip === 0 ? ev.payload : ev.payload.subarray(skip), ev.tsNs);
    const captured = Math.max(ev.pos + ev.payload.length, this.next);
    if (end > captured) {
      // Moved but not captured: the parser must skip exactly this much.
      if (!ev.lengthOnly) {
        this.gaps++;
        this.gapBytes += end - captured;
      }
      out.gap(end - captured, ev.tsNs);
    }
    this.next = end;
  }
}
