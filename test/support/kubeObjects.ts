/**
 * Kubernetes objects for tests, created through the REST API as a cluster
 * would hold them: nodes with zone labels, workloads chained by
 * ownerReferences (Deployment -> ReplicaSet -> Pod, CronJob -> Job -> Pod,
 * StatefulSet, DaemonSet), pods bound to a node with running container
 * statuses (containerd://<64 hex> ids), Services and EndpointSlices.
 * No controller runs next to the API server: nothing is created, scheduled,
 * garbage collected or given endpoints unless a test does it here.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject, OwnerReference } from './kubeClient.ts';

/** Where each kind lives in the API: group version and plural. */
export const kinds = {
  Namespace: { apiVersion: 'v1', plural: 'namespaces', namespaced: false },
  Node: { apiVersion: 'v1', plural: 'nodes', namespaced: false },
  Pod: { apiVersion: 'v1', plural: 'pods', namespaced: true },
  Service: { apiVersion: 'v1', plural: 'services', namespaced: true },
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments', namespaced: true },
  ReplicaSet: { apiVersion: 'apps/v1', plural: 'replicasets', namespaced: true },
  StatefulSet: { apiVersion: 'apps/v1', plural: 'statefulsets', namespaced: true },
  DaemonSet: { apiVersion: 'apps/v1', plural: 'daemonsets', namespaced: true },
  Job: { apiVersion: 'batch/v1', plural: 'jobs', namespaced: true },
  CronJob: { apiVersion: 'batch/v1', plural: 'cronjobs', namespaced: true },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
} as const;

export type Kind = keyof typeof kinds;

