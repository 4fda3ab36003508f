/**
 * Return sites and argument spills: table-driven on hand-assembled x86-64
 * (every shape the finder must accept or refuse), then on the Go peer's
 * crypto/tls functions against objdump's disassembly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ElfFile } from '../bpf/elfFile.ts';
import { findReturnSites, spillsFirstTwoArguments } from './returnSites.ts';
import { goPeerBinaries } from '../../../test/support/goPeers.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);
const BASE = 0x401000;

describe('findReturnSites', () => {
  it.each([
    ['a lone ret', bytes(0xc3), [0]],
    ['ret imm16 and ret', bytes(0xc2, 0x08, 0x00, 0xc3), [0, 3]],
    // mov rax,rbx; test rax,rax; je +1; ret; ret
    ['a branch inside the function', bytes(0x48, 0x89, 0xd8, 0x48, 0x85, 0xc0, 0x74, 0x01, 0xc3, 0xc3), [8, 9]],
    // a C3 byte inside an instruction is not a return: mov eax, 0xc3c3c3c3; ret
    ['0xc3 inside an immediate', bytes(0xb8, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3), [5]],
    // call rel32 (to anywhere); ret: calls come back
    ['a call out of the function', bytes(0xe8, 0x00, 0x10, 0x00, 0x00, 0xc3), [5]],
    // jmp rax (a switch's jump table); ret
    ['an indirect jump', bytes(0xff, 0xe0, 0xc3), [2]],
    // ret then int3 padding
    ['int3 padding after the last ret', bytes(0xc3, 0xcc, 0xcc), [0]],
  ])('%s', (_what, code, expected) => {
    expect(findReturnSites(code, BASE)).toEqual({ ok: true, value: expected });
  });

  it.each([
    // jmp rel32 far away: a tail call
    ['a jump out of the function', bytes(0xc3, 0xe9, 0x00, 0x10, 0x00, 0x00), /a jump leaves the function at \+0x1 \(tail call\)/],
    // jne to before the function
    ['a conditional jump backwards out', bytes(0x75, 0xf0, 0xc3), /a jump leaves the function at \+0x0/],
    ['no return at all', bytes(0x90, 0x90), /^no return instruction$/],
    ['a cut instruction', bytes(0xc3, 0x48, 0x89), /no valid instruction at \+0x1/],
  ])('refuses %s', (_what, code, error) => {
    expect(findReturnSites(code, BASE)).toMatchObject({ ok: false, error: expect.stringMatching(error) });
  });
});

describe('spillsFirstTwoArguments', () => {
  // Go's prologue: cmp rsp,[r14+0x10]; jbe ...; push rbp; mov rbp,rsp; sub rsp,0x58
  const prologue = [0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x00, 0x01, 0x00, 0x00, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x58];
  const movRaxSlot = (d: number) => [0x48, 0x89, 0x44, 0x24, d]; // mov [rsp+d], rax
  const movRbxSlot = (d: number) => [0x48, 0x89, 0x5c, 0x24, d]; // mov [rsp+d], rbx
  it.each([
    ['both in their slots (0x60 + 8, + 16)', [...prologue, ...movRaxSlot(0x68), ...movRbxSlot(0x70), 0xc3], true],
    ['only the receiver', [...prologue, ...movRaxSlot(0x68), 0xc3], false],
    ['into the local frame instead', [...prologue, ...movRaxSlot(0x20), ...movRbxSlot(0x28), 0xc3], false],
    ['after a call (too late to rely on)', [...prologue, 0xe8, 0, 0, 0, 0, ...movRaxSlot(0x68), ...movRbxSlot(0x70), 0xc3], false],
    // no frame at all: the slots are at rsp+8 and rsp+16
    ['a frameless function', [...movRaxSlot(0x08), ...movRbxSlot(0x10), 0xc3], true],
  ])('%s', (_what, code, expected) => {
    expect(spillsFirstTwoArguments(Uint8Array.from(code), BASE)).toBe(expected);
  });
});

describe('on the Go peer', () => {
  let binary: string;
  beforeAll(async () => {
    binary = (await goPeerBinaries()).go;
  });

  it.each(['crypto/tls.(*Conn).Read', 'crypto/tls.(*Conn).Write'])('finds the returns of %s that objdump shows', (name) => {
    const opened = ElfFile.open(binary);
    if (!opened.ok) throw new Error(opened.error);
    const elf = opened.value;
    let sym: { value: number; size: number } | undefined;
    elf.symbols('symtab', (n) => n === name, (s) => { sym = s; return false; });
    const code = elf.read(elf.fileOffset(sym!.value)!, sym!.size);
    elf.close();
    const found = findReturnSites(code, sym!.value);
    const dump = execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=${sym!.value}`, `--stop-address=${sym!.value + sym!.size}`, binary], { maxBuffer: 64 << 20 }).toString();
    const rets = [...dump.matchAll(/^\s*([0-9a-f]+):\s+ret/gm)].map((m) => Number.parseInt(m[1]!, 16) - sym!.value);
    expect(rets.length).toBeGreaterThan(1);
    expect(found).toEqual({ ok: true, value: rets });
    // Read keeps its receiver and buffer where a return probe can read them.
    if (name.endsWith('Read')) expect(spillsFirstTwoArguments(code, sym!.value)).toBe(true);
  });
});
