/** The one-line summary a command prints on stderr when it ends. */
import type { Pipeline } from '../pipeline/pipeline.ts';

export function reportPipeline(pipeline: Pipeline, droppedSpans: number, extra?: string): void {
  process.stderr.write(`hydrophone: ${pipelineSummary(pipeline, droppedSpans, extra)}\n`);
}

/** The summary line without its prefix, for the daemon's logger. */
export function pipelineSummary(pipeline: Pipeline, droppedSpans: number, extra?: string): string {
  const s = pipeline.stats();
  const parse = Object.entries(s.parsers)
    .map(([p, c]) => `${p}: ${c.invalidBytes} invalid bytes, ${c.orphanResponses} orphan responses, ${c.unansweredRequests} unanswered, ${c.droppedByGap} dropped by gaps`)
    .join('; ');
  const shed = s.sampler ? `; ${s.sampler.droppedByRatio} spans sampled out, ${s.sampler.droppedByRate} shed over the rate ceiling` : '';
  return `${s.spans} spans from ${s.events} events; ${s.tracker.gaps} gaps (${s.tracker.gapBytes} bytes); ` +
    `${s.tracker.unknownProtocol} connections of other protocols` +
    `${parse ? `; ${parse}` : ''}${shed}${droppedSpans ? `; ${droppedSpans} spans not printed (stdout too slow)` : ''}${extra ? `; ${extra}` : ''}`;
}
