/**
 * What is known about each open connection (process name, role, ends), so
 * that every data line can say who is talking. Bounded: the oldest entry is
 * forgotten past `max`, and counted.
 */
import type { ConnOpenEvent, SensorEvent } from '../source/events.ts';

export class ConnDirectory {
  private readonly conns = new Map<string, ConnOpenEvent>();
  private readonly max: number;
  evicted = 0;

  constructor(max = 65536) {
    this.max = max;
  }

  /** Updates the directory from an event; call for every event, in order. */
  observe(ev: SensorEvent): void {
    if (ev.type === 'open') {
      if (this.conns.size >= this.max) {
        const oldest = this.conns.keys().next().value;
        if (oldest !== undefined) this.conns.delete(oldest);
        this.evicted++;
      }
      this.conns.set(ev.conn, ev);
    }
  }

  get(conn: string): ConnOpenEvent | undefined {
    return this.conns.get(conn);
  }

  /** Forgets a connection once its close event has been written. */
  forget(ev: SensorEvent): void {
    if (ev.type === 'close') this.conns.delete(ev.conn);
  }

  get size(): number {
    return this.conns.size;
  }
}
