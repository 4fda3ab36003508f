/**
 * deploy/ rendered as `kubectl apply -k` would send it (base, both
 * overlays, gateway), held to what the issue asks and to what the code
 * needs: every object fits its Kubernetes OpenAPI schema (kubernetes-models);
 * the sensor's DaemonSet is least privilege (no privileged, exactly four
 * capabilities and all others dropped, read-only root, read-only host
 * mounts from an allow-list tied to the code that reads them); the
 * ClusterRole grants exactly the API calls the code makes; the ConfigMap is
 * a configuration the sensor itself accepts, with certificate paths where
 * the Secret is mounted. Then a real kube-apiserver (test/support/
 * kubeApiServer.ts) dry-runs the creation of every object with strict field
 * validation, and admits a pod from the DaemonSet's template only in the
 * namespace labelled for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/loadConfig.ts';
import { projectRoot } from '../../src/native/addon.ts';
import { JSON_PATCH_OPS } from '../../src/deploy/jsonPatch.ts';
import { KUSTOMIZATION_KEYS, manifestId, type KubeManifest } from '../../src/deploy/renderManifests.ts';
import { kubeApiServerUnavailableReason, startKubeApiServer, type KubeApiServer } from '../support/kubeApiServer.ts';
import { APPLICABLE, find, kustomizationFiles, portNumber, render, workload, type Container, type Workload } from './deployTree.ts';
import { validateAgainstSchema } from './kubeSchema.ts';
import { grantedCalls, sensorApiCalls } from './sensorApiCalls.ts';

const NAMESPACE = 'hydrophone-system';
const rendered = Object.fromEntries(APPLICABLE.map((a) => [a, render(a)])) as Record<(typeof APPLICABLE)[number], KubeManifest[]>;
const base = rendered.base;
const daemonSet = workload(base, 'DaemonSet', 'hydrophone-sensor');
const pod = daemonSet.spec.template.spec;
const sensor = (ds: Workload = daemonSet): Container => ds.spec.template.spec.containers.find((c) => c.name === 'sensor')!;

/** The Secret the base references but does not hold, and the files the sensor reads from it. */
const SENSOR_SECRET = { name: 'hydrophone-sensor-tls', keys: ['ca.crt', 'tls.crt', 'tls.key'] };

/**
 * The host paths the sensor may mount, each read-only, with the code that
 * reads it. /proc comes with hostPID; cgroupfs is not mounted: the code
 * reads /proc/<pid>/cgroup, never /sys/fs/cgroup (checked below).
 */
const HOST_PATHS: Record<string, string> = {
  '/sys/kernel/tracing': 'src/source/bpf/tracefs.ts',
  '/sys/kernel/btf': 'src/kernel/kernelFacts.ts',
};

/** The issue's resources, plus jobs: the code reads a pod's Job to name its CronJob. */
const ALLOWED_RESOURCES = new Set(['pods', 'nodes', 'namespaces', 'replicasets', 'services', 'endpointslices', 'jobs']);

