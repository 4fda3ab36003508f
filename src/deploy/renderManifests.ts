/**
 * The Kubernetes objects `kubectl apply -k DIR` would send, rendered from
 * a kustomization directory without kubectl or kustomize, for the part of
 * kustomize that deploy/ uses:
 *   - resources: YAML files (several documents each) and directories with
 *     a kustomization of their own;
 *   - components: directories whose kustomization is a Component; its
 *     resources join, and its patches apply to, what the including
 *     kustomization has gathered so far;
 *   - patches: JSON Patch (RFC 6902, jsonPatch.ts), inline or in a file,
 *     on the objects a target selects by kind and name (and optionally
 *     group, version, namespace);
 *   - images: container images renamed, retagged or pinned to a digest
 *     (imageOverride.ts), applied after the patches, as kustomize does.
 * Anything else in a kustomization (namespace, labels, generators,
 * strategic merge patches, remote bases...) is refused by name, so the
 * renderer can never quietly disagree with kustomize. So is a plain YAML
 * scalar that YAML 1.1 (what kubectl's parser follows) and YAML 1.2 (ours)
 * read differently, such as `0400` or `yes`. The tests validate deploy/
 * from what this returns; the portal renders its manifests with it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { applyJsonPatch, parseJsonPatch } from './jsonPatch.ts';
import { applyImageOverrides, ImageOverrideError, parseImageOverride, unmatchedOverrides } from './imageOverride.ts';

/** One Kubernetes object as a manifest holds it. */
export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export class KustomizeError extends Error {}

const KUSTOMIZATION_FILE = 'kustomization.yaml';
const API_VERSIONS = { Kustomization: 'kustomize.config.k8s.io/v1beta1', Component: 'kustomize.config.k8s.io/v1alpha1' } as const;
type KustomizationKind = keyof typeof API_VERSIONS;
/** The kustomization keys this renderer implements; any other is refused. */
export const KUSTOMIZATION_KEYS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches', 'images']);
const PATCH_KEYS = new Set(['patch', 'path', 'target']);
const TARGET_KEYS = new Set(['kind', 'name', 'group', 'version', 'namespace']);

/** Renders the kustomization in `dir` (a Kustomization, not a Component). */
export function renderManifests(dir: string): KubeManifest[] {
  return build(path.resolve(dir), 'Kustomization', [], []);
}

/** What identifies an object for kustomize: group, kind, namespace, name. */
export function manifestId(o: KubeManifest): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.indexOf('/')) : '';
  return `${group ? `${group}/` : ''}${o.kind}${o.metadata.namespace ? ` ${o.metadata.namespace}/` : ' '}${o.metadata.name}`;
}

function build(dir: string, expected: KustomizationKind, start: readonly KubeManifest[], visiting: readonly string[]): KubeManifest[] {
  if (visiting.includes(dir)) throw new KustomizeError(`${dir}: a cycle of kustomizations (${[...visiting, dir].join(' -> ')})`);
  const file = path.join(dir, KUSTOMIZATION_FILE);
  const k = readKustomization(file, expected);
  const stack = [...visiting, dir];
  let objects = [...start];
  const add = (more: readonly KubeManifest[], from: string) => {
    for (const o of more) {
      const id = manifestId(o);
      if (objects.some((x) => manifestId(x) === id)) throw new KustomizeError(`${from}: ${id} is already there (kustomize refuses an object twice)`);
      objects.push(o);
    }
  };
  for (const entry of stringList(k, 'resources', file)) {
    const target = localPath(dir, entry, file);
    add(statSync(target).isDirectory() ? build(target, 'Kustomization', [], stack) : readManifests(target), target);
  }
  for (const entry of stringList(k, 'components', file)) {
    const target = localPath(dir, entry, file);
    if (!statSync(target).isDirectory()) throw new KustomizeError(`${file}: component ${entry} is not a directory`);
    objects = build(target, 'Component', objects, stack);
  }
  const patches = k.patches ?? [];
  if (!Array.isArray(patches)) throw new KustomizeError(`${file}: patches must be a list`);
  for (const [i, p] of patches.entries()) objects = applyPatch(objects, p, `${file}: patches[${i}]`, dir);
  const images = k.images ?? [];
  if (!Array.isArray(images)) throw new KustomizeError(`${file}: images must be a list`);
  let overrides;
  try {
    overrides = images.map((entry, i) => parseImageOverride(entry, `${file}: images[${i}]`));
  } catch (err) {
    if (err instanceof ImageOverrideError) throw new KustomizeError(err.message);
    throw err;
  }
  // kustomize lets an entry that matches nothing pass; refused here, as a patch target is.
  const unmatched = unmatchedOverrides(objects, overrides);
  if (unmatched.length) throw new KustomizeError(`${file}: images: ${unmatched.map((o) => o.name).join(', ')} names no container image here`);
  objects = applyImageOverrides(objects, overrides);
  return objects;
}

function readKustomization(file: string, expected: KustomizationKind): Record<string, unknown> {
  if (!existsSync(file)) throw new KustomizeError(`${path.dirname(file)}: no ${KUSTOMIZATION_FILE} (the only kustomization file name this renderer reads)`);
  const docs = parseYaml(readFileSync(file, 'utf8'), file);
  if (docs.length !== 1 || !isMapping(docs[0])) throw new KustomizeError(`${file}: must hold one mapping`);
  const k = docs[0];
  const unknown = Object.keys(k).filter((key) => !KUSTOMIZATION_KEYS.has(key));
  if (unknown.length) throw new KustomizeError(`${file}: ${unknown.join(', ')}: not supported by this renderer (only ${[...KUSTOMIZATION_KEYS].join(', ')})`);
  if (k.kind !== expected || k.apiVersion !== API_VERSIONS[expected]) {
    throw new KustomizeError(`${file}: expected apiVersion ${API_VERSIONS[expected]}, kind ${expected} here; found ${String(k.apiVersion)}, ${String(k.kind)}`);
  }
  return k;
}

