/**
 * Pod, Service and EndpointSlice metadata from the Kubernetes API, for
 * this node's spans: pods limited to this node (field selector
 * spec.nodeName), Services and EndpointSlices of the whole cluster (to name
 * the peers a pod calls; not every pod of the cluster), owners looked up
 * once per ReplicaSet or Job, the node for its zone. All of it slim and
 * bounded (metadataStore.ts); the watches recover on their own
 * (slimListWatch.ts) and never block a span: what is not known in time is
 * simply left out.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import {
  AppsV1Api, BatchV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig,
  type V1EndpointSlice, type V1Pod, type V1Service,
} from '@kubernetes/client-node';
import type { AttributeValue } from '../../spans/span.ts';
import { DEFAULT_STORE_LIMITS, MetadataStore, type StoreLimits, type StoreStats } from './metadataStore.ts';
import { podResource } from './podResource.ts';
import { serviceIdentity } from './serviceName.ts';
import { slimEndpointSlice, slimNode, slimPod, slimService, type OwnerRef, type SlimPod } from './slimObjects.ts';
import { SlimListWatch, type ListWatchState } from './slimListWatch.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where the API server's address and credentials come from, or why there is none (host mode). */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; source: string } | { reason: string } {
  const kc = new KubeConfig();
  try {
    if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
      kc.loadFromCluster();
      return { kc, source: 'in-cluster service account' };
    }
    const file = env.KUBECONFIG?.split(path.delimiter)[0] || path.join(homedir(), '.kube', 'config');
    if (existsSync(file)) {
      kc.loadFromFile(file);
      return { kc, source: `kubeconfig ${file}` };
    }
  } catch (err) {
    return { reason: `Kubernetes configuration unusable (${(err as Error).message}): host mode` };
  }
  return { reason: 'no in-cluster service account and no kubeconfig: host mode (process and host attributes only)' };
}

export interface KubernetesOptions {
  /** This node's name (the downward API's spec.nodeName, as NODE_NAME). */
  readonly nodeName: string;
  readonly clusterName?: string;
  readonly limits?: StoreLimits;
  /** Cluster DNS suffix for Service names (server.address). */
  readonly clusterDomain?: string;
  readonly onProblem?: (message: string) => void;
  /** Watch silence before a fresh list (ms). */
  readonly silentMs?: number;
  /** Pod label keys to keep besides the well-known ones (those the pod-label filters name); labelsOfPod answers with these. */
  readonly podLabelKeys?: readonly string[];
}

/** Owner kinds whose own owner names the workload: ReplicaSet -> Deployment, Job -> CronJob. */
const OWNED_KINDS = new Set(['ReplicaSet', 'Job']);
const NODE_REFRESH_MS = 10 * 60_000;
const SWEEP_MS = 5_000;

export class KubernetesMetadata {
  readonly store: MetadataStore;
  /** Bumped whenever what resourceOf/peerOf answer may have changed: resolvers re-ask then. */
  version = 0;
  private readonly options: KubernetesOptions;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly watches: Array<SlimListWatch<unknown>>;
  private readonly pendingOwners = new Set<string>();
  private nodeTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly onProblem: (message: string) => void;

