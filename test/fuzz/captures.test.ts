/** Fuzz properties of the captures (see captureProperties.ts), in CI: bounded runs from fixed seeds. */
import { fuzzSuite } from './fuzzSuite.ts';

await fuzzSuite('captures');
