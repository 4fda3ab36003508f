/**
 * One fuzz property, as the CI suite (test/fuzz/*.test.ts) and the long
 * run (bench/fuzz.ts) both use it: a fast-check property and its CI budget.
 */
import fc from 'fast-check';
import { parametersFor, type RunBudget } from './fuzzSettings.ts';
import { toleratedAsKnownBug } from './knownBugs.ts';

export type FuzzGroup = 'parsers' | 'pipeline' | 'captures' | 'recordings' | 'privacy';

export interface FuzzProperty {
  /** "http1: mutated real conversations" (also what fixes its CI seed). */
  readonly name: string;
  readonly group: FuzzGroup;
  readonly budget: RunBudget;
  // Properties differ in their generated values; both runners only pass them to fast-check.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly property: fc.IRawProperty<any>;
}

/**
 * Called before each case of every property, with its input: the bench
 * counts cases with it (a hang is reported with how far its slice got)
 * and, with --trace, prints each input first (the last one printed is
 * the one that hangs).
 */
export const caseHooks: { before?: (property: string, args: readonly unknown[]) => void } = {};

/**
 * A property's predicate, with failures that are known bugs (knownBugs.ts)
 * counted instead of thrown, so a run goes on to find new ones.
 */
export function guarded<A extends unknown[]>(property: string, body: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    caseHooks.before?.(property, args);
    try {
      body(...args);
    } catch (err) {
      if (!toleratedAsKnownBug(property, err)) throw err;
    }
  };
}

export function guardedAsync<A extends unknown[]>(property: string, body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    caseHooks.before?.(property, args);
    try {
      await body(...args);
    } catch (err) {
      if (!toleratedAsKnownBug(property, err)) throw err;
    }
  };
}

/** Runs a property under its CI budget (scaled); throws fast-check's report (seed, path, shrunk input) on failure. */
export async function assertProperty(p: FuzzProperty): Promise<void> {
  await fc.assert(p.property, parametersFor(p.name, p.budget));
}

/**
 * One of `items`, printed by name in a failure report (a seed
 * conversation or capture printed whole would bury the mutations).
 */
export function seedFrom<T extends object>(items: readonly T[], nameOf: (item: T) => string): fc.Arbitrary<T> {
  return fc.constantFrom(...items.map((item) => Object.defineProperty({ ...item }, fc.toStringMethod, { value: () => `<${nameOf(item)}>`, enumerable: false })));
}

export class TooSlow extends Error {
  override readonly name = 'TooSlow';
}

/**
 * "No hang": a case must finish within `ms`. Generous, because CI machines
 * are loaded; what it catches is work that grows faster than the input
 * (a case taking seconds where milliseconds are expected).
 */
export function withinTime(what: string, elapsedMs: number, ms: number): void {
  if (elapsedMs > ms) throw new TooSlow(`${what} took ${elapsedMs.toFixed(0)} ms (budget ${ms} ms)`);
}
