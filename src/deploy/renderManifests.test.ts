import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { manifestId, renderManifests } from './renderManifests.ts';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Writes `files` (path -> text) under a fresh temporary directory and returns it. */
function tree(files: Record<string, string>): string {
  root = mkdtempSync(path.join(tmpdir(), 'hp-kustomize-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

const kustomization = (body: string) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`;
const component = (body: string) => `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n${body}`;
const configMap = (name: string, ns = 'demo') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  k: v\n`;
const daemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: demo
spec:
  template:
    spec:
      containers:
        - name: agent
          securityContext:
            capabilities:
              add: [BPF]
`;
const addCap = (cap: string) => `|-
      - op: test
        path: /spec/template/spec/containers/0/name
        value: agent
      - op: add
        path: /spec/template/spec/containers/0/securityContext/capabilities/add/-
        value: ${cap}`;
const names = (dir: string) => renderManifests(dir).map(manifestId);
/** The DaemonSet above with an image on its container. */
const imaged = (image: string) => daemonSet.replace('        - name: agent\n', `        - name: agent\n          image: ${image}\n`);

describe('renderManifests', () => {
  it('gathers resources in order: files of several documents (empty ones skipped) and directories with their own kustomization', () => {
    const dir = tree({
      'app/kustomization.yaml': kustomization('resources:\n  - two.yaml\n  - ../shared\n'),
      'app/two.yaml': `${configMap('a')}---\n---\n${configMap('b')}`,
      'shared/kustomization.yaml': kustomization('resources: [ns.yaml]\n'),
      'shared/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n',
    });
    expect(names(path.join(dir, 'app'))).toEqual(['ConfigMap demo/a', 'ConfigMap demo/b', 'Namespace demo']);
  });

  it('applies a component: its resources join, its patches reach what the including kustomization holds', () => {
    const dir = tree({
      'overlay/kustomization.yaml': kustomization('resources: [../base]\ncomponents: [../extra]\n'),
      'base/kustomization.yaml': kustomization('resources: [ds.yaml]\n'),
      'base/ds.yaml': daemonSet,
      'extra/kustomization.yaml': component(`resources: [cm.yaml]\npatches:\n  - target: {kind: DaemonSet, name: agent}\n    patch: ${addCap('SYS_ADMIN')}\n`),
      'extra/cm.yaml': configMap('extra'),
    });
    const out = renderManifests(path.join(dir, 'overlay'));
    expect(out.map(manifestId)).toEqual(['apps/DaemonSet demo/agent', 'ConfigMap demo/extra']);
    expect(JSON.stringify(out[0])).toContain('["BPF","SYS_ADMIN"]');
    // The base itself is untouched by what an overlay did with it.
    expect(JSON.stringify(renderManifests(path.join(dir, 'base'))[0])).toContain('["BPF"]');
  });

  it('applies patches from a file, selected by kind, name, group, version and namespace', () => {
    const dir = tree({
      'kustomization.yaml': kustomization(`resources: [ds.yaml]
patches:
  - path: patch.yaml
    target: {kind: DaemonSet, name: agent, group: apps, version: v1, namespace: demo}
`),
      'ds.yaml': daemonSet,
      'patch.yaml': '- op: replace\n  path: /metadata/name\n  value: renamed\n',
    });
    expect(names(dir)).toEqual(['apps/DaemonSet demo/renamed']);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a key it does not implement', { 'kustomization.yaml': kustomization('namespace: other\nresources: [cm.yaml]\n'), 'cm.yaml': configMap('a') }, /namespace: not supported by this renderer/],
    ['labels and generators', { 'kustomization.yaml': kustomization('labels: []\nconfigMapGenerator: []\n') }, /labels, configMapGenerator: not supported/],
    ['a strategic merge patch', { 'kustomization.yaml': kustomization('resources: [ds.yaml]\npatches:\n  - target: {kind: DaemonSet, name: agent}\n    patch: |-\n      spec: {}\n'), 'ds.yaml': daemonSet }, /strategic merge patches are not supported/],
    ['a patch without a target', { 'kustomization.yaml': kustomization('resources: [ds.yaml]\npatches:\n  - patch: "[]"\n'), 'ds.yaml': daemonSet }, /needs a target/],
    ['a target by label selector', { 'kustomization.yaml': kustomization('resources: [ds.yaml]\npatches:\n  - target: {kind: DaemonSet, name: agent, labelSelector: a=b}\n    patch: "[]"\n'), 'ds.yaml': daemonSet }, /target labelSelector: not supported/],
    ['a target that selects nothing', { 'kustomization.yaml': kustomization('resources: [ds.yaml]\npatches:\n  - target: {kind: DaemonSet, name: gone}\n    patch: "[]"\n'), 'ds.yaml': daemonSet }, /DaemonSet gone selects no object/],
    ['a patch whose test fails', { 'kustomization.yaml': kustomization(`resources: [ds.yaml]\npatches:\n  - target: {kind: DaemonSet, name: agent}\n    patch: |-\n      - op: test\n        path: /spec/template/spec/containers/0/name\n        value: sensor\n`), 'ds.yaml': daemonSet }, /on apps\/DaemonSet demo\/agent: test .*expected "sensor", found "agent"/],
    ['a remote resource', { 'kustomization.yaml': kustomization('resources: [https://github.com/x/y//deploy]\n') }, /remote resources are not supported/],
    ['a git resource', { 'kustomization.yaml': kustomization('resources: [github.com/x/y/deploy]\n') }, /remote resources are not supported/],
    ['an absolute path', { 'kustomization.yaml': kustomization('resources: [/etc/hosts]\n') }, /must be relative/],
    ['a missing file', { 'kustomization.yaml': kustomization('resources: [nope.yaml]\n') }, /nope.yaml does not exist/],
    ['the same object twice', { 'kustomization.yaml': kustomization('resources: [a.yaml, b.yaml]\n'), 'a.yaml': configMap('x'), 'b.yaml': configMap('x') }, /ConfigMap demo\/x is already there/],
    ['an object without a name', { 'kustomization.yaml': kustomization('resources: [a.yaml]\n'), 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' }, /document 1: no metadata.name/],
    ['a Kustomization used as a component', { 'kustomization.yaml': kustomization('components: [c]\n'), 'c/kustomization.yaml': kustomization('') }, /expected apiVersion kustomize.config.k8s.io\/v1alpha1, kind Component/],
    ['a Component applied on its own', { 'kustomization.yaml': component('') }, /kind Kustomization here/],
    ['a directory without kustomization.yaml', { 'kustomization.yaml': kustomization('resources: [sub]\n'), 'sub/x.yaml': configMap('a') }, /no kustomization.yaml/],
    ['a cycle', { 'kustomization.yaml': kustomization('resources: [sub]\n'), 'sub/kustomization.yaml': kustomization('resources: [..]\n') }, /a cycle of kustomizations/],
    ['an octal-looking number (0400 is 256 to kubectl, 400 to YAML 1.2)', { 'kustomization.yaml': kustomization('resources: [a.yaml]\n'), 'a.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nmode: 0400\n' }, /\/mode reads differently in YAML 1.1/],
    ['yes as a boolean (YAML 1.1 only)', { 'kustomization.yaml': kustomization('resources: [a.yaml]\n'), 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  on: yes\n' }, /reads differently in YAML 1.1/],
    ['invalid YAML', { 'kustomization.yaml': kustomization('resources: [a.yaml]\n'), 'a.yaml': 'apiVersion: v1\n  kind: [\n' }, /not valid YAML/],
    ['an images entry that names no container image', { 'kustomization.yaml': kustomization('resources: [ds.yaml]\nimages:\n  - {name: agnet, newTag: "2"}\n'), 'ds.yaml': imaged('agent:1') }, /images: agnet names no container image/],
    ['an images entry with both a tag and a digest', { 'kustomization.yaml': kustomization(`resources: [ds.yaml]\nimages:\n  - {name: agent, newTag: "2", digest: "sha256:${'a'.repeat(64)}"}\n`), 'ds.yaml': imaged('agent:1') }, /images\[0\]: give newTag or digest, not both/],
    ['an images entry with a key kustomize has but this renderer does not', { 'kustomization.yaml': kustomization('resources: [ds.yaml]\nimages:\n  - {name: agent, tagSuffix: x}\n'), 'ds.yaml': imaged('agent:1') }, /tagSuffix: not supported/],
  ])('refuses %s', (_, files, message) => {
    expect(() => renderManifests(tree(files))).toThrow(message);
  });

  it('applies images after the patches, in an overlay, leaving the base alone', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const dir = tree({
      'overlay/kustomization.yaml': kustomization(`resources: [../base]\nimages:\n  - name: agent\n    newName: registry.example.com:5000/team/agent\n    digest: ${digest}\n`),
      'base/kustomization.yaml': kustomization('resources: [ds.yaml]\n'),
      'base/ds.yaml': imaged('agent:0.1.0'),
    });
    const image = (dir: string) => (renderManifests(dir)[0] as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
    expect(image(path.join(dir, 'overlay'))).toBe(`registry.example.com:5000/team/agent@${digest}`);
    expect(image(path.join(dir, 'base'))).toBe('agent:0.1.0');
  });

  it('accepts what reads the same in YAML 1.1 and 1.2 (quoted, or plainly decimal)', () => {
    const dir = tree({
      'kustomization.yaml': kustomization('resources: [a.yaml]\n'),
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "yes"\n  b: "0400"\n  num: "256"\n',
    });
    expect(renderManifests(dir)[0]).toMatchObject({ data: { a: 'yes', b: '0400', num: '256' } });
  });
});
