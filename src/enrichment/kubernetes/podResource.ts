/**
 * The OpenTelemetry resource of a container in a pod: the k8s.* attributes
 * of OpenTelemetry's Kubernetes conventions, as Beyla/OBI sets them, and
 * service.* by the rules of serviceName.ts.
 */
import type { AttributeValue } from '../../spans/span.ts';
import { serviceIdentity } from './serviceName.ts';
import type { OwnerRef, SlimNode, SlimPod } from './slimObjects.ts';

const OWNER_ATTRIBUTE: Readonly<Record<string, string>> = {
  ReplicaSet: 'k8s.replicaset.name',
  Deployment: 'k8s.deployment.name',
  StatefulSet: 'k8s.statefulset.name',
  DaemonSet: 'k8s.daemonset.name',
  Job: 'k8s.job.name',
  CronJob: 'k8s.cronjob.name',
};

export interface PodResourceInput {
  readonly pod: SlimPod;
  readonly containerId: string;
  /** The owner of the pod's owner (a ReplicaSet's Deployment, a Job's CronJob), when known. */
  readonly topOwner?: OwnerRef;
  readonly node?: SlimNode;
  readonly clusterName?: string;
}

export function podResource({ pod, containerId, topOwner, node, clusterName }: PodResourceInput): Record<string, AttributeValue> {
  const containerName = pod.containerIds.get(containerId);
  const container = pod.containers.find((c) => c.name === containerName);
  const owner = pod.owner;
  const out: Record<string, AttributeValue> = {
    'k8s.namespace.name': pod.namespace,
    'k8s.pod.name': pod.name,
    'k8s.pod.uid': pod.uid,
    'container.id': containerId,
  };
  if (containerName) out['k8s.container.name'] = containerName;
  if (pod.nodeName) out['k8s.node.name'] = pod.nodeName;
  for (const o of [owner, topOwner]) {
    const attr = o && OWNER_ATTRIBUTE[o.kind];
    if (attr) out[attr] = o.name;
  }
  if (clusterName) out['k8s.cluster.name'] = clusterName;
  if (node?.zone) out['cloud.availability_zone'] = node.zone;
  if (node?.region) out['cloud.region'] = node.region;
  const ownerName = (topOwner ?? owner)?.name;
  const service = serviceIdentity(pod, container, ownerName);
  out['service.name'] = service.name;
  out['service.namespace'] = service.namespace;
  out['service.instance.id'] = service.instanceId;
  if (service.version) out['service.version'] = service.version;
  return out;
}
