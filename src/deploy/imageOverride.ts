/**
 * kustomize's `images:` transformer, for the part an operator needs: the
 * sensor image moved to their own registry, pinned to a tag or a digest.
 * An entry names an image (what comes before its tag or digest) and gives
 * a new name, a new tag or a digest; every container and init container of
 * every pod template (and bare Pod) whose image has that name gets it.
 *
 * Parsed strictly: an entry with an unknown key, no replacement, both a
 * tag and a digest, or a value that cannot be an image reference is
 * refused, so a typo never leaves the old image quietly in place.
 */
import type { KubeManifest } from './renderManifests.ts';

/** One `images:` entry, as kustomize spells it. */
export interface ImageOverride {
  /** The image name to replace, without tag or digest (e.g. hydrophone-sensor). */
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
  /** sha256:<64 hex>: the image pinned by content; replaces any tag. */
  readonly digest?: string;
}

export class ImageOverrideError extends Error {}

const KEYS = new Set(['name', 'newName', 'newTag', 'digest']);
// An image name: [registry host[:port]/] path components, lower case (the distribution spec's grammar, loosely).
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+(?=\/))?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Checks one `images:` entry; `where` names it in errors. */
export function parseImageOverride(entry: unknown, where: string): ImageOverride {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ImageOverrideError(`${where}: must be a mapping (name, and newName, newTag or digest)`);
  const e = entry as Record<string, unknown>;
  const unknown = Object.keys(e).filter((k) => !KEYS.has(k));
  if (unknown.length) throw new ImageOverrideError(`${where}: ${unknown.join(', ')}: not supported (only ${[...KEYS].join(', ')})`);
  for (const k of KEYS) if (e[k] !== undefined && typeof e[k] !== 'string') throw new ImageOverrideError(`${where}: ${k} must be a string`);
  const { name, newName, newTag, digest } = e as Partial<Record<keyof ImageOverride, string>>;
  if (!name || !NAME.test(name)) throw new ImageOverrideError(`${where}: name must be an image name without tag or digest, got '${name ?? ''}'`);
  if (newName === undefined && newTag === undefined && digest === undefined) throw new ImageOverrideError(`${where}: give newName, newTag or digest`);
  if (newName !== undefined && !NAME.test(newName)) throw new ImageOverrideError(`${where}: newName '${newName}' is not an image name (lower case, [registry/]path, no tag)`);
  if (newTag !== undefined && !TAG.test(newTag)) throw new ImageOverrideError(`${where}: newTag '${newTag}' is not a tag`);
  if (digest !== undefined && !DIGEST.test(digest)) throw new ImageOverrideError(`${where}: digest must be sha256:<64 hex digits>, got '${digest}'`);
  if (newTag !== undefined && digest !== undefined) throw new ImageOverrideError(`${where}: give newTag or digest, not both (a digest already names one image)`);
  return { name, ...(newName !== undefined ? { newName } : {}), ...(newTag !== undefined ? { newTag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/**
 * An image reference given whole (registry/name:tag or registry/name@sha256:...)
 * as the override of `name`: what `--sensor-image` takes.
 */
export function imageOverrideFromReference(name: string, reference: string, where: string): ImageOverride {
  const { name: newName, tag, digest } = splitImage(reference);
  return parseImageOverride({ name, newName, ...(tag !== undefined ? { newTag: tag } : {}), ...(digest !== undefined ? { digest } : {}) }, `${where} '${reference}'`);
}

/** Every container and init container image the objects' pod specs name. */
export function containerImages(objects: readonly KubeManifest[]): string[] {
  const images: string[] = [];
  for (const o of objects) {
    for (const spec of podSpecsOf(o)) {
      for (const list of [spec.containers, spec.initContainers]) {
        if (Array.isArray(list)) for (const c of list) if (typeof c?.image === 'string') images.push(c.image);
      }
    }
  }
  return images;
}

/** The overrides that name no image of the objects (a typo, or an image renamed since). */
export function unmatchedOverrides(objects: readonly KubeManifest[], overrides: readonly ImageOverride[]): ImageOverride[] {
  const names = new Set(containerImages(objects).map((i) => splitImage(i).name));
  return overrides.filter((o) => !names.has(o.name));
}

/** The objects with every matching container image replaced; objects without a match are returned as they were. */
export function applyImageOverrides(objects: readonly KubeManifest[], overrides: readonly ImageOverride[]): KubeManifest[] {
  if (!overrides.length) return [...objects];
  return objects.map((o) => {
    const specs = podSpecsOf(o);
    if (!specs.length) return o;
    const copy = structuredClone(o);
    for (const spec of podSpecsOf(copy)) {
      for (const list of [spec.containers, spec.initContainers]) {
        if (!Array.isArray(list)) continue;
        for (const c of list) {
          if (typeof c?.image !== 'string') continue;
          c.image = overridden(c.image, overrides);
        }
      }
    }
    return copy;
  });
}

interface PodSpecLike {
  containers?: { image?: unknown }[];
  initContainers?: { image?: unknown }[];
}

/** The pod specs an object carries: a Pod's own, a workload's template, a CronJob's job template. */
function podSpecsOf(o: KubeManifest): PodSpecLike[] {
  const at = (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined);
  const spec = o['spec'];
  const path = o.kind === 'Pod' ? [] : o.kind === 'CronJob' ? ['jobTemplate', 'spec', 'template', 'spec'] : ['template', 'spec'];
  const found = path.reduce<unknown>(at, spec);
  return typeof found === 'object' && found !== null ? [found as PodSpecLike] : [];
}

function overridden(image: string, overrides: readonly ImageOverride[]): string {
  const parts = splitImage(image);
  const o = overrides.find((x) => x.name === parts.name);
  if (!o) return image;
  const name = o.newName ?? parts.name;
  if (o.digest !== undefined) return `${name}@${o.digest}`;
  if (o.newTag !== undefined) return `${name}:${o.newTag}`;
  // Only the name changes: keep whatever pinned the old one.
  return `${name}${parts.digest !== undefined ? `@${parts.digest}` : parts.tag !== undefined ? `:${parts.tag}` : ''}`;
}

/** name[:tag][@digest]; a ':' before the last '/' belongs to a registry's port. */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  let tag: string | undefined;
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
