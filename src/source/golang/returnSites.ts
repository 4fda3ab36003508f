/**
 * The return instructions of a function (x86-64), found by decoding its
 * bytes with a real instruction decoder (iced-x86). Go has no safe
 * uretprobe: a uretprobe replaces the return address on the stack, and
 * Go moves stacks (growth copies them) and walks them (GC, tracebacks),
 * so the probe either crashes the program or never fires. A uprobe on each
 * RET instruction sees the return instead.
 *
 * Also: whether a function keeps its first two register arguments in
 * their ABI spill slots (what lets a return probe recover a call it did
 * not see begin, bpf/lib/goTls.h).
 *
 * The decoder is loaded on first use: it is WebAssembly of 2 MB, needed
 * only when a Go binary with crypto/tls is found.
 */
import { createRequire } from 'node:module';

type Iced = typeof import('iced-x86');
let iced: Iced | undefined;

function decoderModule(): Iced {
  iced ??= createRequire(import.meta.url)('iced-x86') as Iced;
  return iced;
}

export type ReturnSites = { ok: true; value: number[] } | { ok: false; error: string };

/**
 * Offsets (from the function's first byte) of every RET in `code`, the
 * function's bytes as linked at `vaddr`. Refused, with the reason, when
 * an instruction does not decode, or a jump leaves the function (a tail
 * call: the return it stands for would not be probed). No RET at all is
 * refused too: such a function never returns to its caller.
 */
export function findReturnSites(code: Uint8Array, vaddr: number): ReturnSites {
  const { Decoder, DecoderOptions, FlowControl, Instruction } = decoderModule();
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const instr = new Instruction();
  const start = BigInt(vaddr);
  const end = start + BigInt(code.length);
  const returns: number[] = [];
  try {
    decoder.ip = start;
    while (decoder.canDecode) {
      decoder.decodeOut(instr);
      const at = Number(instr.ip - start);
      if (instr.isInvalid) return { ok: false, error: `no valid instruction at +0x${at.toString(16)}` };
      switch (instr.flowControl) {
        case FlowControl.Return:
          returns.push(at);
          break;
        case FlowControl.UnconditionalBranch:
        case FlowControl.ConditionalBranch: {
          const target = instr.nearBranchTarget;
          if (target < start || target >= end) {
            return { ok: false, error: `a jump leaves the function at +0x${at.toString(16)} (tail call): its return would not be probed` };
          }
          break;
        }
        // IndirectBranch: Go emits it for switch jump tables, whose targets
        // are inside the function; calls return here.
      }
    }
  } finally {
    instr.free();
    decoder.free();
  }
  if (!returns.length) return { ok: false, error: 'no return instruction' };
  return { ok: true, value: returns };
}

/**
 * Whether the function, before its first call, stores RAX and RBX (Go's
 * first two integer arguments: the receiver, the []byte's data) into their
 * spill slots in the caller's frame: 8 and 16 bytes above the return
 * address. Go's compiler spills an argument that lives across a call to
 * that home slot and keeps it there; a return instruction (where RSP points
 * at the return address again) can then read them back. Only what the
 * prologue visibly does counts: `push rbp` and `sub rsp, N` are followed to
 * know where the return address is.
 */
export function spillsFirstTwoArguments(code: Uint8Array, vaddr: number): boolean {
  const { Code, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, Register } = decoderModule();
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const instr = new Instruction();
  /** Bytes between RSP and the return address. */
  let depth = 0;
  let rax = false;
  let rbx = false;
  try {
    decoder.ip = BigInt(vaddr);
    while (decoder.canDecode && !(rax && rbx)) {
      decoder.decodeOut(instr);
      if (instr.isInvalid || instr.flowControl === FlowControl.Call || instr.flowControl === FlowControl.IndirectCall ||
        instr.flowControl === FlowControl.Return || instr.flowControl === FlowControl.UnconditionalBranch) {
        break;
      }
      if (instr.code === Code.Push_r64) depth += 8;
      else if ((instr.code === Code.Sub_rm64_imm8 || instr.code === Code.Sub_rm64_imm32) && instr.op0Register === Register.RSP) {
        depth += Number(instr.code === Code.Sub_rm64_imm8 ? instr.immediate8to64 : BigInt.asIntN(32, BigInt(instr.immediate32)));
      } else if (instr.code === Code.Mov_rm64_r64 && instr.memoryBase === Register.RSP && instr.memoryIndex === Register.None) {
        const slot = Number(instr.memoryDisplacement) - depth;
        if (instr.op1Register === Register.RAX && slot === 8) rax = true;
        if (instr.op1Register === Register.RBX && slot === 16) rbx = true;
      } else if (instr.op0Register === Register.RSP && instr.mnemonic !== Mnemonic.Cmp && instr.mnemonic !== Mnemonic.Test) {
        break; // another change to RSP (the stack check only compares it): no longer followed
      }
    }
  } finally {
    instr.free();
    decoder.free();
  }
  return rax && rbx;
}
