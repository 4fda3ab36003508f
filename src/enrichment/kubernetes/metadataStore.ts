/**
 * The sensor's view of the cluster, indexed for the two questions spans
 * ask: which pod is this container (by container id), and who is at this
 * IP (pod, or Service by ClusterIP or endpoint). Bounded: at most `limits`
 * objects of each kind (beyond, new ones are counted and not kept), and a
 * deleted pod is kept only for the grace period, so late spans of a
 * short-lived pod still resolve.
 */
import type { OwnerRef, SlimEndpointSlice, SlimNode, SlimPod, SlimService } from './slimObjects.ts';

export interface StoreLimits {
  readonly maxPods: number;
  readonly maxServices: number;
  readonly maxEndpointSlices: number;
  /** How long a deleted pod still resolves (ms). */
  readonly deletedPodGraceMs: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = {
  maxPods: 20_000,
  maxServices: 20_000,
  maxEndpointSlices: 40_000,
  deletedPodGraceMs: 60_000,
};

export interface StoreStats {
  pods: number;
  deletedPodsKept: number;
  services: number;
  endpointSlices: number;
  /** Objects not kept because a cap was reached. */
  droppedOverCap: number;
}

/** Who is at an IP address, as far as the cluster says. */
export interface IpOwner {
  readonly pod?: SlimPod;
  /** Namespace and name of the Service at this ClusterIP, or behind this endpoint. */
  readonly service?: { readonly namespace: string; readonly name: string };
}

export class MetadataStore {
  private readonly limits: StoreLimits;
  private readonly clock: () => number;
  private readonly pods = new Map<string, SlimPod>();
  private readonly deletedAt = new Map<string, number>();
  private readonly podByContainer = new Map<string, string>();
  private readonly podByIp = new Map<string, string>();
  private readonly services = new Map<string, SlimService>();
  private readonly serviceByIp = new Map<string, string>();
  private readonly slices = new Map<string, SlimEndpointSlice>();
  /** Endpoint IP -> the slice (uid) that named it last. */
  private readonly sliceByIp = new Map<string, string>();
  /** Top owners of owners (ReplicaSet -> Deployment, Job -> CronJob), by "ns/kind/name"; null: it has none. */
  private readonly topOwners = new Map<string, OwnerRef | null>();
  node: SlimNode | undefined;
  droppedOverCap = 0;

  constructor(limits: StoreLimits = DEFAULT_STORE_LIMITS, clock: () => number = Date.now) {
    this.limits = limits;
    this.clock = clock;
  }

  // ---- pods ----

  upsertPod(p: SlimPod): void {
    const old = this.pods.get(p.uid);
    if (!old && this.pods.size >= this.limits.maxPods) {
      this.sweep();
      if (this.pods.size >= this.limits.maxPods) {
        this.droppedOverCap++;
        return;
      }
    }
    if (old) this.unindexPod(old);
    this.pods.set(p.uid, p);
    this.deletedAt.delete(p.uid);
    for (const id of p.containerIds.keys()) this.podByContainer.set(id, p.uid);
    // Host-network pods share the node's address: an IP says nothing about them.
    if (!p.hostNetwork) for (const ip of p.ips) this.podByIp.set(ip, p.uid);
  }

  /** The pod is gone from the API; it still resolves for the grace period. */
  deletePod(uid: string): void {
    if (this.pods.has(uid)) this.deletedAt.set(uid, this.clock());
  }

  /** After a relist: pods not in `uids` were deleted while the watch was down. */
  retainPods(uids: ReadonlySet<string>): void {
    for (const uid of this.pods.keys()) if (!uids.has(uid) && !this.deletedAt.has(uid)) this.deletePod(uid);
  }

  private unindexPod(p: SlimPod): void {
    for (const id of p.containerIds.keys()) if (this.podByContainer.get(id) === p.uid) this.podByContainer.delete(id);
    for (const ip of p.ips) if (this.podByIp.get(ip) === p.uid) this.podByIp.delete(ip);
  }

  /** Forgets deleted pods whose grace period is over. */
  sweep(): void {
    const cutoff = this.clock() - this.limits.deletedPodGraceMs;
    for (const [uid, at] of this.deletedAt) {
      if (at > cutoff) continue;
      const p = this.pods.get(uid);
      if (p) this.unindexPod(p);
      this.pods.delete(uid);
      this.deletedAt.delete(uid);
    }
  }

