/** Fuzz properties of the parsers (see parserProperties.ts), in CI: bounded runs from fixed seeds. */
import { fuzzSuite } from './fuzzSuite.ts';

await fuzzSuite('parsers');
