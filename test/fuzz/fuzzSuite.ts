/**
 * The CI suite of one group of fuzz properties: one test per property,
 * run under its budget (fuzzSettings.ts); the known bugs it met on the
 * way are printed (knownBugs.ts), so a tolerated bug is still seen.
 */
import { afterAll, describe, it } from 'vitest';
import { loadCorpus } from './corpus.ts';
import { assertProperty, type FuzzGroup } from './fuzzProperty.ts';
import { RUN_SCALE } from './fuzzSettings.ts';
import { knownBugReport } from './knownBugs.ts';
import { propertiesOf } from './properties.ts';
import { removeScratch } from './scratchFiles.ts';

/** Time for shrinking a failure, beyond a property's own limit. */
const SHRINK_MS = 60_000;

export async function fuzzSuite(group: FuzzGroup): Promise<void> {
  const corpus = await loadCorpus();
  describe(`fuzz: ${group}`, () => {
    afterAll(removeScratch);
    for (const p of propertiesOf(group, corpus)) {
      it(p.name, async () => {
        try {
          await assertProperty(p);
        } finally {
          const note = knownBugReport(p.name);
          if (note) console.warn(note);
        }
      }, p.budget.timeLimitMs * RUN_SCALE + SHRINK_MS);
    }
  });
}