  constructor(kc: KubeConfig, options: KubernetesOptions) {
    this.options = options;
    this.onProblem = options.onProblem ?? (() => {});
    this.store = new MetadataStore(options.limits ?? DEFAULT_STORE_LIMITS);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const store = this.store;
    const watchOptions = { onProblem: this.onProblem, ...(options.silentMs !== undefined ? { silentMs: options.silentMs } : {}) };
    const pods = new SlimListWatch<V1Pod>(kc, {
      kind: 'pods',
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${options.nodeName}`,
      list: (p) => this.core.listPodForAllNamespaces(p),
      keyOf: (o) => o.metadata?.uid ?? '',
      upsert: (o) => this.onPod(slimPod(o, options.podLabelKeys)),
      remove: (o) => {
        store.deletePod(o.metadata?.uid ?? '');
        this.version++;
      },
      retain: (keys) => store.retainPods(keys),
    }, watchOptions);
    const services = new SlimListWatch<V1Service>(kc, {
      kind: 'services',
      path: '/api/v1/services',
      list: (p) => this.core.listServiceForAllNamespaces(p),
      keyOf: (o) => `${o.metadata?.namespace}/${o.metadata?.name}`,
      upsert: (o) => {
        store.upsertService(slimService(o));
        this.version++;
      },
      remove: (o) => {
        store.deleteService(o.metadata?.namespace ?? '', o.metadata?.name ?? '');
        this.version++;
      },
      retain: (keys) => store.retainServices(keys),
    }, watchOptions);
    const slices = new SlimListWatch<V1EndpointSlice>(kc, {
      kind: 'endpointslices',
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (p) => discovery.listEndpointSliceForAllNamespaces(p),
      keyOf: (o) => o.metadata?.uid ?? '',
      upsert: (o) => {
        store.upsertEndpointSlice(slimEndpointSlice(o));
        this.version++;
      },
      remove: (o) => {
        store.deleteEndpointSlice(o.metadata?.uid ?? '');
        this.version++;
      },
      retain: (keys) => store.retainEndpointSlices(keys),
    }, watchOptions);
    this.watches = [pods, services, slices] as Array<SlimListWatch<unknown>>;
  }

  /**
   * Starts the watches and reads the node. Resolves when every first list
   * completed, or after `timeoutMs` (then the rest arrives later): the
   * sensor never waits on the API to start capturing.
   */
  async start(timeoutMs = 10_000): Promise<{ synced: boolean }> {
    void this.refreshNode();
    this.nodeTimer = setInterval(() => void this.refreshNode(), NODE_REFRESH_MS);
    this.nodeTimer.unref();
    // Deleted pods leave once their grace period is over.
    this.sweepTimer = setInterval(() => this.store.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    const results = await Promise.all(this.watches.map((w) => w.start(timeoutMs)));
    return { synced: results.every(Boolean) };
  }

  stop(): void {
    for (const w of this.watches) w.stop();
    clearInterval(this.nodeTimer);
    clearInterval(this.sweepTimer);
  }

  private async refreshNode(): Promise<void> {
    try {
      this.store.node = slimNode(await this.core.readNode({ name: this.options.nodeName }));
      this.version++;
    } catch (err) {
      this.onProblem(`reading node ${this.options.nodeName} failed: ${(err as Error).message?.split('\n')[0]}`);
    }
  }

  private onPod(p: SlimPod): void {
    this.store.upsertPod(p);
    this.version++;
    if (p.owner && OWNED_KINDS.has(p.owner.kind) && this.store.topOwnerOf(p.namespace, p.owner) === undefined) void this.resolveOwner(p.namespace, p.owner);
  }

  /** A ReplicaSet's Deployment or a Job's CronJob, asked once per owner. */
  private async resolveOwner(namespace: string, owner: OwnerRef): Promise<void> {
    const key = `${namespace}/${owner.kind}/${owner.name}`;
    if (this.pendingOwners.has(key) || this.pendingOwners.size > 256) return;
    this.pendingOwners.add(key);
    try {
      const obj = owner.kind === 'ReplicaSet'
        ? await this.apps.readNamespacedReplicaSet({ name: owner.name, namespace })
        : await this.batch.readNamespacedJob({ name: owner.name, namespace });
      const refs = obj.metadata?.ownerReferences ?? [];
      const top = refs.find((r) => r.controller) ?? refs[0];
      this.store.setTopOwner(namespace, owner, top ? { kind: top.kind, name: top.name } : null);
      this.version++;
    } catch (err) {
      // Deleted meanwhile, or not allowed: the pod's own owner is what is known.
      const status = (err as { code?: number }).code;
      if (status === 404) this.store.setTopOwner(namespace, owner, null);
      else this.onProblem(`reading ${owner.kind} ${namespace}/${owner.name} failed: ${(err as Error).message?.split('\n')[0]}`);
    } finally {
      this.pendingOwners.delete(key);
    }
  }

  private topOwnerOf(pod: SlimPod): OwnerRef | undefined {
    return pod.owner ? this.store.topOwnerOf(pod.namespace, pod.owner) ?? undefined : undefined;
  }

  /**
   * The resource attributes of a container of a pod on this node, when
   * known; `complete` false while its owner's owner is still being asked.
   */
  resourceOf(containerId: string): { attributes: Record<string, AttributeValue>; complete: boolean } | undefined {
    const pod = this.store.podOfContainer(containerId);
    if (!pod) return undefined;
    const topOwner = this.topOwnerOf(pod);
    const complete = !pod.owner || !OWNED_KINDS.has(pod.owner.kind) || this.store.topOwnerOf(pod.namespace, pod.owner) !== undefined;
    const attributes = podResource({
      pod,
      containerId,
      ...(topOwner ? { topOwner } : {}),
      ...(this.store.node ? { node: this.store.node } : {}),
      ...(this.options.clusterName ? { clusterName: this.options.clusterName } : {}),
    });
    return { attributes, complete };
  }

  /**
   * The kept labels of the pod with this uid on this node (a deleted one
   * within its grace period too), or undefined when no such pod is known.
   */
  labelsOfPod(uid: string): Readonly<Record<string, string>> | undefined {
    return this.store.podByUid(uid)?.labels;
  }

  /**
   * What a client span says about whom it called at `ip`: the Service's DNS
   * name as server.address (when the peer is a Service), and the peer's
   * service.name as peer.service.
   */
  peerOf(ip: string): { serverAddress?: string; peerService?: string } | undefined {
    const owner = this.store.ownerOfIp(ip);
    if (!owner) return undefined;
    const domain = this.options.clusterDomain ?? 'cluster.local';
    const serverAddress = owner.service ? `${owner.service.name}.${owner.service.namespace}.svc.${domain}` : undefined;
    let peerService: string | undefined;
    if (owner.pod) {
      // Which container answers is not known from an IP: the first one's rules stand for the pod.
      peerService = serviceIdentity(owner.pod, owner.pod.containers.find((c) => !c.name.startsWith('istio-')) ?? owner.pod.containers[0], (this.topOwnerOf(owner.pod) ?? owner.pod.owner)?.name).name;
    } else if (owner.service) {
      peerService = owner.service.name;
    }
    return { ...(serverAddress ? { serverAddress } : {}), ...(peerService ? { peerService } : {}) };
  }

  stats(): StoreStats & { watches: Record<string, { state: ListWatchState; lists: number; gone: number; errors: number; silentRestarts: number }> } {
    const watches: Record<string, { state: ListWatchState; lists: number; gone: number; errors: number; silentRestarts: number }> = {};
    for (const w of this.watches) {
      watches[w.kind] = { state: w.state, lists: w.counters.lists, gone: w.counters.gone, errors: w.counters.errors, silentRestarts: w.counters.silentRestarts };
    }
    return { ...this.store.stats(), watches };
  }
}
