/** Fuzz properties of header, metadata and query capture (see privacyProperties.ts), in CI: bounded runs from fixed seeds. */
import { fuzzSuite } from './fuzzSuite.ts';

await fuzzSuite('privacy');
