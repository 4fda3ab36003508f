/**
 * The real captures in ../shared/captures (beside the checkout, in CI as on
 * a developer's machine). Tests that need them skip, with the reason
 * printed, where the folder is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_CAPTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/captures');

let reported = false;

/** undefined when the captures are there; otherwise why tests using them skip. */
export function sharedCapturesMissing(): string | undefined {
  if (existsSync(path.join(SHARED_CAPTURES, 'MANIFEST.tsv'))) return undefined;
  const reason = `${SHARED_CAPTURES} not found (the shared captures sit beside the checkout)`;
  if (!reported) process.stderr.write(`\n[hydrophone] SKIPPING tests on real captures: ${reason}\n`);
  reported = true;
  return reason;
}
