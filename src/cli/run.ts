/**
 * `hydrophone run`: the daemon. Live capture -> pipeline -> sinks. The
 * embedded default sink is JSON Lines on stdout; OTLP/gRPC and Kafka each
 * sit behind their own bounded queue. Settings come from a YAML file, the
 * environment and flags (src/config), checked before anything starts.
 */
import { parseArgs } from 'node:util';
import { BpfSource } from '../source/bpf/bpfSource.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import { startEnrichment } from '../enrichment/index.ts';
import { IdGenerator } from '../spans/ids.ts';
import { SINK_HELP, buildSinks } from './sinkOptions.ts';
import { intOption } from './options.ts';
import { LIVE_HELP, untilStopped } from './liveOptions.ts';
import { pipelineSummary } from './summary.ts';
import { createLogger } from '../telemetry/logger.ts';
import { UsageError } from './usageError.ts';
import { createSelfMetrics, type InformerSnapshot } from '../telemetry/selfMetrics.ts';
import { HealthServer } from '../telemetry/healthServer.ts';
import { CounterNames } from '../source/bpf/eventLayout.ts';
import { ConfigError, loadConfig, settingFlags } from '../config/loadConfig.ts';
import { printConfig } from '../config/printConfig.ts';
import { SpanSampler } from '../spans/spanSampler.ts';
import { SpanFilter } from '../spans/spanFilter.ts';
import { attributeCaptureOf } from '../protocols/attributeCapture/index.ts';
import { ATTRIBUTE_HELP } from './attributeOptions.ts';
import { labelKeysOf } from '../spans/labelSelector.ts';

