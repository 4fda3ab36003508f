import { describe, expect, it } from 'vitest';
import { containerOfCgroupPath, containerOfProcCgroup, type ContainerIdentity } from './cgroupContainer.ts';

const ID = '3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809';
const ID2 = 'aa1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8bb';
const UID = '1b2c3d4e-5f60-7182-9304-a5b6c7d8e9f0';
const UID_ = UID.replaceAll('-', '_');

// Paths as kubelet, the runtimes and systemd make them (shapes taken from
// real nodes: EKS/AKS containerd with systemd, OpenShift CRI-O, GKE COS
// with cgroupfs, kind, Docker and podman hosts).
const CASES: ReadonlyArray<readonly [string, string, ContainerIdentity | undefined]> = [
  ['containerd, systemd driver, burstable',
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { containerId: ID, runtime: 'containerd', podUid: UID }],
  ['containerd, systemd driver, besteffort',
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { containerId: ID, runtime: 'containerd', podUid: UID }],
  ['containerd, systemd driver, guaranteed (no QoS slice)',
    `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { containerId: ID, runtime: 'containerd', podUid: UID }],
  ['CRI-O, systemd driver',
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`,
    { containerId: ID, runtime: 'cri-o', podUid: UID }],
  ['CRI-O conmon is not the container',
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`,
    undefined],
  ['CRI-O, a process in a sub-cgroup of the container (systemd in a pod)',
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope/init.scope`,
    { containerId: ID, runtime: 'cri-o', podUid: UID }],
  ['Docker (dockershim, cri-dockerd), systemd driver',
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID}.scope`,
    { containerId: ID, runtime: 'docker', podUid: UID }],
  ['cgroupfs driver, burstable (GKE COS, kubeadm with cgroupfs)',
    `/kubepods/burstable/pod${UID}/${ID}`,
    { containerId: ID, podUid: UID }],
  ['cgroupfs driver, guaranteed',
    `/kubepods/pod${UID}/${ID}`,
    { containerId: ID, podUid: UID }],
  ['kind: kubelet inside a node container',
    `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { containerId: ID, runtime: 'containerd', podUid: UID }],
  ['nested: a pod inside a Docker container (innermost wins)',
    `/docker/${ID2}/kubepods/besteffort/pod${UID}/${ID}`,
    { containerId: ID, podUid: UID }],
  ['plain Docker, cgroupfs',
    `/docker/${ID}`,
    { containerId: ID }],
  ['plain Docker, systemd',
    `/system.slice/docker-${ID}.scope`,
    { containerId: ID, runtime: 'docker' }],
  ['podman',
    `/machine.slice/libpod-${ID}.scope/container`,
    { containerId: ID, runtime: 'podman' }],
  ['the pod cgroup itself (pause-less infra processes): no container',
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`,
    undefined],
  ['a host service', '/system.slice/nginx.service', undefined],
  ['a user session', '/user.slice/user-0.slice/session-3.scope', undefined],
  ['root', '/', undefined],
  ['63 hex digits is not an id', `/docker/${ID.slice(1)}`, undefined],
];

describe('container of a cgroup path', () => {
  it.each(CASES)('%s', (_name, path, want) => {
    expect(containerOfCgroupPath(path)).toEqual(want);
  });
});

describe('container of /proc/<pid>/cgroup', () => {
  it('reads cgroup v2 (one line)', () => {
    expect(containerOfProcCgroup(`0::/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope\n`)).toEqual({ containerId: ID, runtime: 'containerd', podUid: UID });
  });

  it('reads cgroup v1 (a line per hierarchy), whichever names the container', () => {
    const v1 = [
      '12:hugetlb:/',
      `11:memory:/kubepods/burstable/pod${UID}/${ID}`,
      `10:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`,
      `1:name=systemd:/kubepods/burstable/pod${UID}/${ID}`,
      '',
    ].join('\n');
    expect(containerOfProcCgroup(v1)).toEqual({ containerId: ID, podUid: UID });
  });

  it('prefers the v2 line on a hybrid host', () => {
    const hybrid = [`4:pids:/docker/${ID2}`, `0::/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`].join('\n');
    expect(containerOfProcCgroup(hybrid)?.containerId).toBe(ID);
  });

  it('is undefined for a host process and for garbage', () => {
    expect(containerOfProcCgroup('0::/init.scope\n')).toBeUndefined();
    expect(containerOfProcCgroup('')).toBeUndefined();
    expect(containerOfProcCgroup('no colons here\n::')).toBeUndefined();
  });
});
