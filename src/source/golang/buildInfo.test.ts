/**
 * The Go version from .go.buildinfo against `go version FILE` (the Go
 * toolchain's own reader), on the Go peer's three builds; a file that is
 * not Go says so. (The pre-1.18 pointer layout has no binary here to test.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ElfFile } from '../bpf/elfFile.ts';
import { goRelease, goVersion, isGoBinary } from './buildInfo.ts';
import { goPeerBinaries, goTool, type GoPeerBinaries } from '../../../test/support/goPeers.ts';

function versionOf(file: string) {
  const opened = ElfFile.open(file);
  if (!opened.ok) throw new Error(opened.error);
  try {
    return { go: isGoBinary(opened.value), version: goVersion(opened.value) };
  } finally {
    opened.value.close();
  }
}

describe('goVersion', () => {
  let peers: GoPeerBinaries;
  beforeAll(async () => {
    peers = await goPeerBinaries();
  });

  it.each(['go', 'noDwarf', 'pie'] as const)('reads the version of the %s build as `go version` does', (build) => {
    const go = goTool();
    expect(go, 'a Go toolchain (prepare.sh needed one)').toBeDefined();
    const expected = execFileSync(go!, ['version', peers[build]]).toString().trim().split(': ')[1];
    expect(versionOf(peers[build])).toEqual({ go: true, version: { ok: true, value: expected } });
  });

  it('says a C program is not Go', () => {
    expect(versionOf('/usr/bin/ls')).toEqual({ go: false, version: { ok: false, error: 'no .go.buildinfo section (not a Go binary)' } });
  });
});

describe('goRelease', () => {
  it.each([
    ['go1.26.8', [1, 26]],
    ['go1.17', [1, 17]],
    ['go1.22rc1', [1, 22]],
    ['devel go1.24-abcdef Tue Jan 1', [1, 24]],
    ['weird', undefined],
  ])('%s', (v, expected) => {
    expect(goRelease(v)).toEqual(expected);
  });
});
