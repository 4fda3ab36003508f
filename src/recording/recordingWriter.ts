/** Writes a recording (recordingFormat.ts) as events arrive. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { once } from 'node:events';
import type { SensorEvent } from '../source/events.ts';
import { ConnDirectory } from '../capture/connDirectory.ts';
import { toJsonEvent } from './jsonEvent.ts';
import { RECORDING_FORMAT, RECORDING_VERSION, type RecordingHeader } from './recordingFormat.ts';
import { ABI_VERSION } from '../source/bpf/eventLayout.ts';

export class RecordingWriter {
  private readonly out: WriteStream;
  private readonly conns = new ConnDirectory();
  events = 0;

  constructor(file: string, meta: Pick<RecordingHeader, 'attach' | 'captureBytes'> = {}) {
    this.out = createWriteStream(file, { flags: 'w', mode: 0o600 });
    const header: RecordingHeader = {
      format: RECORDING_FORMAT, version: RECORDING_VERSION, abi: ABI_VERSION,
      createdAt: new Date().toISOString(), host: hostname(), ...meta,
    };
    this.out.write(`${JSON.stringify(header)}\n`);
  }

  write(events: readonly SensorEvent[]): void {
    let text = '';
    for (const ev of events) {
      this.conns.observe(ev);
      const conn = 'conn' in ev && ev.conn !== undefined ? this.conns.get(ev.conn) : undefined;
      text += `${JSON.stringify(toJsonEvent(ev, conn))}\n`;
      this.conns.forget(ev);
      this.events++;
    }
    if (text) this.out.write(text);
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'close');
  }
}
