/**
 * The embedded default sink: spans as JSON Lines on stdout (or any
 * writable). A reader slower than the sensor gets spans dropped and
 * counted, never an unbounded queue in the sensor's memory.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { SpanSink } from '../pipeline/pipeline.ts';
import { spanToJson, type Span } from '../spans/span.ts';

const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export class JsonLinesSink implements SpanSink {
  dropped = 0;
  written = 0;
  private readonly out: Writable;

  constructor(out: Writable = process.stdout) {
    this.out = out;
  }

  write(spans: readonly Span[]): void {
    if (this.out.writableLength > MAX_PENDING_BYTES) {
      this.dropped += spans.length;
      return;
    }
    let text = '';
    for (const s of spans) text += `${spanToJson(s)}\n`;
    this.out.write(text);
    this.written += spans.length;
  }

  async close(): Promise<void> {
    if (this.out.writableLength > 0 && !this.out.writableEnded) await once(this.out, 'drain');
  }
}
