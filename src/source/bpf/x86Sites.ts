/**
 * Finding code by what it references, in x86-64 machine code without
 * symbols: RIP-relative LEAs of known strings, and direct calls and jumps
 * to known functions. Byte scans give candidates; a candidate counts only
 * where its exact target matches, and callers are confirmed by decoding
 * (iced-x86, as golang/returnSites.ts does). Used by the stripped-library
 * finders (boringsslFunctions.ts, opensslFunctions.ts).
 */
import { createRequire } from 'node:module';
import type { ElfFile } from './elfFile.ts';
import type { FunctionRange } from './ehFrame.ts';

type Iced = typeof import('iced-x86');
let iced: Iced | undefined;

export function decoderModule(): Iced {
  iced ??= createRequire(import.meta.url)('iced-x86') as Iced;
  return iced;
}

const SHF_EXECINSTR = 0x4;
const SHT_NOBITS = 8;

/** The executable sections' bytes and addresses. */
export function codeSections(f: ElfFile): Array<{ code: Buffer; vaddr: number }> {
  return f.sections.filter((s) => s.flags & SHF_EXECINSTR && s.type !== SHT_NOBITS).map((s) => ({ code: f.read(s.offset, s.size), vaddr: s.addr }));
}

/**
 * RIP-relative LEAs (REX.W 8D /r, mod 00 r/m 101) whose target is one of
 * `targets`: where each is, and what it loads.
 */
export function leaSites(code: Buffer, vaddr: number, targets: ReadonlySet<number>): Array<{ at: number; target: number }> {
  const out: Array<{ at: number; target: number }> = [];
  for (let at = code.indexOf(0x8d, 1); at >= 0 && at + 6 <= code.length; at = code.indexOf(0x8d, at + 1)) {
    const rex = code[at - 1]!;
    if ((rex & 0xf8) !== 0x48 || (code[at + 1]! & 0xc7) !== 0x05) continue;
    const target = vaddr + at + 6 + code.readInt32LE(at + 2);
    if (targets.has(target)) out.push({ at: vaddr + at - 1, target });
  }
  return out;
}

/** Places that may be a CALL or JMP rel32 (E8, E9) to `target`: candidates, to be confirmed by decoding. */
export function branchCandidates(code: Buffer, vaddr: number, target: number): number[] {
  const out: number[] = [];
  for (let at = 0; at + 5 <= code.length; at++) {
    const op = code[at]!;
    if ((op === 0xe8 || op === 0xe9) && vaddr + at + 5 + code.readInt32LE(at + 1) === target) out.push(vaddr + at);
  }
  return out;
}

/** Targets of one function's direct calls and unconditional jumps (tail calls), decoded. */
export function branchTargets(f: ElfFile, range: FunctionRange): Set<number> {
  const { Decoder, DecoderOptions, FlowControl, Instruction, OpKind } = decoderModule();
  const offset = f.fileOffset(range.start);
  if (offset === undefined) return new Set();
  const decoder = new Decoder(64, f.read(offset, range.end - range.start), DecoderOptions.None);
  decoder.ip = BigInt(range.start);
  const instr = new Instruction();
  const out = new Set<number>();
  while (decoder.canDecode) {
    decoder.decodeOut(instr);
    if (instr.isInvalid) break;
    const flow = instr.flowControl;
    if ((flow === FlowControl.Call || flow === FlowControl.UnconditionalBranch) && instr.op0Kind === OpKind.NearBranch64) out.add(Number(instr.nearBranchTarget));
  }
  return out;
}
