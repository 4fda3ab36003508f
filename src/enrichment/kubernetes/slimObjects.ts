/**
 * What the sensor keeps of Kubernetes objects: the few fields spans need,
 * copied out of the API's objects as they arrive, so the caches hold a few
 * hundred bytes per object, never the full object with its managedFields
 * and status history (what made Beyla's metadata store grow past 15 GB).
 */
import type { V1EndpointSlice, V1Node, V1OwnerReference, V1Pod, V1Service } from '@kubernetes/client-node';

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

export interface SlimContainer {
  readonly name: string;
  /** OTEL_SERVICE_NAME from the container's env (a literal value only). */
  readonly otelServiceName?: string;
  /** OTEL_RESOURCE_ATTRIBUTES from the container's env, parsed (literal values only). */
  readonly otelResourceAttributes?: Readonly<Record<string, string>>;
}

export interface SlimPod {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly nodeName: string;
  readonly resourceVersion: string;
  /**
   * app.kubernetes.io/name, app, app.kubernetes.io/instance, app.kubernetes.io/part-of, app.kubernetes.io/version,
   * and the keys the pod-label filters name (those present): never every label, so memory does not grow with a pod's label count.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** resource.opentelemetry.io/* annotations (those present). */
  readonly otelAnnotations: Readonly<Record<string, string>>;
  readonly owner?: OwnerRef;
  readonly containers: readonly SlimContainer[];
  /** Container id (64 hex, no runtime prefix) -> container name, from status. */
  readonly containerIds: ReadonlyMap<string, string>;
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
}

export interface SlimService {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly resourceVersion: string;
  readonly clusterIps: readonly string[];
}

export interface SlimEndpointSlice {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly resourceVersion: string;
  /** The Service the slice belongs to (label kubernetes.io/service-name). */
  readonly serviceName?: string;
  /** Endpoint address -> the pod behind it (targetRef), when it is one. */
  readonly addresses: ReadonlyMap<string, { podName?: string }>;
}

export interface SlimNode {
  readonly name: string;
  readonly zone?: string;
  readonly region?: string;
}

const KEPT_LABELS = ['app.kubernetes.io/name', 'app', 'app.kubernetes.io/instance', 'app.kubernetes.io/part-of', 'app.kubernetes.io/version'];
const OTEL_ANNOTATION_PREFIX = 'resource.opentelemetry.io/';

function pick(from: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!from) return out;
  for (const k of keys) if (typeof from[k] === 'string') out[k] = from[k];
  return out;
}

/** "runtime://<id>" -> "<id>" (containerd://, cri-o://, docker://). */
export function bareContainerId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const at = id.indexOf('://');
  return at < 0 ? id : id.slice(at + 3);
}

/** OTEL_RESOURCE_ATTRIBUTES: "k1=v1,k2=v2" (values percent-encoded, per the OpenTelemetry spec). */
export function parseResourceAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Malformed percent-encoding: keep the raw text rather than drop the attribute.
    }
    if (key) out[key] = value;
  }
  return out;
}

function controllerOf(refs: readonly V1OwnerReference[] | undefined): OwnerRef | undefined {
  const ref = refs?.find((r) => r.controller) ?? refs?.[0];
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/** `labelKeys`: the label keys kept besides the well-known ones service.name needs (those a pod-label filter names). */
export function slimPod(p: V1Pod, labelKeys: readonly string[] = []): SlimPod {
  const md = p.metadata ?? {};
  const containers: SlimContainer[] = [];
  for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])]) {
    const env = c.env ?? [];
    // Only literal values: valueFrom (secrets, field refs) is never read.
    const svc = env.find((e) => e.name === 'OTEL_SERVICE_NAME' && e.value !== undefined)?.value;
    const attrs = env.find((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES' && e.value !== undefined)?.value;
    containers.push({
      name: c.name,
      ...(svc ? { otelServiceName: svc } : {}),
      ...(attrs ? { otelResourceAttributes: parseResourceAttributes(attrs) } : {}),
    });
  }
  const containerIds = new Map<string, string>();
  const st = p.status;
  for (const cs of [...(st?.initContainerStatuses ?? []), ...(st?.containerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])]) {
    const id = bareContainerId(cs.containerID);
    if (id) containerIds.set(id, cs.name);
  }
  const annotations = md.annotations ?? {};
  const otelAnnotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) if (k.startsWith(OTEL_ANNOTATION_PREFIX)) otelAnnotations[k] = v;
  const ips = (st?.podIPs ?? []).map((x) => x.ip).filter((x): x is string => typeof x === 'string');
  if (ips.length === 0 && st?.podIP) ips.push(st.podIP);
  const owner = controllerOf(md.ownerReferences);
  const labels = pick(md.labels, KEPT_LABELS);
  for (const k of labelKeys) if (typeof md.labels?.[k] === 'string') labels[k] = md.labels[k];
  return {
    uid: md.uid ?? '',
    name: md.name ?? '',
    namespace: md.namespace ?? '',
    nodeName: p.spec?.nodeName ?? '',
    resourceVersion: md.resourceVersion ?? '',
    labels,
    otelAnnotations,
    ...(owner ? { owner } : {}),
    containers,
    containerIds,
    ips,
    hostNetwork: p.spec?.hostNetwork === true,
  };
}

export function slimService(s: V1Service): SlimService {
  const md = s.metadata ?? {};
  const ips = (s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None');
  return { uid: md.uid ?? '', name: md.name ?? '', namespace: md.namespace ?? '', resourceVersion: md.resourceVersion ?? '', clusterIps: ips };
}

export function slimEndpointSlice(e: V1EndpointSlice): SlimEndpointSlice {
  const md = e.metadata ?? {};
  const addresses = new Map<string, { podName?: string }>();
  for (const ep of e.endpoints ?? []) {
    const podName = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
    for (const a of ep.addresses ?? []) addresses.set(a, podName ? { podName } : {});
  }
  const serviceName = md.labels?.['kubernetes.io/service-name'];
  return {
    uid: md.uid ?? '',
    name: md.name ?? '',
    namespace: md.namespace ?? '',
    resourceVersion: md.resourceVersion ?? '',
    ...(serviceName ? { serviceName } : {}),
    addresses,
  };
}

export function slimNode(n: V1Node): SlimNode {
  const labels = n.metadata?.labels ?? {};
  const zone = labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'];
  const region = labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'];
  return { name: n.metadata?.name ?? '', ...(zone ? { zone } : {}), ...(region ? { region } : {}) };
}
