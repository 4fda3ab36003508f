/** Fuzz properties of the pipeline (see pipelineProperties.ts), in CI: bounded runs from fixed seeds. */
import { fuzzSuite } from './fuzzSuite.ts';

await fuzzSuite('pipeline');
