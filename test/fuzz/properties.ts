/**
 * Every fuzz property, for the CI suite (test/fuzz/*.test.ts, a group per
 * file) and the long run (bench/fuzz.ts, all of them).
 */
import type { Corpus } from './corpus.ts';
import type { FuzzGroup, FuzzProperty } from './fuzzProperty.ts';
import { captureProperties } from './captureProperties.ts';
import { parserProperties } from './parserProperties.ts';
import { pipelineProperties } from './pipelineProperties.ts';
import { privacyProperties } from './privacyProperties.ts';
import { recordingProperties } from './recordingProperties.ts';

export function allProperties(corpus: Corpus): FuzzProperty[] {
  return [...parserProperties(corpus), ...pipelineProperties(corpus), ...captureProperties(corpus), ...recordingProperties(corpus), ...privacyProperties(corpus)];
}

export function propertiesOf(group: FuzzGroup, corpus: Corpus): FuzzProperty[] {
  return allProperties(corpus).filter((p) => p.group === group);
}