/** The API path of a kind's collection (all namespaces when `namespace` is omitted), or of one object. */
export function kubePath(kind: Kind, namespace?: string, name?: string): string {
  const k = kinds[kind];
  const base = k.apiVersion.includes('/') ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
  const ns = k.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${k.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

/** A container id as the kubelet reports it: `<runtime>://<64 hex digits>`. */
export function containerId(runtime: 'containerd' | 'cri-o' | 'docker' = 'containerd'): string {
  return `${runtime}://${randomBytes(32).toString('hex')}`;
}

/** The controller reference to `owner` that its controller would set on what it creates. */
export function ownerReference(owner: KubeObject): OwnerReference {
  if (!owner.metadata.uid) throw new Error(`${owner.kind} ${owner.metadata.name} has no uid: pass the object the API server returned`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export async function createNamespace(c: KubeClient, name: string, labels: Record<string, string> = {}): Promise<KubeObject> {
  return c.create(kubePath('Namespace'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

export interface NodeOptions {
  /** Sets topology.kubernetes.io/zone (and .../region when `region` is given). */
  zone?: string;
  region?: string;
  labels?: Record<string, string>;
  /** Sets status.addresses InternalIP (through the status subresource). */
  internalIP?: string;
}

export async function createNode(c: KubeClient, name: string, opts: NodeOptions = {}): Promise<KubeObject> {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...opts.labels };
  if (opts.zone) labels['topology.kubernetes.io/zone'] = opts.zone;
  if (opts.region) labels['topology.kubernetes.io/region'] = opts.region;
  const node = await c.create(kubePath('Node'), { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  if (!opts.internalIP) return node;
  return c.patch(`${kubePath('Node', undefined, name)}/status`, {
    status: { addresses: [{ type: 'InternalIP', address: opts.internalIP }, { type: 'Hostname', address: name }] },
  });
}

/** A container of a pod template or pod. */
export interface ContainerSpec {
  name: string;
  image?: string;
  env?: { name: string; value: string }[];
  ports?: { containerPort: number; name?: string; protocol?: 'TCP' | 'UDP' }[];
}

export interface WorkloadOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The controlling owner (e.g. the Deployment of a ReplicaSet, the CronJob of a Job). */
  owner?: KubeObject;
  /** The pod template's containers; one `app` container when omitted. */
  containers?: ContainerSpec[];
  replicas?: number;
}

type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/**
 * A workload whose pod template carries `labels` (default `app: <name>`)
 * and selects on them. Nothing acts on it: pods are created with createPod.
 */
export async function createWorkload(c: KubeClient, kind: WorkloadKind, namespace: string, name: string, opts: WorkloadOptions = {}): Promise<KubeObject> {
  const labels = opts.labels ?? { app: name };
  const containers = (opts.containers ?? [{ name: 'app' }]).map(containerSpec);
  const template = (restartPolicy?: string) => ({ metadata: { labels }, spec: { containers, ...(restartPolicy ? { restartPolicy } : {}) } });
  let spec: Record<string, unknown>;
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
      spec = { replicas: opts.replicas ?? 1, selector: { matchLabels: labels }, template: template() };
      break;
    case 'StatefulSet':
      spec = { replicas: opts.replicas ?? 1, serviceName: name, selector: { matchLabels: labels }, template: template() };
      break;
    case 'DaemonSet':
      spec = { selector: { matchLabels: labels }, template: template() };
      break;
    case 'Job':
      // The API server adds its own selector and labels (controller-uid, job-name).
      spec = { template: template('Never') };
      break;
    case 'CronJob':
      spec = { schedule: '0 0 1 1 *', jobTemplate: { spec: { template: template('Never') } } };
      break;
  }
  const metadata = {
    name,
    namespace,
    labels,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
    ...(opts.owner ? { ownerReferences: [ownerReference(opts.owner)] } : {}),
  };
  return c.create(kubePath(kind, namespace), { apiVersion: kinds[kind].apiVersion, kind, metadata, spec });
}

export const createDeployment = (c: KubeClient, namespace: string, name: string, opts?: WorkloadOptions) => createWorkload(c, 'Deployment', namespace, name, opts);

/** A ReplicaSet owned by `deployment`, named `<deployment>-<hash>` like the Deployment controller does, unless `name` is given. */
export function createReplicaSet(c: KubeClient, namespace: string, deployment: KubeObject, opts: WorkloadOptions & { name?: string } = {}): Promise<KubeObject> {
  const name = opts.name ?? `${deployment.metadata.name}-${randomSuffix(10)}`;
  const labels = opts.labels ?? { ...(deployment.metadata.labels ?? {}), 'pod-template-hash': name.slice(name.lastIndexOf('-') + 1) };
  return createWorkload(c, 'ReplicaSet', namespace, name, { ...opts, labels, owner: deployment });
}

export interface PodOptions {
  /** spec.nodeName: the pod is bound there (no scheduler runs). */
  nodeName: string;
  owner?: KubeObject;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Each container may carry its own id; one is generated (containerd://...) otherwise. */
  containers?: (ContainerSpec & { containerID?: string })[];
  /** status.podIP / podIPs; omit for a pod without an address yet. */
  podIP?: string;
  hostIP?: string;
  /** hostNetwork: true (then podIP is usually the node's address). */
  hostNetwork?: boolean;
  serviceAccountName?: string;
  /** Default Running, with every container running and ready. */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
}

/**
 * A pod bound to `nodeName`, then its status as a kubelet would report it:
 * phase Running, podIP, and one running containerStatus per container with
 * its containerID (status is a subresource: a create ignores it, so it is
 * written with a second request to .../status).
 */
export async function createPod(c: KubeClient, namespace: string, name: string, opts: PodOptions): Promise<KubeObject> {
  const containers = (opts.containers ?? [{ name: 'app' }]).map((ct) => ({ ...ct, containerID: ct.containerID ?? containerId() }));
  const metadata = {
    name,
    namespace,
    labels: opts.labels ?? {},
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
    ...(opts.owner ? { ownerReferences: [ownerReference(opts.owner)] } : {}),
  };
  const spec = {
    nodeName: opts.nodeName,
    containers: containers.map(({ containerID: _id, ...ct }) => containerSpec(ct)),
    ...(opts.hostNetwork ? { hostNetwork: true } : {}),
    ...(opts.serviceAccountName ? { serviceAccountName: opts.serviceAccountName } : {}),
  };
  await c.create(kubePath('Pod', namespace), { apiVersion: 'v1', kind: 'Pod', metadata, spec });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const phase = opts.phase ?? 'Running';
  const running = phase === 'Running';
  const status = {
    phase,
    ...(opts.hostIP ? { hostIP: opts.hostIP, hostIPs: [{ ip: opts.hostIP }] } : {}),
    ...(opts.podIP ? { podIP: opts.podIP, podIPs: [{ ip: opts.podIP }] } : {}),
    startTime: now,
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'ContainersReady', status: running ? 'True' : 'False', lastTransitionTime: now },
      { type: 'Ready', status: running ? 'True' : 'False', lastTransitionTime: now },
    ],
    containerStatuses: containers.map((ct) => {
      const image = ct.image ?? 'registry.example/app:1';
      return {
        name: ct.name,
        image,
        imageID: `${image.split(':')[0]}@sha256:${randomBytes(32).toString('hex')}`,
        containerID: ct.containerID,
        ready: running,
        started: running,
        restartCount: 0,
        state: running ? { running: { startedAt: now } }
          : phase === 'Pending' ? { waiting: { reason: 'ContainerCreating' } }
          : { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error', startedAt: now, finishedAt: now, containerID: ct.containerID } },
      };
    }),
  };
  return c.patch(`${kubePath('Pod', namespace, name)}/status`, { status });
}

/**
 * Deletes a pod at once. A pod bound to a node is otherwise only marked
 * (deletionTimestamp, a MODIFIED event) and waits for its kubelet, which
 * does not exist here, to confirm; grace period 0 removes it (DELETED).
 */
export function deletePod(c: KubeClient, namespace: string, name: string, gracePeriodSeconds = 0): Promise<void> {
  return c.delete(kubePath('Pod', namespace, name), { gracePeriodSeconds });
}

export interface ServiceOptions {
  /** Default `app: <name>`. */
  selector?: Record<string, string>;
  ports?: { port: number; targetPort?: number; name?: string; protocol?: 'TCP' | 'UDP' }[];
  /** A fixed ClusterIP from the service range, or 'None' for a headless Service; allocated by the API server when omitted. */
  clusterIP?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export async function createService(c: KubeClient, namespace: string, name: string, opts: ServiceOptions = {}): Promise<KubeObject> {
  const ports = (opts.ports ?? [{ port: 80, targetPort: 8080, name: 'http' }]).map((p) => ({ protocol: 'TCP', ...p }));
  return c.create(kubePath('Service', namespace), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: opts.labels ?? {}, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: { selector: opts.selector ?? { app: name }, ports, ...(opts.clusterIP ? { clusterIP: opts.clusterIP } : {}) },
  });
}

export interface EndpointOptions {
  ip: string;
  /** targetRef: the pod behind the address. */
  pod?: KubeObject;
  nodeName?: string;
  zone?: string;
  ready?: boolean;
}

/**
 * An EndpointSlice of `service` (label kubernetes.io/service-name), as the
 * EndpointSlice controller would write it; named `<service>-<suffix>` unless `name` is given.
 */
export async function createEndpointSlice(c: KubeClient, namespace: string, service: KubeObject, endpoints: EndpointOptions[], opts: { name?: string; ports?: { port: number; name?: string; protocol?: 'TCP' | 'UDP' }[]; addressType?: 'IPv4' | 'IPv6' } = {}): Promise<KubeObject> {
  const serviceName = service.metadata.name;
  const svcPorts = ((service.spec as { ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] } | undefined)?.ports ?? [])
    .map((p) => ({ name: p.name ?? '', port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP' }));
  return c.create(kubePath('EndpointSlice', namespace), {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${serviceName}-${randomSuffix(5)}`,
      namespace,
      labels: { 'kubernetes.io/service-name': serviceName, 'endpointslice.kubernetes.io/managed-by': 'hydrophone-test' },
      ownerReferences: [{ ...ownerReference(service), blockOwnerDeletion: true }],
    },
    addressType: opts.addressType ?? 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: false },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', namespace: e.pod.metadata.namespace ?? namespace, name: e.pod.metadata.name, uid: e.pod.metadata.uid } } : {}),
    })),
    ports: (opts.ports ?? svcPorts).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  });
}

function containerSpec(ct: ContainerSpec): Record<string, unknown> {
  return {
    name: ct.name,
    image: ct.image ?? 'registry.example/app:1',
    ...(ct.env ? { env: ct.env } : {}),
    ...(ct.ports ? { ports: ct.ports.map((p) => ({ protocol: 'TCP', ...p })) } : {}),
  };
}

/** Lowercase letters and digits, as controllers use for generated names. */
function randomSuffix(n: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
}