/** Paths where two JSON values differ ("/a/0/b"). */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (Object.is(a, b)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return [at];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`));
}

/** Bytes of a memory quantity (Ki, Mi, Gi or plain), millicores of a CPU quantity. */
function quantity(q: string, kind: 'memory' | 'cpu'): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`quantity ${q} not understood by this test`);
  const n = Number(m[1]);
  if (kind === 'cpu') return m[2] === 'm' ? n : n * 1000;
  return n * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1);
}

/** Text of every non-test source file of the sensor (TypeScript and the addon's C++). */
function sensorSources(): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) { if (name !== 'testdata') walk(p); } else if (/\.(ts|cc|h)$/.test(name) && !name.endsWith('.test.ts')) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(projectRoot, 'src'));
  walk(path.join(projectRoot, 'native/src'));
  return out.join('\n');
}

describe('deploy/ kustomizations and the renderer', () => {
  it('use exactly the kustomize keys the renderer implements (but images, there for operators\' overlays), and patch operations it applies', () => {
    const files = kustomizationFiles();
    expect([...files.keys()].sort()).toEqual(['base', 'components/legacy-kernel', 'components/seccomp-unconfined', 'gateway', 'overlays/legacy-kernel', 'overlays/seccomp-unconfined']);
    const keys = new Set([...files.values()].flatMap((k) => Object.keys(k)));
    expect([...keys, 'images'].sort()).toEqual([...KUSTOMIZATION_KEYS].sort());
    const ops = [...files.values()].flatMap((k) => ((k.patches ?? []) as { patch: string }[]).flatMap((p) => [...p.patch.matchAll(/- op: (\w+)/g)].map((m) => m[1]!)));
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) expect(JSON_PATCH_OPS.has(op), op).toBe(true);
  });

  it('render every applicable directory, each object once, namespaced ones in hydrophone-system', () => {
    expect(base.map(manifestId)).toEqual([
      'Namespace hydrophone-system',
      'ServiceAccount hydrophone-system/hydrophone-sensor',
      'rbac.authorization.k8s.io/ClusterRole hydrophone-sensor',
      'rbac.authorization.k8s.io/ClusterRoleBinding hydrophone-sensor',
      'ConfigMap hydrophone-system/hydrophone-sensor-config',
      'apps/DaemonSet hydrophone-system/hydrophone-sensor',
    ]);
    expect(rendered.gateway.map((o) => o.kind)).toEqual(['ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of Object.values(rendered).flat()) expect(o.metadata.namespace, manifestId(o)).toBe(clusterScoped.has(o.kind) ? undefined : NAMESPACE);
    // No Secret anywhere: keys are the operator's (or the portal's), never in the shared manifests.
    expect(Object.values(rendered).flat().filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('every rendered object against its Kubernetes OpenAPI schema (kubernetes-models)', () => {
  for (const which of APPLICABLE) {
    it(`${which}`, async () => {
      for (const o of rendered[which]) await expect(validateAgainstSchema(o), manifestId(o)).resolves.toBeUndefined();
    });
  }

  it('can fail: a mistyped field or a missing required one is refused', async () => {
    const broken = structuredClone(daemonSet);
    (broken.spec.template.spec as unknown as Record<string, unknown>).hostPID = 'yes';
    await expect(validateAgainstSchema(broken)).rejects.toThrow(/hostPID must be boolean/);
    const nameless = structuredClone(daemonSet);
    delete (nameless.spec.template.spec.containers[0] as Partial<Container>).name;
    await expect(validateAgainstSchema(nameless)).rejects.toThrow(/containers\/0 must have required property name/);
  });
});

describe('the sensor DaemonSet is least privilege', () => {
  it('shares only the host PID namespace, runs everywhere, critical, rolling one tenth at a time without surge', () => {
    expect(pod.hostPID).toBe(true);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect(pod.priorityClassName).toBe('system-node-critical');
    // operator Exists without key or effect tolerates every taint.
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(daemonSet.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } });
    expect(daemonSet.spec.template.metadata.labels).toMatchObject(daemonSet.spec.selector.matchLabels);
  });

  it('one container, not privileged, root with exactly BPF, PERFMON, SYS_PTRACE, SYS_RESOURCE, everything else dropped, read-only root', () => {
    expect(pod.initContainers ?? []).toEqual([]);
    expect(pod.containers.map((c) => c.name)).toEqual(['sensor']);
    const sc = sensor().securityContext!;
    expect(sc.privileged ?? false).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.runAsUser).toBe(0);
    expect(sc.capabilities?.drop).toEqual(['ALL']);
    expect([...(sc.capabilities?.add ?? [])].sort()).toEqual(['BPF', 'PERFMON', 'SYS_PTRACE', 'SYS_RESOURCE']);
    expect(pod.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(sc.seccompProfile).toBeUndefined();
    expect(sensor().image).toBe(`hydrophone-sensor:${(JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version}`);
  });

  it('mounts from the host only allow-listed paths, read-only, where the code looks for them', () => {
    const hostVolumes = (pod.volumes ?? []).filter((v) => v.hostPath);
    expect(hostVolumes.map((v) => v.hostPath!.path).sort()).toEqual(Object.keys(HOST_PATHS).sort());
    for (const v of hostVolumes) {
      const mounts = (sensor().volumeMounts ?? []).filter((m) => m.name === v.name);
      expect(mounts, v.name).toEqual([{ name: v.name, mountPath: v.hostPath!.path, readOnly: true }]);
      expect(v.hostPath!.type).toBe('Directory');
      expect(readFileSync(path.join(projectRoot, HOST_PATHS[v.hostPath!.path]!), 'utf8'), `${HOST_PATHS[v.hostPath!.path]} reads ${v.hostPath!.path}`).toContain(v.hostPath!.path);
    }
    // Every other mount is the pod's own (config, the Secret, an emptyDir), and read-only but /tmp.
    for (const m of sensor().volumeMounts ?? []) {
      const v = pod.volumes!.find((x) => x.name === m.name)!;
      expect(v.hostPath || v.configMap || v.secret || v.emptyDir, m.name).toBeTruthy();
      if (!v.emptyDir) expect(m.readOnly, m.name).toBe(true);
    }
    // cgroupfs is not needed as long as the code does not read it.
    expect(sensorSources()).not.toContain('/sys/fs/cgroup');
  });

  it('takes NODE_NAME from the downward API, and no environment variable overrides the config file but its path', () => {
    const env = sensor().env ?? [];
    expect(env.find((e) => e.name === 'NODE_NAME')).toEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(env.filter((e) => e.name.startsWith('HYDROPHONE_')).map((e) => e.name)).toEqual(['HYDROPHONE_CONFIG']);
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the health port of its configuration', () => {
    const c = sensor();
    const config = sensorConfig();
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(portNumber(c, c.livenessProbe!.httpGet!.port)).toBe(config.health.port);
    expect(portNumber(c, c.readinessProbe!.httpGet!.port)).toBe(config.health.port);
    // The kubelet probes the pod's address: the endpoints must not listen on loopback only.
    expect(config.health.address).toBe('0.0.0.0');
  });

  it('requests and limits CPU and memory, requests below limits', () => {
    const r = sensor().resources!;
    for (const kind of ['cpu', 'memory'] as const) {
      expect(r.requests?.[kind], `requests.${kind}`).toBeDefined();
      expect(r.limits?.[kind], `limits.${kind}`).toBeDefined();
      expect(quantity(r.requests![kind]!, kind)).toBeLessThanOrEqual(quantity(r.limits![kind]!, kind));
    }
  });

  it('its ConfigMap is a configuration the sensor accepts: OTLP over mutual TLS with the files of the mounted Secret, JSON logs', () => {
    const config = sensorConfig();
    expect(config.sinks).toEqual(['otlp']);
    expect(config.log.format).toBe('json');
    expect(config.kubernetes.mode).toBe('auto');
    const tlsVolume = pod.volumes!.find((v) => v.secret)!;
    expect(tlsVolume.secret).toEqual({ secretName: SENSOR_SECRET.name, defaultMode: 0o400 });
    const mount = sensor().volumeMounts!.find((m) => m.name === tlsVolume.name)!;
    // A subPath mount is never updated: rotation needs the whole directory.
    expect(mount.subPath).toBeUndefined();
    const files = [config.otlp.caFile, config.otlp.certFile, config.otlp.keyFile];
    expect(files.map((f) => f && path.posix.dirname(f))).toEqual([mount.mountPath, mount.mountPath, mount.mountPath]);
    expect(files.map((f) => f && path.posix.basename(f))).toEqual(SENSOR_SECRET.keys);
  });

  it('uses its own ServiceAccount, bound to the ClusterRole, with a token', () => {
    expect(pod.serviceAccountName).toBe('hydrophone-sensor');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(find(base, 'ClusterRoleBinding', 'hydrophone-sensor')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'hydrophone-sensor' },
      subjects: [{ kind: 'ServiceAccount', name: 'hydrophone-sensor', namespace: NAMESPACE }],
    });
    // Pod Security admission: hostPID, host paths and these capabilities are beyond "baseline".
    expect(find(base, 'Namespace', NAMESPACE).metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged' });
  });
});

describe('the ClusterRole grants exactly what the code calls, read-only', () => {
  const role = find(base, 'ClusterRole', 'hydrophone-sensor') as KubeManifest & { rules: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[] };

  it('no verb but get, list and watch; no resource beyond the allowed ones; no wildcards', () => {
    for (const r of role.rules) {
      for (const v of r.verbs) expect(['get', 'list', 'watch'], v).toContain(v);
      for (const res of r.resources ?? []) expect(ALLOWED_RESOURCES.has(res), res).toBe(true);
      expect(r.nonResourceURLs).toBeUndefined();
      expect([...r.verbs, ...(r.resources ?? []), ...(r.apiGroups ?? [])]).not.toContain('*');
    }
    expect(role.aggregationRule).toBeUndefined();
  });

  it('each rule is a call in src/enrichment/kubernetes, and each call has its rule', () => {
    const calls = sensorApiCalls();
    // The scan must find the calls the README lists, or it proves nothing.
    expect([...calls.keys()]).toEqual(expect.arrayContaining(['core/pods list', 'core/pods watch', 'core/nodes get', 'batch/jobs get']));
    expect([...grantedCalls(role.rules)].sort()).toEqual([...calls.keys()].sort());
  });
});

describe('the variants change only what they are for', () => {
  const changes = (which: 'overlays/legacy-kernel' | 'overlays/seccomp-unconfined') => rendered[which].flatMap((o, i) => differences(base[i], o).map((p) => `${manifestId(o)}${p}`));

  it('legacy-kernel only adds SYS_ADMIN', () => {
    expect(changes('overlays/legacy-kernel')).toEqual([
      'apps/DaemonSet hydrophone-system/hydrophone-sensor/spec/template/spec/containers/0/securityContext/capabilities/add/4',
    ]);
    expect(sensor(workload(rendered['overlays/legacy-kernel'], 'DaemonSet', 'hydrophone-sensor')).securityContext?.capabilities?.add?.[4]).toBe('SYS_ADMIN');
  });

  it('seccomp-unconfined only turns the seccomp filter off', () => {
    expect(changes('overlays/seccomp-unconfined')).toEqual(['apps/DaemonSet hydrophone-system/hydrophone-sensor/spec/template/spec/securityContext/seccompProfile/type']);
  });
});

describe('the gateway', () => {
  const gw = rendered.gateway;
  const deployment = workload(gw, 'Deployment', 'hydrophone-gateway');
  const gwPod = deployment.spec.template.spec;
  const collector = gwPod.containers[0]!;

  it('needs no privilege: non-root, nothing from the host, no API token, every capability dropped, read-only root', () => {
    expect(gwPod.hostPID ?? false).toBe(false);
    expect(gwPod.hostNetwork ?? false).toBe(false);
    expect((gwPod.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
    expect(gwPod.automountServiceAccountToken).toBe(false);
    expect(gwPod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(collector.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(gw.filter((o) => /Role/.test(o.kind))).toEqual([]);
  });

  it('scales on CPU (autoscaling/v2) from two replicas, and leaves replicas to the autoscaler', () => {
    expect(deployment.spec.replicas).toBeUndefined();
    expect(find(gw, 'HorizontalPodAutoscaler')).toMatchObject({
      apiVersion: 'autoscaling/v2',
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hydrophone-gateway' },
        minReplicas: 2,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }],
      },
    });
    expect(collector.resources?.requests?.cpu, 'CPU utilization is measured against the request').toBeDefined();
  });

  it('is where the sensor sends: the Service selects its pods, and its name and port are the sensor\'s otlp.endpoint', () => {
    const service = find(gw, 'Service', 'hydrophone-gateway') as KubeManifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } };
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    const port = service.spec.ports[0]!;
    expect(portNumber(collector, port.targetPort)).toBe(4317);
    expect(sensorConfig().otlp.endpoint).toBe(`${service.metadata.name}.${NAMESPACE}.svc:${port.port}`);
  });

  it('probes the health_check extension, and its TLS files are in the mounted Secrets', () => {
    const config = find(gw, 'ConfigMap', 'hydrophone-gateway-config') as KubeManifest & { data: Record<string, string> };
    const text = config.data['config.yaml']!;
    const healthPort = Number(/health_check:\n\s+endpoint: \$\{env:POD_IP\}:(\d+)/.exec(text)?.[1]);
    expect(portNumber(collector, collector.livenessProbe!.httpGet!.port)).toBe(healthPort);
    expect(portNumber(collector, collector.readinessProbe!.httpGet!.port)).toBe(healthPort);
    const mounts = new Map((collector.volumeMounts ?? []).map((m) => [m.mountPath, gwPod.volumes!.find((v) => v.name === m.name)!]));
    const files = [...text.matchAll(/(?:cert|key|ca|client_ca)_file: (\S+)/g)].map((m) => m[1]!);
    expect(files.length).toBe(6);
    for (const f of files) expect(mounts.get(path.posix.dirname(f))?.secret, f).toBeDefined();
    expect(collector.args).toEqual([`--config=${[...mounts].find(([, v]) => v.configMap)![0]}/config.yaml`]);
  });
});

/** The sensor's configuration as it starts in the pod: the ConfigMap's file, and the DaemonSet's environment. */
function sensorConfig() {
  const configMap = find(base, 'ConfigMap', 'hydrophone-sensor-config') as KubeManifest & { data: Record<string, string> };
  const env = Object.fromEntries((sensor().env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const configPath = env.HYDROPHONE_CONFIG!;
  const mount = sensor().volumeMounts!.find((m) => m.mountPath === path.posix.dirname(configPath))!;
  expect(pod.volumes!.find((v) => v.name === mount.name)?.configMap?.name).toBe(configMap.metadata.name);
  const dir = mkdtempSync(path.join(tmpdir(), 'hp-deploy-config-'));
  try {
    const file = path.join(dir, path.posix.basename(configPath));
    writeFileSync(file, configMap.data[path.posix.basename(configPath)]!);
    return loadConfig({}, { ...env, HYDROPHONE_CONFIG: file }).config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const skipReason = kubeApiServerUnavailableReason();

describe.skipIf(skipReason)('a real kube-apiserver accepts every object (dry run, strict field validation)', () => {
  let api: KubeApiServer;
  /** apiVersion/kind -> collection path and whether it is namespaced, from the server's discovery. */
  const collections = new Map<string, { plural: string; namespaced: boolean }>();

  beforeAll(async () => {
    api = await startKubeApiServer();
    const groupVersions = ['v1', ...new Set(Object.values(rendered).flat().map((o) => o.apiVersion).filter((v) => v.includes('/')))];
    for (const gv of groupVersions) {
      const list = await api.client.json<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', gv === 'v1' ? '/api/v1' : `/apis/${gv}`);
      for (const r of list.resources) if (!r.name.includes('/')) collections.set(`${gv}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
    }
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
  });

  const collectionPath = (o: KubeManifest) => {
    const c = collections.get(`${o.apiVersion}/${o.kind}`);
    if (!c) throw new Error(`the API server serves no ${o.apiVersion} ${o.kind}`);
    const prefix = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    return `${prefix}${c.namespaced ? `/namespaces/${o.metadata.namespace}` : ''}/${c.plural}`;
  };
  const dryRun = (o: KubeManifest) => api.client.request('POST', `${collectionPath(o)}?dryRun=All&fieldValidation=Strict`, o);
  const expectAccepted = async (o: KubeManifest) => {
    const res = await dryRun(o);
    expect(res.status, `${manifestId(o)}: ${res.body}`).toBe(201);
  };
  /** A pod as the DaemonSet controller would make it from the template. */
  const podFrom = (w: Workload, namespace: string): KubeManifest => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${w.metadata.name}-dry-run`, namespace, labels: w.spec.template.metadata.labels },
    spec: { ...w.spec.template.spec, nodeName: 'node-a' },
  });

  it('the base: the Namespace, then every other object in it', async () => {
    const ns = find(base, 'Namespace', NAMESPACE);
    await expectAccepted(ns);
    // Namespaced objects need their namespace to exist, even in a dry run.
    expect((await api.client.request('POST', '/api/v1/namespaces', ns)).status).toBe(201);
    for (const o of base.filter((x) => x.kind !== 'Namespace')) await expectAccepted(o);
  });

  it.each(['overlays/legacy-kernel', 'overlays/seccomp-unconfined', 'gateway'] as const)('%s', async (which) => {
    for (const o of rendered[which].filter((x) => x.kind !== 'Namespace')) await expectAccepted(o);
  });

  it('Pod Security admission takes a sensor pod in hydrophone-system, refuses it where "baseline" is enforced, and takes a gateway pod under "restricted"', async () => {
    await expectAccepted(podFrom(daemonSet, NAMESPACE));
    await expectAccepted(podFrom(workload(rendered['overlays/legacy-kernel'], 'DaemonSet', 'hydrophone-sensor'), NAMESPACE));
    for (const level of ['baseline', 'restricted']) {
      await api.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `psa-${level}`, labels: { 'pod-security.kubernetes.io/enforce': level } } });
    }
    const refused = await dryRun(podFrom(daemonSet, 'psa-baseline'));
    expect(refused.status).toBe(403);
    const why = (JSON.parse(refused.body) as { message: string }).message;
    for (const part of ['violates PodSecurity "baseline:latest"', 'host namespaces (hostPID=true)', 'hostPath volumes (volumes "tracefs", "btf")', '"BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE"']) expect(why).toContain(part);
    await expectAccepted(podFrom(workload(rendered.gateway, 'Deployment', 'hydrophone-gateway'), 'psa-restricted'));
  });

  it('can fail: an unknown field, and privileged without privilege escalation, are refused', async () => {
    const typo = structuredClone(daemonSet) as Workload & { spec: { template: { spec: Record<string, unknown> } } };
    typo.spec.template.spec.hostPid = true;
    const unknownField = await dryRun(typo);
    expect(unknownField.status).toBe(400);
    expect(unknownField.body).toContain('unknown field \\"spec.template.spec.hostPid\\"');
    const privileged = structuredClone(daemonSet);
    sensor(privileged).securityContext!.privileged = true;
    const refused = await dryRun(privileged);
    expect(refused.status).toBe(422);
    expect(refused.body).toContain('cannot set `allowPrivilegeEscalation` to false and `privileged` to true');
  });
});
