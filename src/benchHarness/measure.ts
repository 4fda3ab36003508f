/**
 * One capture through the sensor's own pipeline, measured: the figures
 * `hydrophone bench` prints, and the exchange keys for the tshark
 * comparison. Runs in a process of its own per file, so peak RSS is the
 * file's.
 */
import { readDecryptedCapture, readKeyLog, type DecryptedCaptureStats } from '../source/pcap/index.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { replaySpanBuilder } from '../cli/replay.ts';
import { emptyObserved, observedFromSpans, type Observed } from './agreement.ts';

export interface OurFigures {
  file: string;
  packets: number;
  bytes: number;
  spans: number;
  seconds: number;
  mbPerSec: number;
  packetsPerSec: number;
  spansPerSec: number;
  peakRssMb: number;
  gaps: number;
  drops: number;
  error?: string;
}

export async function measure(file: string, perspective: 'server' | 'client', keepKeys: boolean, keylogFile?: string): Promise<{ figures: OurFigures; observed?: Observed }> {
  const observed = emptyObserved();
  let spans = 0;
  const pipeline = new Pipeline(
    {
      write(batch) {
        spans += batch.length;
        if (keepKeys) observedFromSpans(batch, observed);
      },
      close: async () => {},
    },
    { spanBuilder: replaySpanBuilder('capture') },
  );
  const t0 = process.hrtime.bigint();
  const keylog = keylogFile !== undefined ? readKeyLog(keylogFile) : undefined;
  const source = readDecryptedCapture(file, { perspective, comm: 'pcap', keylog });
  let stats: DecryptedCaptureStats | undefined;
  let error: string | undefined;
  try {
    for (;;) {
      const r = await source.next();
      if (r.done) {
        stats = r.value;
        break;
      }
      pipeline.accept(r.value);
    }
  } catch (err) {
    // A damaged file: what was read still counts; the error is reported.
    error = err instanceof Error ? err.message : String(err);
  }
  await pipeline.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const p = pipeline.stats();
  const drops = Object.values(p.parsers).reduce((n, s) => n + s.droppedByGap, 0) + p.tracker.evictedLru;
  const packets = stats?.capture.packets ?? 0;
  const bytes = stats?.capture.bytes ?? 0;
  const figures: OurFigures = {
    file,
    packets,
    bytes,
    spans,
    seconds: +seconds.toFixed(4),
    mbPerSec: +(bytes / 1e6 / seconds).toFixed(1),
    packetsPerSec: Math.round(packets / seconds),
    spansPerSec: Math.round(spans / seconds),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    gaps: p.tracker.gaps,
    drops,
    ...(error ? { error } : {}),
  };
  return keepKeys ? { figures, observed } : { figures };
}
