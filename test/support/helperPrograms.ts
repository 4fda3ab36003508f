/** Compiles the C helper programs under test/helpers on demand (into build/). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';

export function helperProgram(name: string): string {
  const src = path.join(projectRoot, 'test/helpers', `${name}.c`);
  const outDir = path.join(projectRoot, 'build/test-helpers');
  const bin = path.join(outDir, name);
  mkdirSync(outDir, { recursive: true });
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', bin, src]);
  }
  return bin;
}
