/**
 * The DWARF reader against real compilers' output, with independent
 * oracles: C structs built by gcc and clang in each DWARF form that matters
 * (versions 2, 4, 5; strp, line_strp, strx; implicit_const; DW_OP_plus_uconst
 * member locations; SHF_COMPRESSED and .zdebug sections), checked against
 * offsetof() printed by the program itself; and the Go peer (DWARF 5,
 * compressed, all types in one unit), checked against readelf's dump.
 * Broken data is a value, never an exception.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ElfFile } from '../bpf/elfFile.ts';
import { readStructs, type DwarfSections } from './dwarf.ts';
import { goPeerBinaries } from '../../../test/support/goPeers.ts';

const C_SOURCE = `#include <stddef.h>
#include <stdio.h>
struct hp_sample { char tag; long long id; struct { int a; short b; } inner; const char *name; unsigned char bytes[3]; int last; };
struct hp_other { int x; };
int main(void) {
  struct hp_sample s = {0}; struct hp_other o = {0};
  printf("%zu %zu %zu %zu %zu %zu %zu\\n", sizeof s, offsetof(struct hp_sample, tag), offsetof(struct hp_sample, id),
    offsetof(struct hp_sample, inner), offsetof(struct hp_sample, name), offsetof(struct hp_sample, bytes), offsetof(struct hp_sample, last));
  return s.tag + o.x;
}
`;
const MEMBERS = ['tag', 'id', 'inner', 'name', 'bytes', 'last'];

/** compiler, flags, and what the variant exercises. */
const VARIANTS: Array<[string, string[], string]> = [
  ['gcc', ['-gdwarf-4'], 'DWARF 4, strp'],
  ['gcc', ['-gdwarf-5'], 'DWARF 5, line_strp, implicit_const'],
  ['gcc', ['-gdwarf-5', '-gz=zlib'], 'DWARF 5 in SHF_COMPRESSED sections'],
  ['gcc', ['-gdwarf-4', '-gz=zlib-gnu'], 'DWARF 4 in .zdebug sections'],
  ['gcc', ['-gdwarf-2', '-gstrict-dwarf'], 'DWARF 2, DW_OP_plus_uconst locations'],
  ['clang', ['-gdwarf-5'], 'DWARF 5, strx and .debug_str_offsets'],
  ['clang', ['-gdwarf-4'], 'DWARF 4 from clang'],
];

function sectionsOf(file: string): DwarfSections {
  const opened = ElfFile.open(file);
  if (!opened.ok) throw new Error(opened.error);
  const elf = opened.value;
  try {
    return {
      info: elf.sectionData('.debug_info')!,
      abbrev: elf.sectionData('.debug_abbrev')!,
      str: elf.sectionData('.debug_str'),
      lineStr: elf.sectionData('.debug_line_str'),
      strOffsets: elf.sectionData('.debug_str_offsets'),
    };
  } finally {
    elf.close();
  }
}

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('readStructs on C programs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-dwarf-'));
    writeFileSync(path.join(dir, 's.c'), C_SOURCE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases = VARIANTS.filter(([cc]) => {
    const ok = has(cc);
    if (!ok) process.stderr.write(`[hydrophone] SKIPPING DWARF variants of ${cc}: not installed\n`);
    return ok;
  });

  it.each(cases)('%s %s (%s): struct size and member offsets as offsetof says', (cc, flags) => {
    const out = path.join(dir, `${cc}${flags.join('')}.out`);
    execFileSync(cc, [...flags, '-O0', '-o', out, path.join(dir, 's.c')]);
    const [size, ...offsets] = execFileSync(out).toString().trim().split(' ').map(Number);
    const r = readStructs(sectionsOf(out), new Set(['hp_sample', 'hp_missing']));
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    const s = r.value.get('hp_sample');
    expect(s?.byteSize).toBe(size);
    expect(Object.fromEntries(s!.members)).toEqual(Object.fromEntries(MEMBERS.map((m, i) => [m, offsets[i]])));
    // The anonymous inner struct's members are not the outer struct's.
    expect(s!.members.has('a')).toBe(false);
    expect(r.value.has('hp_missing')).toBe(false);
    expect(r.value.has('hp_other')).toBe(false); // not asked for
  });

  it.skipIf(!has('gcc'))('reports broken data as a value', () => {
    const out = path.join(dir, 'broken.out');
    execFileSync('gcc', ['-gdwarf-5', '-O0', '-o', out, path.join(dir, 's.c')]);
    const s = sectionsOf(out);
    const names = new Set(['hp_sample']);
    const cut = readStructs({ ...s, info: s.info.subarray(0, s.info.length - 40) }, names);
    expect(cut).toMatchObject({ ok: false, error: expect.stringMatching(/^DWARF: unit at 0 runs past the section/) });
    const badVersion = Buffer.from(s.info);
    badVersion.writeUInt16LE(9, 4);
    expect(readStructs({ ...s, info: badVersion }, names)).toMatchObject({ ok: false, error: 'DWARF: unit at 0: DWARF version 9 is not read (2 to 5 are)' });
    // An abbreviation table that ends at once: the first entry's code is unknown.
    expect(readStructs({ ...s, abbrev: Buffer.from([0]) }, names)).toMatchObject({ ok: false, error: expect.stringMatching(/abbreviation \d+ missing/) });
    expect(readStructs({ ...s, str: undefined, lineStr: undefined }, names)).toMatchObject({ ok: false, error: expect.stringMatching(/which the file does not have/) });
  });
});

