/**
 * Enrichment's public surface: the resolver of workload metadata for the
 * daemon, in Kubernetes mode when an API server is reachable, host mode
 * otherwise.
 */
import { hostname } from 'node:os';
import { KubernetesMetadata, loadKubeConfig } from './kubernetes/kubernetesMetadata.ts';
import { DEFAULT_STORE_LIMITS } from './kubernetes/metadataStore.ts';
import { ProcessTable } from './processTable.ts';
import { WorkloadResolver } from './workloadResolver.ts';

export { WorkloadResolver } from './workloadResolver.ts';
export { ProcessTable } from './processTable.ts';
export { KubernetesMetadata, loadKubeConfig } from './kubernetes/kubernetesMetadata.ts';
export { containerOfProcCgroup, containerOfCgroupPath } from './container/cgroupContainer.ts';

export interface EnrichmentOptions {
  /** 'auto': Kubernetes when configured (in-cluster or kubeconfig); 'off': host mode. */
  readonly kubernetes: 'auto' | 'off';
  /** This node (NODE_NAME from the downward API; else the host name). */
  readonly nodeName?: string;
  readonly clusterName?: string;
  /** Put process.command_line on resources (off: arguments can carry secrets). */
  readonly commandLine?: boolean;
  /** How long a deleted pod still names late spans (ms; default 60 s). */
  readonly deletedPodGraceMs?: number;
  /** Pod label keys to keep besides the well-known ones: those the pod-label filters name. */
  readonly podLabelKeys?: readonly string[];
  /** How long start() waits for the first lists (ms); capture starts regardless. */
  readonly syncTimeoutMs?: number;
  readonly log: (line: string) => void;
}

export interface Enrichment {
  readonly resolver: WorkloadResolver;
  readonly kubernetes?: KubernetesMetadata;
  /** One line for the startup log: the mode and why. */
  readonly summary: string;
  stop(): void;
}

export async function startEnrichment(options: EnrichmentOptions): Promise<Enrichment> {
  // In a DaemonSet pod the host name is the pod's; the node's name comes from the downward API.
  const host = options.nodeName ?? process.env.NODE_NAME ?? hostname();
  const processes = new ProcessTable({ commandLine: options.commandLine ?? false });
  const hostMode = (why: string): Enrichment => ({ resolver: new WorkloadResolver(processes, host), summary: why, stop() {} });
  if (options.kubernetes === 'off') return hostMode('enrichment: host mode (--kubernetes off)');
  const config = loadKubeConfig();
  if ('reason' in config) return hostMode(`enrichment: ${config.reason}`);
  const nodeName = options.nodeName ?? process.env.NODE_NAME ?? host;
  let warned = 0;
  const kube = new KubernetesMetadata(config.kc, {
    nodeName,
    ...(options.clusterName ? { clusterName: options.clusterName } : {}),
    ...(options.podLabelKeys?.length ? { podLabelKeys: options.podLabelKeys } : {}),
    limits: { ...DEFAULT_STORE_LIMITS, ...(options.deletedPodGraceMs !== undefined ? { deletedPodGraceMs: options.deletedPodGraceMs } : {}) },
    onProblem: (message) => {
      // The watches retry with backoff; a broken API server must not flood the log.
      if (warned++ < 20 || warned % 100 === 0) options.log(`kubernetes: ${message}${warned > 20 ? ` (${warned} problems so far)` : ''}`);
    },
  });
  const { synced } = await kube.start(options.syncTimeoutMs ?? 10_000);
  const stats = kube.stats();
  return {
    resolver: new WorkloadResolver(processes, host, kube),
    kubernetes: kube,
    summary: `enrichment: Kubernetes (${config.source}), node ${nodeName}: ${synced ? 'synced' : 'not synced yet, spans carry what is known meanwhile'}; ${stats.pods} pods on this node, ${stats.services} services, ${stats.endpointSlices} endpoint slices`,
    stop: () => kube.stop(),
  };
}
