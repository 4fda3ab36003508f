/**
 * The C programs the tests and benchmarks run (test/helpers, bench/native),
 * compiled on demand into build/ when missing or older than their sources
 * (the shared loopback.h included).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';

const HELPERS = path.join(projectRoot, 'test/helpers');

/** Compiles `src` into `outDir`; returns the binary's path. */
export function compileC(src: string, outDir: string, extraFlags: readonly string[] = []): string {
  const bin = path.join(outDir, path.basename(src, '.c'));
  mkdirSync(outDir, { recursive: true });
  const newest = Math.max(statSync(src).mtimeMs, statSync(path.join(HELPERS, 'loopback.h')).mtimeMs);
  if (!existsSync(bin) || statSync(bin).mtimeMs < newest) {
    execFileSync('cc', ['-O2', '-Wall', '-Werror', `-I${HELPERS}`, ...extraFlags, '-o', bin, src], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return bin;
}

export function helperProgram(name: string): string {
  return compileC(path.join(HELPERS, `${name}.c`), path.join(projectRoot, 'build/test-helpers'));
}