/** Struct layouts as readelf prints them: name -> { size, members }. */
function readelfStructs(file: string, names: Set<string>): Map<string, { size: number; members: Record<string, number> }> {
  const text = execFileSync('readelf', ['--debug-dump=info', file], { maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const out = new Map<string, { size: number; members: Record<string, number> }>();
  let current: { name?: string; size: number; members: Record<string, number>; level: number } | undefined;
  let die: { tag: string; level: number; name?: string; loc?: number } | undefined;
  const finishDie = () => {
    if (!die) return;
    if (current && die.level === current.level + 1 && die.tag === 'DW_TAG_member' && die.name !== undefined && die.loc !== undefined) {
      current.members[die.name] = die.loc;
    }
  };
  for (const line of text.split('\n')) {
    const head = /^ <(\d+)><[0-9a-f]+>: Abbrev Number: \d+ \((\w+)\)/.exec(line);
    if (head) {
      finishDie();
      const level = Number(head[1]);
      if (current && level <= current.level) {
        if (current.name && !out.has(current.name)) out.set(current.name, { size: current.size, members: current.members });
        current = undefined;
      }
      die = { tag: head[2]!, level };
      if (die.tag === 'DW_TAG_structure_type' && !current) current = { size: 0, members: {}, level };
      continue;
    }
    const attr = /^\s+<[0-9a-f]+>\s+(DW_AT_\w+)\s*: (.*)$/.exec(line);
    if (!attr || !die) continue;
    if (current && die.level === current.level && die.tag === 'DW_TAG_structure_type') {
      if (attr[1] === 'DW_AT_name') current.name = names.has(attr[2]!.trim()) ? attr[2]!.trim() : undefined;
      if (attr[1] === 'DW_AT_byte_size') current.size = Number(attr[2]);
    }
    if (attr[1] === 'DW_AT_name') die.name = attr[2]!.trim();
    if (attr[1] === 'DW_AT_data_member_location') die.loc = Number(attr[2]);
  }
  return out;
}

describe('readStructs on the Go peer (DWARF 5, compressed)', () => {
  let binary: string;
  beforeAll(async () => {
    binary = (await goPeerBinaries()).go;
  });

  it('gives the layouts readelf prints, for the structs the Go TLS and HTTP/2 header probes follow and a few more', () => {
    const names = new Set(['crypto/tls.Conn', 'net.TCPConn', 'net.UnixConn', 'net.conn', 'net.netFD', 'internal/poll.FD', 'runtime.g', 'net/http.Request',
      'google.golang.org/grpc/internal/transport.http2Client', 'google.golang.org/grpc/internal/transport.http2Server',
      'google.golang.org/grpc/internal/transport.loopyWriter', 'google.golang.org/grpc/internal/credentials.syscallConn',
      'golang.org/x/net/http2.MetaHeadersFrame', 'golang.org/x/net/http2.HeadersFrame', 'golang.org/x/net/http2.FrameHeader',
      'golang.org/x/net/http2/hpack.HeaderField']);
    const started = performance.now();
    const r = readStructs(sectionsOf(binary), names);
    const ms = performance.now() - started;
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    const expected = readelfStructs(binary, names);
    expect([...expected.keys()].sort()).toEqual([...names].sort());
    for (const name of names) {
      const got = r.value.get(name)!;
      expect({ size: got.byteSize, members: Object.fromEntries(got.members) }, name).toEqual(expected.get(name));
    }
    expect(r.value.get('internal/poll.FD')!.members.get('Sysfd')).toBe(16);
    process.stderr.write(`[hydrophone] DWARF: ${names.size} structs from ${binary} in ${ms.toFixed(0)} ms\n`);
  });
});
