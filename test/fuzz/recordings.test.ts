/** Fuzz properties of the recordings (see recordingProperties.ts), in CI: bounded runs from fixed seeds. */
import { fuzzSuite } from './fuzzSuite.ts';

await fuzzSuite('recordings');
