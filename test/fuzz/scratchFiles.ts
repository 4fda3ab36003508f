/**
 * Files the fuzz cases are written to (the capture and recording readers
 * read files): one per property, overwritten by each case, in a directory
 * of this process's own that the suites remove when they end.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

let scratch: string | undefined;

/** The path of a scratch file (its directory is made when a case is written). */
export function scratchFile(name: string): string {
  scratch ??= path.join(tmpdir(), `hydrophone-fuzz-${process.pid}`);
  return path.join(scratch, name.replace(/[^a-z0-9]+/gi, '-'));
}

/** Writes a case to a scratch file (again making its directory, which another suite's cleanup may have removed). */
export function writeScratch(file: string, bytes: Uint8Array | string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

/** Removes this process's scratch directory and what is in it. */
export function removeScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}
