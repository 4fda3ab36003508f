/**
 * Runs slices of the fuzz properties for bench/fuzz.ts, in a worker
 * thread: a case that hangs blocks this thread only, and the main thread,
 * seeing no answer, reports the hang and starts another worker. Cases are
 * counted in shared memory as they start, so the report says how far the
 * slice got; with `trace` each input is printed before it runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { loadCorpus } from '../test/fuzz/corpus.ts';
import { caseHooks } from '../test/fuzz/fuzzProperty.ts';
import { knownBugHits } from '../test/fuzz/knownBugs.ts';
import { allProperties } from '../test/fuzz/properties.ts';
import { removeScratch } from '../test/fuzz/scratchFiles.ts';

export interface SliceRequest {
  readonly property: string;
  readonly seed: number;
  readonly timeLimitMs: number;
}

export interface SliceResult {
  readonly runs: number;
  readonly ms: number;
  readonly failure?: { readonly error: string; readonly path: string; readonly counterexample: string };
  /** Known bugs met in this slice: bug id -> cases. */
  readonly knownBugs: Record<string, number>;
}

export interface WorkerData {
  /** [0]: cases started in the current slice. */
  readonly progress: Int32Array;
  readonly trace: boolean;
}

const { progress, trace } = workerData as WorkerData;
const properties = new Map(allProperties(await loadCorpus()).map((p) => [p.name, p]));

caseHooks.before = (property, args) => {
  Atomics.add(progress, 0, 1);
  if (trace) process.stderr.write(`case ${Atomics.load(progress, 0)} of ${property}: ${fc.stringify(args)}\n`);
};

parentPort!.on('message', async (request: SliceRequest | 'exit') => {
  if (request === 'exit') {
    removeScratch();
    process.exit(0);
  }
  const p = properties.get(request.property)!;
  Atomics.store(progress, 0, 0);
  knownBugHits.delete(p.name);
  const start = performance.now();
  const details = await fc.check(p.property, { seed: request.seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: request.timeLimitMs });
  const result: SliceResult = {
    runs: details.numRuns,
    ms: performance.now() - start,
    knownBugs: Object.fromEntries(knownBugHits.get(p.name) ?? []),
    ...(details.failed && details.counterexamplePath !== null
      ? {
        failure: {
          error: details.errorInstance instanceof Error ? `${details.errorInstance.name}: ${details.errorInstance.message}` : String(details.errorInstance),
          path: details.counterexamplePath,
          counterexample: fc.stringify(details.counterexample),
        },
      }
      : {}),
  };
  parentPort!.postMessage(result);
});
parentPort!.postMessage('ready');