function stringList(k: Record<string, unknown>, key: string, file: string): string[] {
  const v = k[key] ?? [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new KustomizeError(`${file}: ${key} must be a list of paths`);
  return v as string[];
}

/** A path relative to the kustomization; remote bases (URLs, git) are refused. */
function localPath(dir: string, entry: string, file: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry) || entry.startsWith('git@')) {
    throw new KustomizeError(`${file}: ${entry}: remote resources are not supported by this renderer`);
  }
  if (path.isAbsolute(entry)) throw new KustomizeError(`${file}: ${entry}: paths must be relative to the kustomization`);
  const target = path.resolve(dir, entry);
  if (!existsSync(target)) throw new KustomizeError(`${file}: ${entry} does not exist (${target})`);
  return target;
}

/** Every object of a YAML file (empty documents skipped), each with apiVersion, kind and metadata.name. */
function readManifests(file: string): KubeManifest[] {
  return parseYaml(readFileSync(file, 'utf8'), file).filter((d) => d !== null && d !== undefined).map((d, i) => {
    const where = `${file}: document ${i + 1}`;
    if (!isMapping(d)) throw new KustomizeError(`${where}: not a mapping`);
    if (typeof d.apiVersion !== 'string' || typeof d.kind !== 'string') throw new KustomizeError(`${where}: no apiVersion or kind`);
    const meta = d.metadata;
    if (!isMapping(meta) || typeof meta.name !== 'string' || meta.name === '') throw new KustomizeError(`${where}: no metadata.name`);
    return d as KubeManifest;
  });
}

function applyPatch(objects: readonly KubeManifest[], entry: unknown, where: string, dir: string): KubeManifest[] {
  if (!isMapping(entry)) throw new KustomizeError(`${where}: must be a mapping`);
  const unknown = Object.keys(entry).filter((key) => !PATCH_KEYS.has(key));
  if (unknown.length) throw new KustomizeError(`${where}: ${unknown.join(', ')}: not supported (only ${[...PATCH_KEYS].join(', ')})`);
  if ((entry.patch === undefined) === (entry.path === undefined)) throw new KustomizeError(`${where}: give exactly one of patch (inline) and path (a file)`);
  let text: string;
  let source = where;
  if (typeof entry.patch === 'string') text = entry.patch;
  else if (typeof entry.path === 'string') {
    source = localPath(dir, entry.path, where);
    text = readFileSync(source, 'utf8');
  } else throw new KustomizeError(`${where}: patch and path must be strings`);
  const docs = parseYaml(text, source);
  if (docs.length !== 1) throw new KustomizeError(`${source}: a patch must be one YAML document`);
  const ops = parseJsonPatch(docs[0], source);
  const target = entry.target;
  if (!isMapping(target)) throw new KustomizeError(`${where}: a JSON Patch needs a target (kind and name)`);
  const badKeys = Object.keys(target).filter((key) => !TARGET_KEYS.has(key));
  if (badKeys.length) throw new KustomizeError(`${where}: target ${badKeys.join(', ')}: not supported (only ${[...TARGET_KEYS].join(', ')})`);
  if (typeof target.kind !== 'string' || typeof target.name !== 'string') throw new KustomizeError(`${where}: target needs kind and name`);
  const selects = (o: KubeManifest) => {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    return o.kind === target.kind && o.metadata.name === target.name
      && (target.group === undefined || target.group === group)
      && (target.version === undefined || target.version === version)
      && (target.namespace === undefined || target.namespace === o.metadata.namespace);
  };
  // kustomize lets a target that selects nothing pass; here it is an error,
  // so that renaming an object cannot silently disarm a patch.
  if (!objects.some(selects)) throw new KustomizeError(`${where}: the target ${target.kind} ${target.name} selects no object`);
  return objects.map((o) => {
    if (!selects(o)) return o;
    try {
      return applyJsonPatch(o, ops);
    } catch (err) {
      throw new KustomizeError(`${where}: on ${manifestId(o)}: ${(err as Error).message}`);
    }
  });
}

/**
 * Every document of a YAML text, read as YAML 1.2; a plain scalar that
 * YAML 1.1 reads otherwise (kubectl does: `0400` is octal there, `yes` true)
 * is refused: quote it, or write it unambiguously.
 */
function parseYaml(text: string, where: string): unknown[] {
  const read = (version: '1.1' | '1.2') => {
    const docs = parseAllDocuments(text, { version, prettyErrors: false });
    if (!Array.isArray(docs)) return [];
    for (const d of docs) if (d.errors.length) throw new KustomizeError(`${where}: not valid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
    return docs.map((d) => d.toJS({ maxAliasCount: 0 }) as unknown);
  };
  const modern = read('1.2');
  const legacy = read('1.1');
  const diff = firstDifference(modern, legacy, '');
  if (diff !== undefined) throw new KustomizeError(`${where}: ${diff || '/'} reads differently in YAML 1.1 (kubectl) and 1.2: quote it or write it unambiguously`);
  return modern;
}

function firstDifference(a: unknown, b: unknown, at: string): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return at;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return isContainer(v) && !Array.isArray(v);
}
