/**
 * What the Go crypto/tls uprobes need from one Go binary: its Go version,
 * where crypto/tls.(*Conn).Read and Write start and return (symbol table
 * and disassembly), the addresses of the itabs that say a net.Conn is a
 * *net.TCPConn (or *net.UnixConn), and the struct offsets from a *tls.Conn
 * to its socket's fd (DWARF). Anything missing is a reason, in words a
 * user can act on, never a silent skip.
 */
import { EM_X86_64, ET_DYN, withElf, type ElfFile } from '../bpf/elfFile.ts';
import { goRelease, goVersion } from './buildInfo.ts';
import type { StructLayout } from './dwarf.ts';
import { hasDwarf, structsOf } from './elfDwarf.ts';
import { findReturnSites, spillsFirstTwoArguments } from './returnSites.ts';

export const GO_TLS_READ = 'crypto/tls.(*Conn).Read';
export const GO_TLS_WRITE = 'crypto/tls.(*Conn).Write';
/** The itab symbols: `go:itab.` since Go 1.20's linker, `go.itab.` before. */
const ITAB_TCP = ['go:itab.*net.TCPConn,net.Conn', 'go.itab.*net.TCPConn,net.Conn'];
const ITAB_UNIX = ['go:itab.*net.UnixConn,net.Conn', 'go.itab.*net.UnixConn,net.Conn'];

/** struct -> the members read, in the order the probe follows them. */
const STRUCTS: ReadonlyArray<readonly [string, string]> = [
  ['crypto/tls.Conn', 'conn'],
  ['net.TCPConn', 'conn'],
  ['net.UnixConn', 'conn'],
  ['net.conn', 'fd'],
  ['net.netFD', 'pfd'],
  ['internal/poll.FD', 'Sysfd'],
];
/** Functions larger than this are not disassembled (Read and Write are a few KB). */
const MAX_FUNCTION_BYTES = 1024 * 1024;

export interface GoTlsFunction {
  readonly name: string;
  /** Link-time address of the first instruction. */
  readonly addr: number;
  /** File offset of the first instruction (the entry uprobe). */
  readonly offset: number;
  /** File offsets of each return instruction (one uprobe each). */
  readonly returns: readonly number[];
}

/** The offsets struct hp_go_tls_binary carries (bpf/abi.h). */
export interface GoTlsOffsets {
  /** tls.Conn.conn: the net.Conn interface. */
  readonly conn: number;
  /** *net.TCPConn -> its *net.netFD: TCPConn.conn + conn.fd. */
  readonly fd: number;
  /** *net.netFD -> the fd: netFD.pfd + poll.FD.Sysfd. */
  readonly sysfd: number;
}

export interface GoTlsBinary {
  readonly goVersion: string;
  /** Position-independent (ET_DYN): addresses move by the load base. */
  readonly pie: boolean;
  readonly read: GoTlsFunction;
  readonly write: GoTlsFunction;
  readonly itabTcp: number;
  /** 0: the binary has no *net.UnixConn as a net.Conn. */
  readonly itabUnix: number;
  readonly offsets: GoTlsOffsets;
  /** Read keeps its receiver and buffer in their spill slots: a Read already in progress at attach is recovered whole. */
  readonly readSpills: boolean;
}

export type GoTlsInspection =
  | { kind: 'not-go' }
  | { kind: 'traceable'; binary: GoTlsBinary }
  /** A Go binary the probes cannot serve; goVersion when it could be read. */
  | { kind: 'not-traceable'; goVersion?: string; reason: string };

/** Inspects `path` (opened as is: a /proc/<pid>/exe or /proc/<pid>/root/... path works). */
export function inspectGoTls(path: string): GoTlsInspection {
  const r = withElf(path, inspect);
  return r.ok ? r.value : { kind: 'not-go' }; // not ELF, or unreadable: nothing Go to say
}

