/**
 * The part of JSON Patch (RFC 6902) that kustomize's `patches` apply and
 * our manifests use: add, remove, replace and test, on JSON Pointers
 * (RFC 6901). `test` guards a patch against a manifest that moved under it
 * (a container index that no longer names the sensor): the patch fails
 * instead of editing the wrong thing. move and copy are refused by name.
 */

export type JsonPatchOp =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

export class JsonPatchError extends Error {}

/** The operations applied; move and copy are refused. */
export const JSON_PATCH_OPS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'test']);

/** Checks that `raw` is a list of supported operations; throws naming the first that is not. */
export function parseJsonPatch(raw: unknown, where: string): JsonPatchOp[] {
  if (!Array.isArray(raw)) throw new JsonPatchError(`${where}: a patch must be a JSON Patch list of operations (strategic merge patches are not supported)`);
  return raw.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new JsonPatchError(`${where}: operation ${i} is not a mapping`);
    const o = item as Record<string, unknown>;
    if (typeof o.op !== 'string' || !JSON_PATCH_OPS.has(o.op)) throw new JsonPatchError(`${where}: operation ${i}: op ${JSON.stringify(o.op)} is not supported (only ${[...JSON_PATCH_OPS].join(', ')})`);
    if (typeof o.path !== 'string') throw new JsonPatchError(`${where}: operation ${i} (${o.op}) has no path`);
    const extra = Object.keys(o).filter((k) => !['op', 'path', 'value'].includes(k));
    if (extra.length) throw new JsonPatchError(`${where}: operation ${i} (${o.op}): unknown key ${extra.join(', ')}`);
    if (o.op === 'remove') return { op: 'remove', path: o.path };
    if (!('value' in o)) throw new JsonPatchError(`${where}: operation ${i} (${o.op} ${o.path}) has no value`);
    return { op: o.op as 'add' | 'replace' | 'test', path: o.path, value: o.value };
  });
}

/** "/a/b~1c/0" -> ["a", "b/c", "0"]. */
function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError(`path ${JSON.stringify(pointer)} must start with /`);
  return pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null;
}

function arrayIndex(token: string, length: number, allowEnd: boolean, path: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchError(`${path}: ${JSON.stringify(token)} is not an array index`);
  const i = Number(token);
  if (i > length || (!allowEnd && i === length)) throw new JsonPatchError(`${path}: index ${i} is out of range (length ${length})`);
  return i;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Applies `ops` in order to a deep copy of `doc`; the first failing operation throws and nothing is changed. */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let root: unknown = structuredClone(doc);
  for (const op of ops) {
    const tokens = pointerTokens(op.path);
    if (tokens.length === 0) {
      if (op.op === 'test') {
        if (!deepEqual(root, op.value)) throw new JsonPatchError(`test ${op.path || '/'}: the document differs`);
        continue;
      }
      if (op.op === 'remove') throw new JsonPatchError('remove: cannot remove the whole document');
      root = structuredClone(op.value);
      continue;
    }
    let parent: unknown = root;
    for (const [depth, token] of tokens.slice(0, -1).entries()) {
      const at = `/${tokens.slice(0, depth + 1).join('/')}`;
      if (!isContainer(parent)) throw new JsonPatchError(`${op.op} ${op.path}: ${at} is not an object or array`);
      const next: unknown = Array.isArray(parent) ? parent[arrayIndex(token, parent.length, false, at)] : (Object.hasOwn(parent, token) ? parent[token] : undefined);
      if (next === undefined) throw new JsonPatchError(`${op.op} ${op.path}: ${at} does not exist`);
      parent = next;
    }
    const last = tokens.at(-1)!;
    if (!isContainer(parent)) throw new JsonPatchError(`${op.op} ${op.path}: the parent is not an object or array`);
    if (Array.isArray(parent)) {
      const i = arrayIndex(last, parent.length, op.op === 'add', op.path);
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === 'remove') parent.splice(i, 1);
      else if (op.op === 'replace') parent[i] = structuredClone(op.value);
      else if (!deepEqual(parent[i], op.value)) throw new JsonPatchError(`test ${op.path}: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(parent[i])}`);
      continue;
    }
    const exists = Object.hasOwn(parent, last);
    if (op.op !== 'add' && !exists) throw new JsonPatchError(`${op.op} ${op.path}: nothing there`);
    if (op.op === 'add' || op.op === 'replace') parent[last] = structuredClone(op.value);
    else if (op.op === 'remove') delete parent[last];
    else if (!deepEqual(parent[last], op.value)) throw new JsonPatchError(`test ${op.path}: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(parent[last])}`);
  }
  return root as T;
}
