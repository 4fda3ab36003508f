/**
 * Validation of a manifest against the Kubernetes OpenAPI schema of its
 * kind, with kubernetes-models (a class per built-in kind, each carrying a
 * validator compiled from the schema). It checks types, enums, formats and
 * required fields; it does not refuse unknown fields (a misspelt
 * `hostPid` passes): the API server's dry run with fieldValidation=Strict
 * does (manifests.test.ts).
 */
import type { KubeManifest } from '../../src/deploy/renderManifests.ts';

type ModelClass = new (data: unknown) => { validate(): void };

/** The kubernetes-models class of `apiVersion`/`kind`, or an error naming what is missing. */
export async function modelClass(apiVersion: string, kind: string): Promise<ModelClass> {
  let mod: Record<string, unknown>;
  try {
    const specifier = `kubernetes-models/${apiVersion}`;
    mod = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`kubernetes-models has no API version ${apiVersion} (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  const cls = mod[kind];
  if (typeof cls !== 'function') throw new Error(`kubernetes-models has no ${kind} in ${apiVersion}`);
  return cls as ModelClass;
}

/** Throws with the validator's message (instance paths and why) when `o` does not fit its schema. */
export async function validateAgainstSchema(o: KubeManifest): Promise<void> {
  const Model = await modelClass(o.apiVersion, o.kind);
  new Model(o).validate();
}
