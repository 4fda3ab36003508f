/** The one-line summary a command prints on stderr when it ends. */
import type { Pipeline } from '../pipeline/pipeline.ts';

export function reportPipeline(pipeline: Pipeline, droppedSpans: number, extra?: string): void {
  const s = pipeline.stats();
  const parse = Object.entries(s.parsers)
    .map(([p, c]) => `${p}: ${c.invalidBytes} invalid bytes, ${c.orphanResponses} orphan responses, ${c.unansweredRequests} unanswered, ${c.droppedByGap} dropped by gaps`)
    .join('; ');
  process.stderr.write(
    `hydrophone: ${s.spans} spans from ${s.events} events; ${s.tracker.gaps} gaps (${s.tracker.gapBytes} bytes); ` +
      `${s.tracker.unknownProtocol} connections of other protocols` +
      `${parse ? `; ${parse}` : ''}${droppedSpans ? `; ${droppedSpans} spans not printed (stdout too slow)` : ''}${extra ? `; ${extra}` : ''}\n`,
  );
}
