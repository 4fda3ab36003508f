/**
 * How long the fuzz properties run. CI runs each a bounded number of times
 * from a fixed seed (same inputs every run, so a red build is reproducible
 * from its log) and stops generating cases at its time limit; the limits
 * add up to about 60 s with the privacy properties (the runs usually end
 * well before them: the suite took about 25 s here).
 *
 * HYDROPHONE_FUZZ_RUNS=N scales every count and time limit by N for a
 * longer local run; HYDROPHONE_FUZZ_SEED and HYDROPHONE_FUZZ_PATH replay
 * what a failure printed ("seed: ..., path: ..."). The time limit bounds
 * shrinking too: a failure shrunk only part way in CI shrinks further when
 * replayed with a larger HYDROPHONE_FUZZ_RUNS.
 */
import type { Parameters } from 'fast-check';

function positiveNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** Multiplier of every property's CI run count and time limit. */
export const RUN_SCALE = positiveNumber('HYDROPHONE_FUZZ_RUNS', 1);

/** A seed per property, fixed by its name, so adding a property leaves the others' inputs as they were. */
export function fixedSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

export interface RunBudget {
  /** Runs in CI (before scaling). */
  readonly runs: number;
  /** Time after which CI stops generating new cases (before scaling); a run cut short still passes. */
  readonly timeLimitMs: number;
}

/** fast-check parameters for one property under the budget, the scale and any replay asked for. */
export function parametersFor<T>(name: string, budget: RunBudget): Parameters<T> {
  const seedText = process.env['HYDROPHONE_FUZZ_SEED'];
  const path = process.env['HYDROPHONE_FUZZ_PATH'];
  return {
    numRuns: Math.max(1, Math.round(budget.runs * RUN_SCALE)),
    interruptAfterTimeLimit: Math.round(budget.timeLimitMs * RUN_SCALE),
    seed: seedText ? Number(seedText) : fixedSeed(name),
    ...(path ? { path } : {}),
    // A failure is printed with its seed, its path and the shrunk input.
    verbose: 1,
  };
}
