/**
 * deploy/ as the tests see it: every kustomization there rendered with
 * src/deploy/renderManifests.ts (what `kubectl apply -k` would send), and
 * typed lookups of the objects the assertions read.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../src/native/addon.ts';
import { renderManifests, type KubeManifest } from '../../src/deploy/renderManifests.ts';

export const deployDir = path.join(projectRoot, 'deploy');

/** What one can `kubectl apply -k`: the base, each overlay, the gateway. */
export const APPLICABLE = ['base', 'overlays/legacy-kernel', 'overlays/seccomp-unconfined', 'gateway'] as const;
export type Applicable = (typeof APPLICABLE)[number];

export function render(which: Applicable): KubeManifest[] {
  return renderManifests(path.join(deployDir, which));
}

/** Every kustomization.yaml under deploy/, parsed, by its directory relative to deploy/. */
export function kustomizationFiles(): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === 'kustomization.yaml') found.set(path.relative(deployDir, dir), parseYaml(readFileSync(p, 'utf8')) as Record<string, unknown>);
    }
  };
  walk(deployDir);
  return found;
}

export function find(objects: readonly KubeManifest[], kind: string, name?: string): KubeManifest {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${hits.length}`);
  return hits[0]!;
}

// The shapes the assertions read (a small subset of the Kubernetes types).
export interface Probe { httpGet?: { path: string; port: number | string } }
export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; subPath?: string }
export interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsUser?: number;
    runAsNonRoot?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: VolumeMount[];
  args?: string[];
}
export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  secret?: { secretName: string; defaultMode?: number };
  configMap?: { name: string };
  emptyDir?: { sizeLimit?: string };
}
export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostPID?: boolean;
  hostNetwork?: boolean;
  hostIPC?: boolean;
  priorityClassName?: string;
  tolerations?: { key?: string; operator?: string; effect?: string; value?: string }[];
  securityContext?: { seccompProfile?: { type: string }; runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
}
export interface Workload extends KubeManifest {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    updateStrategy?: { type: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export function workload(objects: readonly KubeManifest[], kind: 'DaemonSet' | 'Deployment', name: string): Workload {
  return find(objects, kind, name) as Workload;
}

/** A container's port number by name or number. */
export function portNumber(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = c.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`container ${c.name} has no port named ${port}`);
  return p.containerPort;
}
