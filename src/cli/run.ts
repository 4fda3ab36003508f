/**
 * `hydrophone run`: the daemon. Live capture -> pipeline -> sinks. The
 * embedded default sink is JSON Lines on stdout; OTLP/gRPC and Kafka each
 * sit behind their own bounded queue.
 */
import { parseArgs } from 'node:util';
import { BpfSource } from '../source/bpf/bpfSource.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import { startEnrichment } from '../enrichment/index.ts';
import { IdGenerator } from '../spans/ids.ts';
import { SINK_HELP, SINK_OPTIONS, buildSinks } from './sinkOptions.ts';
import { choice, intOption } from './options.ts';
import { LIVE_HELP, LIVE_OPTIONS, liveSourceOptions, untilStopped } from './liveOptions.ts';
import { reportPipeline } from './summary.ts';
import { createSelfMetrics, type InformerSnapshot } from '../telemetry/selfMetrics.ts';
import { HealthServer } from '../telemetry/healthServer.ts';
import { CounterNames } from '../source/bpf/eventLayout.ts';

const HELP = `usage: hydrophone run [options]

Turns the traffic of every process on this host into OpenTelemetry spans
(HTTP/1.x, HTTP/2, gRPC) and sends them to the sinks (default: one JSON
object per line on stdout). Needs root, like capture.

  --routes MODE        collapse (default: ids in paths become {id}, {uuid}, {hash},
                       {token}) or raw (paths as they are: high cardinality)
  --kubernetes MODE    auto (default: pod metadata when an in-cluster service
                       account or a kubeconfig is found) or off (host mode)
  --node-name NAME     this node (default: $NODE_NAME, else the host name)
  --cluster-name NAME  k8s.cluster.name on every span
  --deleted-pod-grace S  seconds a deleted pod still names late spans (default 60)
  --command-line       put process.command_line on resources (off by default:
                       arguments can carry secrets)
${LIVE_HELP}
  --health-port N      /healthz, /readyz and /metrics (Prometheus) on this port
                       (default 9464; 0: off)
  --health-address A   the address they listen on (default 0.0.0.0)

${SINK_HELP}`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...LIVE_OPTIONS,
      ...SINK_OPTIONS,
      'health-port': { type: 'string' },
      'health-address': { type: 'string' },
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
  const { source: sourceOptions, durationS } = liveSourceOptions(values);
  const log = (line: string) => process.stderr.write(`hydrophone: ${line}\n`);
  // Sinks first: a broken certificate path should fail before probes attach.
  const sinks = await buildSinks(values, log);
  // The endpoints come up before the probes, so that /readyz can say what it waits for.
  let source: BpfSource | undefined;
  let pipeline: Pipeline | undefined;
  let enrichmentStats: (() => InformerSnapshot) | undefined;
  const registry = createSelfMetrics({
    kernel: () => (source ? { names: CounterNames, perCpu: source.kernelCountersPerCpu() } : undefined),
    delivery: () => source?.deliveryStats(),
    pipeline: () => pipeline?.stats(),
    sinks: () => sinks.fanout.queueStats(),
    sinkCapacity: () => sinks.queueCapacity,
    stdout: () => sinks.fanout.stdoutStats(),
    informers: () => enrichmentStats?.(),
    tls: () => {
      const t = source?.tls();
      return t && { binaries: t.attached.length, notTraced: t.skipped.length, removed: t.removed };
    },
  });
  const healthPort = intOption('health-port', values['health-port'], 0, 65535) ?? 9464;
  const health = healthPort === 0 ? undefined : await HealthServer.start({
    host: values['health-address'] ?? '0.0.0.0',
    port: healthPort,
    registry,
    readiness: () => {
      const waitingFor = [...(source ? [] : ['the probes to attach']), ...(pipeline ? [] : ['the pipeline'])];
      return { ready: waitingFor.length === 0, waitingFor };
    },
  });
  if (health) log(`health and metrics on http://${values['health-address'] ?? '0.0.0.0'}:${health.port}/ (healthz, readyz, metrics)`);
  const enrichment = await startEnrichment({
    kubernetes: choice('kubernetes', values.kubernetes, ['auto', 'off'] as const) ?? 'auto',
    ...(values['node-name'] ? { nodeName: values['node-name'] } : {}),
    ...(values['cluster-name'] ? { clusterName: values['cluster-name'] } : {}),
    commandLine: values['command-line'] ?? false,
    ...(values['deleted-pod-grace'] !== undefined ? { deletedPodGraceMs: 1000 * intOption('deleted-pod-grace', values['deleted-pod-grace'], 0, 86_400)! } : {}),
    log,
  });
  log(enrichment.summary);
  if (enrichment.kubernetes) {
    const kube = enrichment.kubernetes;
    enrichmentStats = () => kube.stats();
  }
  const spanBuilder = new SpanBuilder(new IdGenerator(), enrichment.resolver);
  spanBuilder.routes = choice('routes', values.routes, ['collapse', 'raw'] as const) ?? 'collapse';
  pipeline = new Pipeline(sinks.fanout, { spanBuilder });
  const started = new BpfSource({ ...sourceOptions, log });
  source = started;
  const running = pipeline;
  process.stderr.write(`hydrophone: running with ${started.attachReason}; spans to ${sinks.descriptions.join(' and ')}\n`);
  process.stderr.write(`hydrophone: ${started.tls().summary}\n`);
  started.start((events) => running.accept(events));
  await untilStopped(durationS);
  const counters = started.kernelCounters();
  started.close();
  await running.close();
  enrichment.stop();
  await health?.close();
  reportPipeline(running, 0, `ring buffer lost ${counters.ringbufLost} records; ${sinks.fanout.summary()}`);
  return 0;
}
