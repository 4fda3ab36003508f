/**
 * `hydrophone run`: the daemon. Live capture -> pipeline -> sink. The
 * embedded default sink is JSON Lines on stdout.
 */
import { parseArgs } from 'node:util';
import { BpfSource } from '../source/bpf/bpfSource.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import { startEnrichment } from '../enrichment/index.ts';
import { IdGenerator } from '../spans/ids.ts';
import { JsonLinesSink } from '../sinks/stdoutSink.ts';
import { choice, intOption } from './options.ts';
import { LIVE_HELP, LIVE_OPTIONS, liveSourceOptions, untilStopped } from './liveOptions.ts';
import { reportPipeline } from './summary.ts';

const HELP = `usage: hydrophone run [options]

Turns the traffic of every process on this host into OpenTelemetry spans
(HTTP/1.x, HTTP/2, gRPC), one JSON object per line. Needs root, like capture.

  --sink stdout        where spans go (default stdout; OTLP and Kafka come later)
  --routes MODE        collapse (default: ids in paths become {id}, {uuid}, {hash},
                       {token}) or raw (paths as they are: high cardinality)
  --kubernetes MODE    auto (default: pod metadata when an in-cluster service
                       account or a kubeconfig is found) or off (host mode)
  --node-name NAME     this node (default: $NODE_NAME, else the host name)
  --cluster-name NAME  k8s.cluster.name on every span
  --deleted-pod-grace S  seconds a deleted pod still names late spans (default 60)
  --command-line       put process.command_line on resources (off by default:
                       arguments can carry secrets)
${LIVE_HELP}`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...LIVE_OPTIONS,
      sink: { type: 'string' },
      routes: { type: 'string' },
      kubernetes: { type: 'string' },
      'node-name': { type: 'string' },
      'cluster-name': { type: 'string' },
      'deleted-pod-grace': { type: 'string' },
      'command-line': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  choice('sink', values.sink, ['stdout'] as const);
  const { source: sourceOptions, durationS } = liveSourceOptions(values);
  const log = (line: string) => process.stderr.write(`hydrophone: ${line}\n`);
  const enrichment = await startEnrichment({
    kubernetes: choice('kubernetes', values.kubernetes, ['auto', 'off'] as const) ?? 'auto',
    ...(values['node-name'] ? { nodeName: values['node-name'] } : {}),
    ...(values['cluster-name'] ? { clusterName: values['cluster-name'] } : {}),
    commandLine: values['command-line'] ?? false,
    ...(values['deleted-pod-grace'] !== undefined ? { deletedPodGraceMs: 1000 * intOption('deleted-pod-grace', values['deleted-pod-grace'], 0, 86_400)! } : {}),
    log,
  });
  log(enrichment.summary);
  const sink = new JsonLinesSink();
  const spanBuilder = new SpanBuilder(new IdGenerator(), enrichment.resolver);
  spanBuilder.routes = choice('routes', values.routes, ['collapse', 'raw'] as const) ?? 'collapse';
  const pipeline = new Pipeline(sink, { spanBuilder });
  const source = new BpfSource({ ...sourceOptions, log });
  process.stderr.write(`hydrophone: running with ${source.attachReason}; spans to stdout\n`);
  process.stderr.write(`hydrophone: ${source.tls().summary}\n`);
  source.start((events) => pipeline.accept(events));
  await untilStopped(durationS);
  const counters = source.kernelCounters();
  source.close();
  await pipeline.close();
  enrichment.stop();
  reportPipeline(pipeline, sink.dropped, `ring buffer lost ${counters.ringbufLost} records`);
  return 0;
}
