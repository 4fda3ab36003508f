/**
 * SSL_read and SSL_write in a stripped, statically linked BoringSSL (x86-64),
 * found by what their code does rather than by name. grpcio's wheels on
 * PyPI carry BoringSSL this way: no symbol says where anything is.
 *
 * BoringSSL reports errors with OPENSSL_PUT_ERROR(SSL, reason), which is
 * ERR_put_error(ERR_LIB_SSL, 0, reason, __FILE__, __LINE__): every error
 * site in ssl_lib.cc loads the address of the string "…/ssl/ssl_lib.cc"
 * and a reason code, then calls. Each function's set of reasons is its
 * fingerprint. The ones we need (BoringSSL in grpcio 1.30 to 1.85, 2020
 * to 2026):
 * - ssl_read_impl: SSL_R_UNINITIALIZED and SSL_R_SSL_HANDSHAKE_FAILURE,
 *   never ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED;
 * - SSL_write: ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED (QUIC), SSL_R_UNINITIALIZED
 *   and SSL_R_SSL_HANDSHAKE_FAILURE, maybe SSL_R_BAD_LENGTH (since 2023)
 *   or SSL_R_PROTOCOL_IS_SHUTDOWN (before 2021), nothing else, and it
 *   does not call ssl_read_impl;
 * - SSL_peek: ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED, then a call of
 *   ssl_read_impl; SSL_read is SSL_peek plus consuming what it copied,
 *   and compilers inline SSL_peek into it. Two functions then match;
 *   SSL_read is the one that calls more (it also discards the consumed
 *   buffer). One match is used as SSL_read: either SSL_peek was inlined
 *   and dropped, or SSL_read calls it (then a program that peeks before
 *   it reads is reported twice: noted in the README).
 * Where no fingerprint matches exactly, nothing is guessed: the binary is
 * reported as not traced, with what was found.
 *
 * Function bounds come from .eh_frame (ehFrame.ts); the code is decoded
 * with iced-x86, as the Go return sites are (golang/returnSites.ts).
 */
import { EM_X86_64, type ElfFile } from './elfFile.ts';
import { functionRanges, type FunctionRange } from './ehFrame.ts';
import { codeSections, decoderModule, leaSites } from './x86Sites.ts';

/** ERR_LIB_SSL (include/openssl/err.h). */
const ERR_LIB_SSL = 16;
/** The reason codes of the fingerprints (include/openssl/err.h, ssl.h). */
export const REASON = {
  SHOULD_NOT_HAVE_BEEN_CALLED: 2 | 64,
  BAD_LENGTH: 111,
  PROTOCOL_IS_SHUTDOWN: 194,
  SSL_HANDSHAKE_FAILURE: 215,
  UNINITIALIZED: 226,
} as const;
const WRITE_REASONS = [REASON.SHOULD_NOT_HAVE_BEEN_CALLED, REASON.UNINITIALIZED, REASON.SSL_HANDSHAKE_FAILURE];
const WRITE_MAY_ALSO = new Set<number>([...WRITE_REASONS, REASON.BAD_LENGTH, REASON.PROTOCOL_IS_SHUTDOWN]);
const READ_IMPL_REASONS = [REASON.UNINITIALIZED, REASON.SSL_HANDSHAKE_FAILURE];

/** A function of the binary that raises ssl_lib.cc errors. */
export interface ErrorSiteFunction {
  readonly start: number;
  readonly end: number;
  /** The reasons of its ERR_put_error(ERR_LIB_SSL, …, "ssl_lib.cc", …) calls. */
  readonly reasons: ReadonlySet<number>;
  /** Targets of its direct calls. */
  readonly callees: ReadonlySet<number>;
  /** Whether it has a RET of its own (a split-off cold part has none). */
  readonly returns: boolean;
}

export interface BoringSslFunctions {
  /** Virtual addresses. */
  readonly SSL_read: number;
  readonly SSL_write: number;
  /** How SSL_read was told apart, for the startup log. */
  readonly how: string;
}

export type Picked = { ok: true; value: BoringSslFunctions } | { ok: false; error: string };

const hex = (n: number) => `0x${n.toString(16)}`;
const hasAll = (set: ReadonlySet<number>, wanted: readonly number[]) => wanted.every((r) => set.has(r));

/** The fingerprints' rules over the functions found (pure: table-tested). */
export function pickBoringSslFunctions(fns: readonly ErrorSiteFunction[]): Picked {
  const byStart = new Map(fns.map((f) => [f.start, f]));
  const isReadImpl = (f: ErrorSiteFunction | undefined) => !!f && hasAll(f.reasons, READ_IMPL_REASONS) && !f.reasons.has(REASON.SHOULD_NOT_HAVE_BEEN_CALLED);
  const callsReadImpl = (f: ErrorSiteFunction) => [...f.callees].some((c) => isReadImpl(byStart.get(c)));
  const writers = fns.filter((f) => hasAll(f.reasons, WRITE_REASONS) && [...f.reasons].every((r) => WRITE_MAY_ALSO.has(r)) && !callsReadImpl(f));
  if (writers.length !== 1) return { ok: false, error: `${writers.length} functions look like SSL_write (want exactly 1)` };
  const write = writers[0]!;
  const readers = fns.filter((f) => f !== write && f.reasons.size === 1 && f.reasons.has(REASON.SHOULD_NOT_HAVE_BEEN_CALLED) && callsReadImpl(f));
  for (const f of [write, ...readers]) {
    if (!f.returns) return { ok: false, error: `the function at ${hex(f.start)} has no return of its own (a split-off part?)` };
  }
  if (readers.length === 1) return { ok: true, value: { SSL_read: readers[0]!.start, SSL_write: write.start, how: 'one SSL_peek/SSL_read body' } };
  if (readers.length !== 2) return { ok: false, error: `${readers.length} functions look like SSL_read or SSL_peek (want 1 or 2)` };
  const [a, b] = readers as [ErrorSiteFunction, ErrorSiteFunction];
  if (a.callees.size === b.callees.size) {
    return { ok: false, error: `SSL_read and SSL_peek (${hex(a.start)}, ${hex(b.start)}) cannot be told apart: both make ${a.callees.size} calls` };
  }
  const read = a.callees.size > b.callees.size ? a : b;
  return { ok: true, value: { SSL_read: read.start, SSL_write: write.start, how: 'SSL_read told from SSL_peek by its extra call' } };
}

