/**
 * The struct layouts a Go binary's DWARF gives, read from its ELF
 * sections (.debug_info and friends; Go's compressed sections are
 * decompressed by ElfFile). A binary without them, or with DWARF that does
 * not parse, is a reason in words, never an exception.
 */
import type { ElfFile } from '../bpf/elfFile.ts';
import { readStructs, type StructLayout } from './dwarf.ts';

export const NO_DWARF = 'no DWARF (.debug_info or .debug_abbrev missing)';

export function hasDwarf(elf: ElfFile): boolean {
  return elf.section('.debug_info') !== undefined || elf.section('.zdebug_info') !== undefined;
}

/** The structs named in `names` (absent from the map when not found), or why DWARF could not be read. */
export function structsOf(elf: ElfFile, names: ReadonlySet<string>): Map<string, StructLayout> | string {
  let info, abbrev, str, lineStr, strOffsets;
  try {
    info = elf.sectionData('.debug_info');
    abbrev = elf.sectionData('.debug_abbrev');
    str = elf.sectionData('.debug_str');
    lineStr = elf.sectionData('.debug_line_str');
    strOffsets = elf.sectionData('.debug_str_offsets');
  } catch (err) {
    return `DWARF unreadable: ${(err as Error).message}`;
  }
  if (!info || !abbrev) return NO_DWARF;
  const r = readStructs({ info, abbrev, str, lineStr, strOffsets }, names);
  return r.ok ? r.value : r.error;
}
