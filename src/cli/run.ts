/**
 * `hydrophone run`: the daemon. Live capture -> pipeline -> sink. The
 * embedded default sink is JSON Lines on stdout.
 */
import { parseArgs } from 'node:util';
import { BpfSource } from '../source/bpf/bpfSource.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import { JsonLinesSink } from '../sinks/stdoutSink.ts';
import { choice } from './options.ts';
import { LIVE_HELP, LIVE_OPTIONS, liveSourceOptions, untilStopped } from './liveOptions.ts';
import { reportPipeline } from './summary.ts';

const HELP = `usage: hydrophone run [options]

Turns the traffic of every process on this host into OpenTelemetry spans
(HTTP/1.x, HTTP/2, gRPC), one JSON object per line. Needs root, like capture.

  --sink stdout        where spans go (default stdout; OTLP and Kafka come later)
  --routes MODE        collapse (default: ids in paths become {id}, {uuid}, {hash},
                       {token}) or raw (paths as they are: high cardinality)
${LIVE_HELP}`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...LIVE_OPTIONS, sink: { type: 'string' }, routes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  choice('sink', values.sink, ['stdout'] as const);
  const { source: sourceOptions, durationS } = liveSourceOptions(values);
  const sink = new JsonLinesSink();
  const spanBuilder = new SpanBuilder();
  spanBuilder.routes = choice('routes', values.routes, ['collapse', 'raw'] as const) ?? 'collapse';
  const pipeline = new Pipeline(sink, { spanBuilder });
  const source = new BpfSource({ ...sourceOptions, log: (line) => process.stderr.write(`hydrophone: ${line}\n`) });
  process.stderr.write(`hydrophone: running with ${source.attachReason}; spans to stdout\n`);
  process.stderr.write(`hydrophone: ${source.tls().summary}\n`);
  source.start((events) => pipeline.accept(events));
  await untilStopped(durationS);
  const counters = source.kernelCounters();
  source.close();
  await pipeline.close();
  reportPipeline(pipeline, sink.dropped, `ring buffer lost ${counters.ringbufLost} records`);
  return 0;
}