/** Virtual addresses of every "…ssl/ssl_lib.cc" string in the read-only sections. */
function fileNameStrings(f: ElfFile): Set<number> {
  const out = new Set<number>();
  const suffix = Buffer.from('ssl/ssl_lib.cc\0', 'latin1');
  for (const s of f.sections) {
    if (s.name !== '.rodata' && !s.name.startsWith('.rodata.')) continue;
    const bytes = f.read(s.offset, s.size);
    for (let at = bytes.indexOf(suffix); at >= 0; at = bytes.indexOf(suffix, at + 1)) {
      const start = bytes.lastIndexOf(0, at) + 1;
      out.add(s.addr + start);
    }
  }
  return out;
}

/** Decodes one function: its ssl_lib.cc error reasons, direct callees, and whether it returns. */
function describeFunction(f: ElfFile, range: FunctionRange, strings: ReadonlySet<number>): ErrorSiteFunction {
  const { Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register } = decoderModule();
  const offset = f.fileOffset(range.start);
  if (offset === undefined) throw new Error(`function at ${hex(range.start)} is outside the executable segments`);
  const code = f.read(offset, range.end - range.start);
  const decoder = new Decoder(64, code, DecoderOptions.None);
  decoder.ip = BigInt(range.start);
  const instr = new Instruction();
  const reasons = new Set<number>();
  const callees = new Set<number>();
  let returns = false;
  // What the argument registers hold since the last call: edi (library), edx (reason), rcx (file).
  let lib: number | undefined;
  let reason: number | undefined;
  let file: number | undefined;
  while (decoder.canDecode) {
    decoder.decodeOut(instr);
    if (instr.isInvalid) break;
    const flow = instr.flowControl;
    if (flow === FlowControl.Call) {
      if (instr.op0Kind === OpKind.NearBranch64) callees.add(Number(instr.nearBranchTarget));
      if (lib === ERR_LIB_SSL && reason !== undefined && file !== undefined && strings.has(file)) reasons.add(reason);
      lib = reason = file = undefined;
      continue;
    }
    if (flow === FlowControl.Return) returns = true;
    if (flow === FlowControl.Return || flow === FlowControl.UnconditionalBranch) {
      lib = reason = file = undefined;
      continue;
    }
    const dest = instr.op0Kind === OpKind.Register ? instr.op0Register : undefined;
    if (dest === undefined) continue;
    const imm = instr.mnemonic === Mnemonic.Mov && instr.op1Kind === OpKind.Immediate32 ? instr.immediate32 : undefined;
    if (dest === Register.EDI || dest === Register.RDI) lib = imm;
    else if (dest === Register.EDX || dest === Register.RDX) reason = imm;
    else if (dest === Register.RCX) {
      file = instr.mnemonic === Mnemonic.Lea && instr.memoryBase === Register.RIP ? Number(instr.memoryDisplacement) : undefined;
    }
  }
  return { start: range.start, end: range.end, reasons, callees, returns };
}

/**
 * The functions of `f` that raise ssl_lib.cc errors, decoded. Empty when
 * the file has no such string (no BoringSSL in it).
 */
export function errorSiteFunctions(f: ElfFile): { ok: true; value: ErrorSiteFunction[] } | { ok: false; error: string } {
  if (f.machine !== EM_X86_64) return { ok: false, error: 'finding BoringSSL functions without symbols is done for x86-64 only' };
  const strings = fileNameStrings(f);
  if (strings.size === 0) return { ok: true, value: [] };
  const ranges = functionRanges(f);
  if (!ranges.ok) return { ok: false, error: `no function bounds: ${ranges.error}` };
  const starts = new Map<number, FunctionRange>();
  for (const { code, vaddr } of codeSections(f)) {
    for (const site of leaSites(code, vaddr, strings)) {
      const range = ranges.value.containing(site.at);
      if (range) starts.set(range.start, range);
    }
  }
  return { ok: true, value: [...starts.values()].map((r) => describeFunction(f, r, strings)) };
}

/** SSL_read and SSL_write of a stripped BoringSSL in `f`, or why they were not found. */
export function findBoringSslFunctions(f: ElfFile): Picked {
  const fns = errorSiteFunctions(f);
  if (!fns.ok) return fns;
  if (fns.value.length === 0) return { ok: false, error: 'no BoringSSL ssl_lib.cc error sites' };
  return pickBoringSslFunctions(fns.value);
}