  podByUid(uid: string): SlimPod | undefined {
    return this.pods.get(uid);
  }

  podOfContainer(containerId: string): SlimPod | undefined {
    const uid = this.podByContainer.get(containerId);
    return uid === undefined ? undefined : this.pods.get(uid);
  }

  // ---- services and endpoints ----

  upsertService(s: SlimService): void {
    const key = `${s.namespace}/${s.name}`;
    const old = this.services.get(key);
    if (!old && this.services.size >= this.limits.maxServices) {
      this.droppedOverCap++;
      return;
    }
    if (old) for (const ip of old.clusterIps) if (this.serviceByIp.get(ip) === key) this.serviceByIp.delete(ip);
    this.services.set(key, s);
    for (const ip of s.clusterIps) this.serviceByIp.set(ip, key);
  }

  deleteService(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.services.get(key);
    if (!old) return;
    for (const ip of old.clusterIps) if (this.serviceByIp.get(ip) === key) this.serviceByIp.delete(ip);
    this.services.delete(key);
  }

  retainServices(keys: ReadonlySet<string>): void {
    for (const s of [...this.services.values()]) if (!keys.has(`${s.namespace}/${s.name}`)) this.deleteService(s.namespace, s.name);
  }

  upsertEndpointSlice(e: SlimEndpointSlice): void {
    const old = this.slices.get(e.uid);
    if (!old && this.slices.size >= this.limits.maxEndpointSlices) {
      this.droppedOverCap++;
      return;
    }
    if (old) this.unindexSlice(old);
    this.slices.set(e.uid, e);
    for (const ip of e.addresses.keys()) this.sliceByIp.set(ip, e.uid);
  }

  deleteEndpointSlice(uid: string): void {
    const old = this.slices.get(uid);
    if (!old) return;
    this.unindexSlice(old);
    this.slices.delete(uid);
  }

  retainEndpointSlices(uids: ReadonlySet<string>): void {
    for (const uid of [...this.slices.keys()]) if (!uids.has(uid)) this.deleteEndpointSlice(uid);
  }

  private unindexSlice(e: SlimEndpointSlice): void {
    for (const ip of e.addresses.keys()) if (this.sliceByIp.get(ip) === e.uid) this.sliceByIp.delete(ip);
  }

  /** Who is at `ip`: a pod of this node's view, a Service's ClusterIP, or an endpoint of one. */
  ownerOfIp(ip: string): IpOwner | undefined {
    const svcKey = this.serviceByIp.get(ip);
    if (svcKey !== undefined) {
      const s = this.services.get(svcKey)!;
      return { service: { namespace: s.namespace, name: s.name } };
    }
    const podUid = this.podByIp.get(ip);
    const pod = podUid === undefined ? undefined : this.pods.get(podUid);
    const sliceUid = this.sliceByIp.get(ip);
    const slice = sliceUid === undefined ? undefined : this.slices.get(sliceUid);
    const service = slice?.serviceName ? { namespace: slice.namespace, name: slice.serviceName } : undefined;
    if (!pod && !service) return undefined;
    return { ...(pod ? { pod } : {}), ...(service ? { service } : {}) };
  }

  // ---- owners ----

  /** The owner above `owner` (undefined: not asked yet; null: it has none). */
  topOwnerOf(namespace: string, owner: OwnerRef): OwnerRef | null | undefined {
    return this.topOwners.get(`${namespace}/${owner.kind}/${owner.name}`);
  }

  setTopOwner(namespace: string, owner: OwnerRef, top: OwnerRef | null): void {
    // Bounded like everything else: owners are few per node; a full map is simply rebuilt.
    if (this.topOwners.size >= 4096) this.topOwners.clear();
    this.topOwners.set(`${namespace}/${owner.kind}/${owner.name}`, top);
  }

  stats(): StoreStats {
    return {
      pods: this.pods.size - this.deletedAt.size,
      deletedPodsKept: this.deletedAt.size,
      services: this.services.size,
      endpointSlices: this.slices.size,
      droppedOverCap: this.droppedOverCap,
    };
  }
}
