/**
 * The Kubernetes API calls the sensor makes, read from its code
 * (src/enrichment/kubernetes/*.ts), as RBAC sees them: "group/resource
 * verb". Calls through @kubernetes/client-node's generated clients
 * (`x.listPodForAllNamespaces`, `x.readNamespacedJob`...) give list and
 * get; the paths SlimListWatch watches (`path: '/api/v1/pods'`) give watch.
 * The ClusterRole is compared with this: a new call without a rule, or a
 * rule without a call, fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';

export const SENSOR_KUBERNETES_CODE = path.join(projectRoot, 'src/enrichment/kubernetes');

/** The API group of each generated client class the code may use. */
const GROUP_OF_CLIENT: Record<string, string> = {
  CoreV1Api: '',
  AppsV1Api: 'apps',
  BatchV1Api: 'batch',
  DiscoveryV1Api: 'discovery.k8s.io',
};

/** Kind -> resource (plural), for the kinds whose plural is not kind + "s". */
const IRREGULAR_PLURALS: Record<string, string> = { Ingress: 'ingresses', NetworkPolicy: 'networkpolicies', Endpoints: 'endpoints' };

export function rbacKey(group: string, resource: string, verb: string): string {
  return `${group || 'core'}/${resource} ${verb}`;
}

/** Every call, as rbacKey strings, with the file and text that makes each. */
export function sensorApiCalls(): Map<string, string> {
  const calls = new Map<string, string>();
  const files = readdirSync(SENSOR_KUBERNETES_CODE).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  for (const file of files) {
    const text = readFileSync(path.join(SENSOR_KUBERNETES_CODE, file), 'utf8');
    // `this.core = kc.makeApiClient(CoreV1Api)`, `const discovery = kc.makeApiClient(DiscoveryV1Api)`
    const clients = new Map<string, string>();
    for (const m of text.matchAll(/(\w+)\s*=\s*\w+\.makeApiClient\((\w+)\)/g)) {
      const group = GROUP_OF_CLIENT[m[2]!];
      if (group === undefined) throw new Error(`${file}: client ${m[2]} is not known to this test: add its API group to GROUP_OF_CLIENT`);
      clients.set(m[1]!, group);
    }
    for (const m of text.matchAll(/\b(\w+)\.(list|read)([A-Z]\w*)\(/g)) {
      const group = clients.get(m[1]!);
      if (group === undefined) continue;
      const kind = m[3]!.replace(/^Namespaced/, '').replace(/ForAllNamespaces$/, '');
      calls.set(rbacKey(group, plural(kind), m[2] === 'read' ? 'get' : 'list'), `${file}: ${m[0]}`);
    }
    for (const m of text.matchAll(/path:\s*'(\/apis?\/[^']+)'/g)) {
      const parts = m[1]!.split('/').filter(Boolean);
      // /api/v1/<resource> or /apis/<group>/<version>/<resource>
      const [group, resource] = parts[0] === 'api' ? ['', parts[2]] : [parts[1]!, parts[3]];
      if (!resource || parts.length !== (parts[0] === 'api' ? 3 : 4)) throw new Error(`${file}: watch path ${m[1]} is not a cluster-wide collection`);
      calls.set(rbacKey(group, resource, 'watch'), `${file}: watch ${m[1]}`);
    }
  }
  return calls;
}

function plural(kind: string): string {
  return IRREGULAR_PLURALS[kind] ?? `${kind.toLowerCase()}${kind.endsWith('s') ? 'es' : 's'}`;
}

/** A ClusterRole's rules as rbacKey strings (wildcards kept as they are: the tests refuse them). */
export function grantedCalls(rules: readonly { apiGroups?: string[]; resources?: string[]; verbs: string[] }[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) out.add(rbacKey(g, res, v));
  return out;
}