/** Says once per interval how many spans the sampler shed, so overload is never silent. */
function sheddingLog(sampler: SpanSampler, log: (line: string) => void, everyMs = 10_000): { stop(): void } {
  let rate = 0;
  const timer = setInterval(() => {
    const s = sampler.stats;
    // Sampling by ratio is the configured rule, not news: only its count is kept current.
    const dRate = s.droppedByRate - rate;
    rate = s.droppedByRate;
    if (dRate > 0) log(`overload: shed ${dRate} spans beyond the ceiling of the last ${everyMs / 1000} s (spans.maxPerSecond); error spans were kept`);
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const HELP = `usage: hydrophone run [--config FILE] [options]

Turns the traffic of every process on this host into OpenTelemetry spans
(HTTP/1.x, HTTP/2, gRPC) and sends them to the sinks (default: one JSON
object per line on stdout). Needs root, like capture.

Every setting can come from a YAML file (--config FILE or $HYDROPHONE_CONFIG),
an environment variable (HYDROPHONE_ and its path in upper snake case, e.g.
HYDROPHONE_OTLP_ENDPOINT, HYDROPHONE_CAPTURE_PORTS=80,443) or a flag; a flag
wins over a variable, which wins over the file. --print-config shows the result.

  --print-config       print the effective configuration (secrets masked) and exit
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
  --namespace NS       only spans of pods in these namespaces (repeat, or NS1,NS2)
  --exclude-namespace NS  no spans of pods in these namespaces
  --process NAME       only spans of these executables (process.executable.name)
  --protocol P         only these protocols: http1, http2, grpc
  --pod-label REQ      only spans of pods whose labels meet every requirement
                       (app=checkout, tier!=debug, team, !canary; repeat or
                       comma-separate); other processes are left out
  --exclude-pod-label REQ  no spans of pods whose labels meet any of these
  --sample-ratio R     keep this fraction of traces, chosen by trace id (default 1);
                       spans with an error status are always kept
  --max-spans-per-second N  shed spans beyond this rate, counted (default 0: no ceiling)
${ATTRIBUTE_HELP}
  --log-format F       json (default: one object per line) or text
  --log-level L        debug, info (default), warn or error
  --health-port N      /healthz, /readyz and /metrics (Prometheus) on this port
                       (default 9464; 0: off)
  --health-address A   the address they listen on (default 0.0.0.0)

${SINK_HELP}`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...settingFlags(),
      duration: { type: 'string' },
      'print-config': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  let loaded;
  try {
    loaded = loadConfig(values);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (values['print-config']) {
    process.stdout.write(printConfig(loaded));
    return 0;
  }
  const config = loaded.config;
  if (config.filters.podLabels.length > 0 && config.kubernetes.mode === 'off') {
    throw new UsageError(`filters.podLabels (from ${loaded.origins.get('filters.podLabels')}) needs pod metadata, but kubernetes.mode is off: no span would pass; remove one of the two`);
  }
  const durationS = intOption('duration', values.duration as string | undefined, 1, 365 * 24 * 3600);
  const logger = createLogger({ format: config.log.format, level: config.log.level });
  const log = (line: string) => logger.info(line);
  const warn = (line: string) => logger.warn(line);
  if (loaded.file) log(`configuration from ${loaded.file}, the environment and flags`);
  // Sinks first: a broken certificate path should fail before probes attach.
  const sinks = await buildSinks(config, warn);
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
  const health = config.health.port === 0 ? undefined : await HealthServer.start({
    host: config.health.address,
    port: config.health.port,
    registry,
    readiness: () => {
      const waitingFor = [...(source ? [] : ['the probes to attach']), ...(pipeline ? [] : ['the pipeline'])];
      return { ready: waitingFor.length === 0, waitingFor };
    },
  });
  if (health) log(`health and metrics on http://${config.health.address}:${health.port}/ (healthz, readyz, metrics)`);
  const enrichment = await startEnrichment({
    kubernetes: config.kubernetes.mode,
    ...(config.kubernetes.nodeName ? { nodeName: config.kubernetes.nodeName } : {}),
    ...(config.kubernetes.clusterName ? { clusterName: config.kubernetes.clusterName } : {}),
    commandLine: config.spans.commandLine,
    deletedPodGraceMs: 1000 * config.kubernetes.deletedPodGraceSeconds,
    podLabelKeys: labelKeysOf([...config.filters.podLabels, ...config.filters.excludePodLabels]),
    log: warn,
  });
  log(enrichment.summary);
  if (enrichment.kubernetes) {
    const kube = enrichment.kubernetes;
    enrichmentStats = () => kube.stats();
  }
  const spanBuilder = new SpanBuilder(new IdGenerator(), enrichment.resolver);
  spanBuilder.routes = config.spans.routes;
  const sampler = new SpanSampler({ ratio: config.spans.sampleRatio, maxPerSecond: config.spans.maxPerSecond });
  if (sampler.active) log(`load shedding: ${config.spans.sampleRatio < 1 ? `${config.spans.sampleRatio * 100}% of traces kept (by trace id)` : 'every trace'}${config.spans.maxPerSecond ? `, at most ${config.spans.maxPerSecond} spans/s` : ''}; error spans always kept`);
  const shedLog = sheddingLog(sampler, log);
  const podMetadata = enrichment.kubernetes;
  const filter = new SpanFilter(config.filters, podMetadata && ((uid) => podMetadata.labelsOfPod(uid)));
  if (config.filters.podLabels.length > 0 && !podMetadata) warn('filters.podLabels is set but there is no Kubernetes metadata (host mode, see above): no span passes it');
  if (filter.active) log(`filters: ${JSON.stringify(config.filters)}`);
  const capture = attributeCaptureOf(config.attributes);
  if (capture) log(capture.describe());
  pipeline = new Pipeline(sinks.fanout, { spanBuilder, sampler, filter, ...(capture ? { capture } : {}) });
  const c = config.capture;
  const started = new BpfSource({
    attach: c.attach,
    pids: c.pids,
    ports: c.ports,
    captureBytes: c.captureBytes,
    ringBufferBytes: c.ringBufferMb * 1024 * 1024,
    unix: c.unix,
    sslBio: c.sslBio,
    goHeaders: c.goHeaders,
    log,
  });
  source = started;
  const running = pipeline;
  log(`running with ${started.attachReason}; spans to ${sinks.descriptions.join(' and ')}`);
  log(started.tls().summary);
  started.start((events) => running.accept(events));
  await untilStopped(durationS);
  const counters = started.kernelCounters();
  started.close();
  await running.close();
  shedLog.stop();
  enrichment.stop();
  await health?.close();
  log(pipelineSummary(running, 0, `ring buffer lost ${counters.ringbufLost} records; ${sinks.fanout.summary()}; ${logger.suppressed} repeated log lines held back`));
  return 0;
}