function inspect(elf: ElfFile): GoTlsInspection {
  if (!elf.section('.go.buildinfo')) return { kind: 'not-go' };
  const v = goVersion(elf);
  const version = v.ok ? v.value : undefined;
  const refuse = (reason: string): GoTlsInspection => ({ kind: 'not-traceable', goVersion: version, reason });
  if (elf.machine !== EM_X86_64) return refuse(`Go TLS probes read x86-64 registers; this binary is for ELF machine ${elf.machine}`);
  const release = version ? goRelease(version) : undefined;
  if (release && (release[0] < 1 || (release[0] === 1 && release[1] < 17))) {
    return refuse(`${version} predates the register ABI (Go 1.17) the probes read`);
  }
  if (!elf.hasSymbolTable('symtab')) return refuse('no symbol table (linked with -s): crypto/tls cannot be found');

  const wanted = new Set([GO_TLS_READ, GO_TLS_WRITE, ...ITAB_TCP, ...ITAB_UNIX]);
  const symbols = new Map<string, { value: number; size: number }>();
  elf.symbols('symtab', (n) => wanted.has(n), (s) => {
    if (!symbols.has(s.name)) symbols.set(s.name, { value: s.value, size: s.size });
  });
  const read = symbols.get(GO_TLS_READ);
  const write = symbols.get(GO_TLS_WRITE);
  if (!read || !write) return refuse('does not use crypto/tls (no crypto/tls.(*Conn).Read/Write in its symbols)');
  const itabTcp = ITAB_TCP.map((n) => symbols.get(n)).find((s) => s)?.value;
  const itabUnix = ITAB_UNIX.map((n) => symbols.get(n)).find((s) => s)?.value ?? 0;
  if (itabTcp === undefined) return refuse('no *net.TCPConn used as a net.Conn: its TLS connections are not over TCP sockets the probes can follow');

  if (!hasDwarf(elf)) {
    return refuse('no DWARF (linked with -w or -s): the offsets from tls.Conn to its socket are unknown; build without -ldflags=-w to trace it');
  }
  const layouts = readLayouts(elf);
  if (typeof layouts === 'string') return refuse(layouts);
  const member = (struct: string, name: string) => layouts.get(struct)!.members.get(name)!;
  // UnixConn embeds the same conn as TCPConn; at another offset, its itab is not used.
  const unixSameLayout = layouts.get('net.UnixConn')?.members.get('conn') === member('net.TCPConn', 'conn');

  const fn = (name: string, sym: { value: number; size: number }): (GoTlsFunction & { spills: boolean }) | string => {
    const offset = elf.fileOffset(sym.value);
    if (offset === undefined) return `${name} is not in an executable segment`;
    if (sym.size <= 0 || sym.size > MAX_FUNCTION_BYTES) return `${name} has an unusable symbol size (${sym.size})`;
    const code = elf.read(offset, sym.size);
    const sites = findReturnSites(code, sym.value);
    if (!sites.ok) return `${name}: ${sites.error}`;
    return { name, addr: sym.value, offset, returns: sites.value.map((at) => offset + at), spills: spillsFirstTwoArguments(code, sym.value) };
  };
  const r = fn(GO_TLS_READ, read);
  if (typeof r === 'string') return refuse(r);
  const w = fn(GO_TLS_WRITE, write);
  if (typeof w === 'string') return refuse(w);
  return {
    kind: 'traceable',
    binary: {
      goVersion: version ?? 'unknown Go version',
      pie: elf.type === ET_DYN,
      read: { name: r.name, addr: r.addr, offset: r.offset, returns: r.returns },
      write: { name: w.name, addr: w.addr, offset: w.offset, returns: w.returns },
      itabTcp,
      itabUnix: unixSameLayout ? itabUnix : 0,
      offsets: {
        conn: member('crypto/tls.Conn', 'conn'),
        fd: member('net.TCPConn', 'conn') + member('net.conn', 'fd'),
        sysfd: member('net.netFD', 'pfd') + member('internal/poll.FD', 'Sysfd'),
      },
      readSpills: r.spills,
    },
  };
}

/** The structs of STRUCTS from DWARF, or what is missing. */
function readLayouts(elf: ElfFile): Map<string, StructLayout> | string {
  const layouts = structsOf(elf, new Set(STRUCTS.map(([s]) => s)));
  if (typeof layouts === 'string') return layouts;
  for (const [struct, name] of STRUCTS) {
    if (struct === 'net.UnixConn') continue; // optional
    if (layouts.get(struct)?.members.get(name) === undefined) {
      return `DWARF has no ${struct}.${name}: this Go version's layout is not one the probes know`;
    }
  }
  return layouts;
}
