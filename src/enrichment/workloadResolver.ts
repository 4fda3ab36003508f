/**
 * Who is talking: the OpenTelemetry resource of a traced process (process
 * attributes, its container, and its pod when Kubernetes metadata is
 * available; host.name always), and who it talked to. Resources are made
 * once per process and shared by its spans; one made before its pod was
 * known is made again once the metadata changed (a pod seen a moment after
 * its first connection still gets named).
 */
import type { AttributeValue } from '../spans/span.ts';
import type { KubernetesMetadata } from './kubernetes/kubernetesMetadata.ts';
import { ProcessTable, type ProcessInfo } from './processTable.ts';

export type Resource = Readonly<Record<string, AttributeValue>>;

export interface PeerFacts {
  /** The Service's DNS name, when the peer is a Service. */
  readonly serverAddress?: string;
  /** The peer's service.name. */
  readonly peerService?: string;
}

interface CachedResource {
  readonly info: ProcessInfo | undefined;
  readonly comm: string;
  readonly resource: Resource;
  /** KubernetesMetadata.version it was made at, or -1 when it is complete (pod found, or no container). */
  readonly kubeVersion: number;
}

export class WorkloadResolver {
  private readonly processes: ProcessTable;
  private readonly kube: KubernetesMetadata | undefined;
  private readonly host: string;
  private readonly cache = new Map<number, CachedResource>();

  constructor(processes: ProcessTable, host: string, kube?: KubernetesMetadata) {
    this.processes = processes;
    this.host = host;
    this.kube = kube;
  }

  /** A process's connection opened: read what /proc says while the process surely exists. */
  observe(pid: number, comm: string): void {
    this.processes.observe(pid, comm);
  }

  processExited(pid: number): void {
    this.processes.forget(pid);
    this.cache.delete(pid);
  }

  resourceOf(pid: number, comm: string): Resource {
    const info = this.processes.get(pid);
    const cached = this.cache.get(pid);
    if (cached && cached.info === info && cached.comm === comm && (cached.kubeVersion < 0 || cached.kubeVersion === this.kube?.version)) {
      return cached.resource;
    }
    const proc = info ?? { name: comm };
    const resource: Record<string, AttributeValue> = {
      'service.name': proc.name || 'unknown_service',
      'process.pid': pid,
      'process.executable.name': proc.name,
      'host.name': this.host,
    };
    if (proc.path) resource['process.executable.path'] = proc.path;
    if (proc.commandLine) resource['process.command_line'] = proc.commandLine;
    let complete = true;
    const container = proc.container;
    if (container) {
      resource['container.id'] = container.containerId;
      if (container.runtime) resource['container.runtime'] = container.runtime;
      if (container.podUid) resource['k8s.pod.uid'] = container.podUid;
      const pod = this.kube?.resourceOf(container.containerId);
      if (pod) Object.assign(resource, pod.attributes);
      // Not found (or its owner not) yet: it may arrive from the watch; ask again when the metadata changes.
      complete = this.kube === undefined || pod?.complete === true;
    }
    const frozen = Object.freeze(resource);
    if (this.cache.size >= 8192) this.cache.clear();
    this.cache.set(pid, { info, comm, resource: frozen, kubeVersion: complete ? -1 : this.kube!.version });
    return frozen;
  }

  /** What is known of the peer at `address` (an IP), from Kubernetes metadata. */
  peerOf(address: string): PeerFacts | undefined {
    return this.kube?.peerOf(address);
  }
}
