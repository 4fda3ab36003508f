/**
 * A live sensor for a test: collects every event, and waits for the ones a
 * test expects instead of sleeping for a guessed time.
 */
import { BpfSource, type BpfSourceOptions } from '../../src/source/bpf/bpfSource.ts';
import type { SensorEvent, DataEvent, ConnOpenEvent } from '../../src/source/events.ts';

export class LiveSensor {
  readonly source: BpfSource;
  readonly events: SensorEvent[] = [];
  private waiters: Array<() => void> = [];

  /**
   * TLS uprobes are off unless a test asks (tls: true): removing each one
   * costs the kernel ~90 ms at close, which every other live test would pay.
   */
  constructor(options: BpfSourceOptions) {
    this.source = new BpfSource({ wakeupBytes: 0, tls: false, ...options });
    this.source.start((batch) => {
      for (const ev of batch) this.events.push(ev);
      for (const w of this.waiters) w();
    });
  }

  /** Resolves once `pred` holds over the events so far; rejects after timeoutMs. */
  async until(pred: (events: SensorEvent[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (pred(this.events)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${this.events.length} events`));
      }, timeoutMs);
      const check = () => {
        if (!pred(this.events)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  opens(filter: (e: ConnOpenEvent) => boolean = () => true): ConnOpenEvent[] {
    return this.events.filter((e): e is ConnOpenEvent => e.type === 'open' && filter(e));
  }

  data(conn: string, direction?: 'egress' | 'ingress'): DataEvent[] {
    return this.events.filter((e): e is DataEvent => e.type === 'data' && e.conn === conn && (!direction || e.direction === direction));
  }

  /** The bytes of one direction, in position order, with holes as a count. */
  stream(conn: string, direction: 'egress' | 'ingress'): { bytes: Buffer; total: number; captured: number } {
    const evs = this.data(conn, direction).sort((a, b) => a.pos - b.pos);
    const total = evs.reduce((n, e) => Math.max(n, e.pos + e.len), 0);
    return { bytes: Buffer.concat(evs.map((e) => e.payload)), total, captured: evs.reduce((n, e) => n + e.payload.length, 0) };
  }

  close(): void {
    this.source.close();
  }
}
