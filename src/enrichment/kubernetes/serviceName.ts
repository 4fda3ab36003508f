/**
 * service.name, service.namespace, service.version and service.instance.id
 * of a container in a pod, in the order OpenTelemetry's Kubernetes rules
 * and Beyla use: what the workload says about itself first (its
 * OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES env, then the
 * resource.opentelemetry.io/* annotations), then well-known labels, then
 * names Kubernetes gives it (the owner's, the container's).
 */
import type { SlimContainer, SlimPod } from './slimObjects.ts';

export interface ServiceIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly version?: string;
  readonly instanceId: string;
}

const ANNOTATION = 'resource.opentelemetry.io/';

/**
 * `ownerName`: the top owner's name (the Deployment, not its ReplicaSet),
 * when known.
 */
export function serviceIdentity(pod: SlimPod, container: SlimContainer | undefined, ownerName: string | undefined): ServiceIdentity {
  const env = container?.otelResourceAttributes ?? {};
  const ann = pod.otelAnnotations;
  const name =
    container?.otelServiceName ??
    env['service.name'] ??
    ann[`${ANNOTATION}service.name`] ??
    pod.labels['app.kubernetes.io/name'] ??
    pod.labels['app'] ??
    ownerName ??
    container?.name ??
    pod.name;
  const namespace = env['service.namespace'] ?? ann[`${ANNOTATION}service.namespace`] ?? pod.namespace;
  const version = env['service.version'] ?? ann[`${ANNOTATION}service.version`] ?? pod.labels['app.kubernetes.io/version'];
  const instanceId =
    env['service.instance.id'] ??
    ann[`${ANNOTATION}service.instance.id`] ??
    // OpenTelemetry's Kubernetes convention: unique per container instance.
    `${pod.namespace}.${pod.name}.${container?.name ?? ''}`;
  return { name, namespace, ...(version ? { version } : {}), instanceId };
}
