/** A live sensor feeding the real pipeline, collecting spans in memory for a test. */
import { BpfSource, type BpfSourceOptions } from '../../src/source/bpf/bpfSource.ts';
import { Pipeline, type PipelineOptions, type SpanSink } from '../../src/pipeline/pipeline.ts';
import type { Span } from '../../src/spans/span.ts';

export class LiveSpans {
  readonly spans: Span[] = [];
  readonly source: BpfSource;
  readonly pipeline: Pipeline;
  private waiters: Array<() => void> = [];

  /**
   * TLS uprobes are off unless a test asks (tls: true): removing each one
   * costs the kernel ~90 ms at close, which every other live test would pay.
   */
  constructor(options: BpfSourceOptions, pipelineOptions: PipelineOptions = {}) {
    const sink: SpanSink = {
      write: (spans) => {
        this.spans.push(...spans);
        for (const w of this.waiters) w();
      },
      close: async () => {},
    };
    this.pipeline = new Pipeline(sink, pipelineOptions);
    this.source = new BpfSource({ wakeupBytes: 0, tls: false, ...options });
    this.source.start((events) => this.pipeline.accept(events));
  }

  async until(pred: (spans: Span[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (pred(this.spans)) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pred(this.spans)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; have ${this.spans.length} spans: ${this.spans.map((s) => `${s.kind}:${s.name}`).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(check);
    });
  }

  byPid(pid: number): Span[] {
    return this.spans.filter((s) => s.resource['process.pid'] === pid);
  }

  /** Ends tracking (incomplete exchanges are counted, complete ones reported) and detaches. */
  async close(): Promise<void> {
    this.source.close();
    await this.pipeline.close();
  }
}
