/**
 * Every capture cut at every boundary of its structure (global header,
 * record and block headers, packet data), a byte before, at and after it,
 * with a small read window so each cut also falls across refills: the
 * reader ends, or stops with a CaptureError at an offset in the file. The
 * random mutations of captures.test.ts cut at some boundaries; this cuts
 * at all of them (up to MAX_BOUNDARIES per file, spread over it).
 */
import { afterAll, describe, it } from 'vitest';
import { captureLayout } from './captureLayout.ts';
import { builtCaptures, readAndCheck } from './captureProperties.ts';
import { removeScratch, scratchFile } from './scratchFiles.ts';
import { loadCorpus } from './corpus.ts';

const MAX_BOUNDARIES = 48;
const corpus = await loadCorpus();

describe('captures cut at every boundary', () => {
  afterAll(removeScratch);
  const file = scratchFile('cut-capture');
  for (const capture of [...corpus.captures, ...builtCaptures()]) {
    it(capture.name, async () => {
      const all = [...new Set(captureLayout(capture.bytes).boundaries)].sort((a, b) => a - b);
      const step = Math.max(1, Math.ceil(all.length / MAX_BOUNDARIES));
      for (let i = 0; i < all.length; i += step) {
        for (const cut of [all[i]! - 1, all[i]!, all[i]! + 1]) {
          if (cut < 0 || cut > capture.bytes.length) continue;
          await readAndCheck(file, capture.bytes.subarray(0, cut), capture, 'server', 100);
        }
      }
    }, 60_000);
  }
});
