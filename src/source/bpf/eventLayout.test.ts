/**
 * The TypeScript reading of bpf/abi.h against the compiler's: sizeof,
 * offsetof and enum values exported by the addon (generated from the
 * header at build time). Needs the addon built, not root.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { addonPath, loadAddon } from '../../native/addon.ts';
import { Enums, Offsets, Sizes, SyscallNames, CounterNames } from './eventLayout.ts';

const built = existsSync(addonPath);
if (!built) process.stderr.write('[hydrophone] SKIPPING ABI layout test: the addon is not built (sh scripts/bootstrap.sh)\n');

describe.skipIf(!built)('event layout matches bpf/abi.h', () => {
  const abi = built ? loadAddon().abi() : { sizes: {}, offsets: {}, enums: {}, version: 0 };

  it('has the size of every struct the header defines', () => {
    // Both directions: a struct added to the header must be read here too.
    expect(Sizes).toEqual(abi.sizes);
  });

  it.each(Object.entries(Offsets))('offset of %s is %i', (field, offset) => {
    expect(abi.offsets[field]).toBe(offset);
  });

  it('reads every non-padding field of every record', () => {
    const unread = Object.keys(abi.offsets).filter(
      (k) => !(k in Offsets) && !/\._pad\d*$/.test(k) && !k.endsWith('.hdr'),
    );
    expect(unread).toEqual([]);
  });

  it.each(Object.entries(Enums))('%s = %i', (name, value) => {
    expect(abi.enums[name]).toBe(value);
  });

  it('names every syscall and counter by its enum value', () => {
    const sys = Object.entries(abi.enums).filter(([k]) => k.startsWith('HP_SYS_'));
    expect(sys.length).toBe(SyscallNames.length - 1);
    for (const [name, value] of sys) expect(SyscallNames[value]).toBe(name.slice('HP_SYS_'.length).toLowerCase());
    const ctrs = Object.entries(abi.enums).filter(([k]) => k.startsWith('HP_CTR_') && k !== 'HP_CTR__COUNT');
    expect(ctrs.length).toBe(CounterNames.length);
  });
});
