/**
 * Which container a process runs in, from its /proc/<pid>/cgroup: the
 * container runtimes name a container's cgroup after its id, and kubelet
 * names the pod's cgroup after the pod's UID. Both cgroup versions, both
 * kubelet cgroup drivers (systemd: `kubepods-burstable-pod<uid>.slice/
 * cri-containerd-<id>.scope`; cgroupfs: `kubepods/burstable/pod<uid>/<id>`),
 * and nested hierarchies (kind, Docker-in-Docker): the innermost container
 * wins, since that is the one the process belongs to.
 */

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';

export interface ContainerIdentity {
  /** 64 lower-case hex digits, as the CRI reports it (without the runtime prefix). */
  readonly containerId: string;
  /** From the scope's prefix; undefined for cgroupfs paths, which do not say. */
  readonly runtime?: ContainerRuntime;
  /** The pod's UID (with dashes), when the path is kubelet's. */
  readonly podUid?: string;
}

const SCOPE_PREFIXES: ReadonlyArray<readonly [string, ContainerRuntime]> = [
  ['cri-containerd-', 'containerd'],
  ['crio-', 'cri-o'],
  ['docker-', 'docker'],
  ['libpod-', 'podman'],
];

const HEX64 = /^[0-9a-f]{64}$/;
/** kubepods-<qos>-pod<uid>.slice (systemd, dashes as underscores) or pod<uid> (cgroupfs). */
const POD_COMPONENT = /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/** The container of one cgroup path component, or undefined. */
function containerOf(component: string): { id: string; runtime?: ContainerRuntime } | undefined {
  if (HEX64.test(component)) return { id: component };
  if (!component.endsWith('.scope')) return undefined;
  const stem = component.slice(0, -'.scope'.length);
  for (const [prefix, runtime] of SCOPE_PREFIXES) {
    // crio-conmon-<id>.scope is CRI-O's monitor process, not the container.
    if (stem.startsWith(prefix) && HEX64.test(stem.slice(prefix.length))) return { id: stem.slice(prefix.length), runtime };
  }
  return undefined;
}

/** The container and pod named by one cgroup path, or undefined. */
export function containerOfCgroupPath(cgroupPath: string): ContainerIdentity | undefined {
  let found: { id: string; runtime?: ContainerRuntime } | undefined;
  let podUid: string | undefined;
  let podBeforeContainer: string | undefined;
  for (const component of cgroupPath.split('/')) {
    const c = containerOf(component);
    if (c) {
      found = c;
      podBeforeContainer = podUid;
      podUid = undefined;
      continue;
    }
    const pod = POD_COMPONENT.exec(component);
    if (pod) podUid = pod[1]!.replaceAll('_', '-');
  }
  if (!found) return undefined;
  return { containerId: found.id, ...(found.runtime ? { runtime: found.runtime } : {}), ...(podBeforeContainer ? { podUid: podBeforeContainer } : {}) };
}

/**
 * The container of a process from the text of /proc/<pid>/cgroup. cgroup v2
 * has one line, `0::<path>`; v1 has one per hierarchy (`<n>:<controllers>:
 * <path>`), which agree for containers; the first line that names one wins,
 * v2's first.
 */
export function containerOfProcCgroup(text: string): ContainerIdentity | undefined {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const ordered = [...lines.filter((l) => l.startsWith('0::')), ...lines.filter((l) => !l.startsWith('0::'))];
  for (const line of ordered) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const found = containerOfCgroupPath(line.slice(second + 1));
    if (found) return found;
  }
  return undefined;
}
