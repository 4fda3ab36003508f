/**
 * SSL_read and SSL_write (and their _ex forms) in a stripped program that
 * links OpenSSL 3 statically (x86-64), found by what their code references
 * rather than by name.
 *
 * OpenSSL 3 raises errors with ERR_raise(), which records the function's
 * own name (__func__) with ERR_set_debug: SSL_read and SSL_write each load
 * the string "SSL_read" / "SSL_write" (their check of a negative length),
 * and ssl_read_internal / ssl_write_internal load theirs. So:
 * - SSL_read is the one function loading the string "SSL_read" that calls
 *   (or jumps to) a function loading "ssl_read_internal", or contains
 *   those loads itself (inlined); the same for SSL_write. The program's
 *   own code may load the same string too (perror("SSL_write"): the
 *   linker merges equal strings), but it does not call the internal one;
 * - SSL_read_ex and SSL_write_ex raise nothing: each is the one other
 *   function that calls its _internal. Looked for only in OpenSSL 3.0 and
 *   3.1: from 3.2 (which brings QUIC, ssl/quic/quic_impl.c) SSL_write_ex
 *   goes through SSL_write_ex2, whose arguments differ; there only SSL_read
 *   and SSL_write are probed, and `how` says so.
 * OpenSSL 1.1 records numeric function codes instead of names: it has no
 * such strings, and is reported as not found. Nothing is guessed: where a
 * rule does not hold exactly, the binary is reported as not traced, with
 * what was found.
 *
 * Function bounds come from .eh_frame (ehFrame.ts).
 */
import { EM_X86_64, type ElfFile } from './elfFile.ts';
import { functionRanges, type FunctionRange, type FunctionRanges } from './ehFrame.ts';
import { branchCandidates, branchTargets, codeSections, leaSites } from './x86Sites.ts';

export interface OpensslFunctions {
  /** Virtual addresses by function name: SSL_read and SSL_write, and SSL_read_ex / SSL_write_ex where found. */
  readonly addresses: ReadonlyMap<string, number>;
  /** How they were found, for the startup log. */
  readonly how: string;
}

export type OpensslPicked = { ok: true; value: OpensslFunctions } | { ok: false; error: string };

const NAMES = ['SSL_read', 'SSL_write', 'ssl_read_internal', 'ssl_write_internal'] as const;
type Name = (typeof NAMES)[number];
/** Where OpenSSL 3.2+ keeps its QUIC API, which it links in with SSL_write. */
const QUIC_SOURCE = Buffer.from('ssl/quic/quic_impl.c\0', 'latin1');

function rodataSections(f: ElfFile): Array<{ bytes: Buffer; addr: number }> {
  return f.sections.filter((s) => s.name === '.rodata' || s.name.startsWith('.rodata.')).map((s) => ({ bytes: f.read(s.offset, s.size), addr: s.addr }));
}

/** Addresses of each name as a whole NUL-terminated string (what __func__ is). */
function nameStrings(rodata: ReadonlyArray<{ bytes: Buffer; addr: number }>): Map<number, Name> {
  const out = new Map<number, Name>();
  for (const name of NAMES) {
    const needle = Buffer.from(`\0${name}\0`, 'latin1');
    for (const { bytes, addr } of rodata) {
      for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) out.set(addr + at + 1, name);
    }
  }
  return out;
}

/** The functions of the code that call or jump to `target`, confirmed by decoding them. */
function callersOf(f: ElfFile, ranges: FunctionRanges, target: number): FunctionRange[] {
  const candidates = new Map<number, FunctionRange>();
  for (const { code, vaddr } of codeSections(f)) {
    for (const at of branchCandidates(code, vaddr, target)) {
      const range = ranges.containing(at);
      if (range && range.start !== target) candidates.set(range.start, range);
    }
  }
  return [...candidates.values()].filter((r) => branchTargets(f, r).has(target));
}

/** SSL_read, SSL_write and their _ex forms in a stripped static OpenSSL 3 in `f`, or why they were not found. */
export function findOpensslFunctions(f: ElfFile): OpensslPicked {
  if (f.machine !== EM_X86_64) return { ok: false, error: 'finding OpenSSL functions without symbols is done for x86-64 only' };
  const rodata = rodataSections(f);
  const strings = nameStrings(rodata);
  const missing = NAMES.filter((n) => ![...strings.values()].includes(n));
  if (missing.length) return { ok: false, error: `no function-name string ${missing.join(', ')} (OpenSSL 1.1 records its error functions as numbers)` };
  const ranges = functionRanges(f);
  if (!ranges.ok) return { ok: false, error: `no function bounds: ${ranges.error}` };
  const loaders = new Map<Name, Map<number, FunctionRange>>(NAMES.map((n) => [n, new Map()]));
  for (const { code, vaddr } of codeSections(f)) {
    for (const site of leaSites(code, vaddr, new Set(strings.keys()))) {
      const range = ranges.value.containing(site.at);
      if (range) loaders.get(strings.get(site.target)!)!.set(range.start, range);
    }
  }
  const quic = rodata.some(({ bytes }) => bytes.includes(QUIC_SOURCE));
  const addresses = new Map<string, number>();
  const notes: string[] = [];
  for (const [api, internalName] of [['SSL_read', 'ssl_read_internal'], ['SSL_write', 'ssl_write_internal']] as const) {
    const pair = apiAndInternal(f, [...loaders.get(api)!.values()], [...loaders.get(internalName)!.values()], api, internalName);
    if (typeof pair === 'string') return { ok: false, error: pair };
    const [fn, internal] = pair;
    addresses.set(api, fn.start);
    const ex = `${api}_ex`;
    if (quic) {
      notes.push(`${ex} not probed (OpenSSL 3.2+)`);
      continue;
    }
    if (internal.start === fn.start) {
      notes.push(`${ex} not found (${internalName} inlined)`);
      continue;
    }
    const others = callersOf(f, ranges.value, internal.start).filter((r) => r.start !== fn.start);
    if (others.length === 1) addresses.set(ex, others[0]!.start);
    else notes.push(`${ex} not found (${others.length} other callers of ${internalName})`);
  }
  const how = `by the names their errors record${notes.length ? `; ${notes.join(', ')}` : ''}`;
  return { ok: true, value: { addresses, how } };
}

/**
 * The one function loading `api`'s name that calls (or jumps to, or is)
 * the one loading `internalName`'s. The program's own code may load the
 * same string (a message such as "SSL_write failed" is another string,
 * but a bare "SSL_write" is merged with OpenSSL's by the linker).
 */
function apiAndInternal(f: ElfFile, apis: FunctionRange[], internals: FunctionRange[], api: string, internalName: string): [FunctionRange, FunctionRange] | string {
  const nameless = '(OpenSSL 1.1 records its error functions as numbers)';
  if (!apis.length) return `no function loads the name ${api} ${nameless}`;
  if (!internals.length) return `no function loads the name ${internalName} ${nameless}`;
  const pairs: Array<[FunctionRange, FunctionRange]> = [];
  for (const fn of apis) {
    const targets = branchTargets(f, fn);
    for (const internal of internals) if (internal.start === fn.start || targets.has(internal.start)) pairs.push([fn, internal]);
  }
  if (pairs.length === 1) return pairs[0]!;
  return `${pairs.length} of the ${apis.length} functions loading the name ${api} call one of the ${internals.length} loading ${internalName} (want exactly 1)`;
}
