/**
 * What the Go HTTP/2 header uprobes (bpf/lib/goH2.h) need from one Go
 * binary that uses grpc-go: where the transport's header functions start
 * (symbol table), the itabs of the net.Conn wrappers its connections are
 * made of, and the struct offsets from each function's arguments to the
 * header fields, the stream id and the connection (DWARF). Runs only on a
 * binary whose crypto/tls probes are possible (goTlsBinary.ts): the socket
 * chain's last steps and the itab of *net.TCPConn are shared with them.
 *
 * Anything missing is a reason, in words a user can act on; a binary
 * without grpc-go is simply not one (kind 'none').
 */
import { ET_DYN, withElf, type ElfFile } from '../bpf/elfFile.ts';
import type { StructLayout } from './dwarf.ts';
import { hasDwarf, structsOf } from './elfDwarf.ts';

const TRANSPORT = 'google.golang.org/grpc/internal/transport';
export const GRPC_CLIENT_READ = `${TRANSPORT}.(*http2Client).operateHeaders`;
export const GRPC_SERVER_READ = `${TRANSPORT}.(*http2Server).operateHeaders`;
export const GRPC_WRITE = `${TRANSPORT}.(*loopyWriter).writeHeader`;
const ITAB_TLS = ['go:itab.*crypto/tls.Conn,net.Conn', 'go.itab.*crypto/tls.Conn,net.Conn'];
const ITAB_SYSCALL_CONN = [
  'go:itab.*google.golang.org/grpc/internal/credentials.syscallConn,net.Conn',
  'go.itab.*google.golang.org/grpc/internal/credentials.syscallConn,net.Conn',
];

const HTTP2 = 'golang.org/x/net/http2';
/** struct -> the members the probe reads. */
const STRUCTS: ReadonlyArray<readonly [string, readonly string[]]> = [
  [`${TRANSPORT}.http2Client`, ['conn']],
  [`${TRANSPORT}.http2Server`, ['conn']],
  [`${TRANSPORT}.loopyWriter`, ['conn']],
  ['google.golang.org/grpc/internal/credentials.syscallConn', ['Conn']],
  [`${HTTP2}.MetaHeadersFrame`, ['HeadersFrame', 'Fields', 'Truncated']],
  [`${HTTP2}.HeadersFrame`, ['FrameHeader']],
  [`${HTTP2}.FrameHeader`, ['Flags', 'StreamID']],
  [`${HTTP2}/hpack.HeaderField`, ['Name', 'Value', 'Sensitive']],
];
/** Structs a grpc-go without TLS credentials may lack: the probe then never meets them. */
const OPTIONAL = new Set(['google.golang.org/grpc/internal/credentials.syscallConn']);

export interface GoH2Function {
  readonly name: string;
  /** Link-time address (a PIE's probe learns its load base from it). */
  readonly addr: number;
  /** File offset of the first instruction (the uprobe). */
  readonly offset: number;
}

/**
 * Where a header block's fields are: x/net/http2's MetaHeadersFrame and
 * hpack.HeaderField, the same fields in grpc-go's copy and in net/http's
 * bundled one (netHttpH2Binary.ts), at offsets read from each binary's DWARF.
 */
export interface HeaderBlockOffsets {
  readonly metaFrame: number;
  readonly metaFields: number;
  readonly metaTruncated: number;
  readonly streamId: number;
  readonly frameFlags: number;
  readonly fieldSize: number;
  readonly fieldName: number;
  readonly fieldValue: number;
  readonly fieldSensitive: number;
}

/** The offsets struct hp_go_h2_binary carries (bpf/abi.h). */
export interface GoH2Offsets extends HeaderBlockOffsets {
  readonly clientConn: number;
  readonly serverConn: number;
  readonly loopyConn: number;
  readonly syscallConn: number;
}

export interface GoH2Binary {
  readonly stack: 'grpc-go';
  readonly pie: boolean;
  readonly clientRead: GoH2Function;
  readonly serverRead: GoH2Function;
  readonly write: GoH2Function;
  readonly itabTls: number;
  /** 0: the binary has no grpc-go credentials.syscallConn as a net.Conn. */
  readonly itabSyscallConn: number;
  readonly offsets: GoH2Offsets;
}

export type GoH2Inspection =
  | { kind: 'none' }
  | { kind: 'traceable'; binary: GoH2Binary }
  | { kind: 'not-traceable'; reason: string };

/** Inspects `path` (a /proc/<pid>/exe path works). */
export function inspectGoH2(path: string): GoH2Inspection {
  const r = withElf(path, inspect);
  return r.ok ? r.value : { kind: 'not-traceable', reason: `not readable as ELF: ${r.error}` };
}

function inspect(elf: ElfFile): GoH2Inspection {
  const wanted = new Set([GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE, ...ITAB_TLS, ...ITAB_SYSCALL_CONN]);
  const symbols = new Map<string, number>();
  elf.symbols('symtab', (n) => wanted.has(n), (s) => {
    if (!symbols.has(s.name)) symbols.set(s.name, s.value);
  });
  const fns = [GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE];
  const present = fns.filter((n) => symbols.has(n));
  if (present.length === 0) return { kind: 'none' };
  const refuse = (reason: string): GoH2Inspection => ({ kind: 'not-traceable', reason: `grpc-go headers: ${reason}` });
  if (present.length < fns.length) {
    return refuse(`${fns.filter((n) => !symbols.has(n)).join(', ')} not in the symbol table (inlined, or a grpc-go the probes do not know)`);
  }
  const itabTls = ITAB_TLS.map((n) => symbols.get(n)).find((v) => v !== undefined);
  if (itabTls === undefined) return refuse('no *tls.Conn used as a net.Conn');
  if (!hasDwarf(elf)) return refuse('no DWARF (linked with -w or -s): the offsets to the header fields are unknown; build without -ldflags=-w');
  const layouts = structsOf(elf, new Set(STRUCTS.map(([s]) => s)));
  if (typeof layouts === 'string') return refuse(layouts);
  for (const [struct, members] of STRUCTS) {
    if (OPTIONAL.has(struct) && !layouts.has(struct)) continue;
    for (const m of members) {
      if (layouts.get(struct)?.members.get(m) === undefined) return refuse(`DWARF has no ${struct}.${m}: a grpc-go layout the probes do not know`);
    }
  }
  const member = (struct: string, name: string) => (layouts as Map<string, StructLayout>).get(struct)!.members.get(name)!;
  const fn = (name: string): GoH2Function | string => {
    const addr = symbols.get(name)!;
    const offset = elf.fileOffset(addr);
    return offset === undefined ? `${name} is not in an executable segment` : { name, addr, offset };
  };
  const clientRead = fn(GRPC_CLIENT_READ);
  const serverRead = fn(GRPC_SERVER_READ);
  const write = fn(GRPC_WRITE);
  for (const f of [clientRead, serverRead, write]) if (typeof f === 'string') return refuse(f);
  const syscallConn = layouts.get('google.golang.org/grpc/internal/credentials.syscallConn');
  const itabSyscallConn = syscallConn ? (ITAB_SYSCALL_CONN.map((n) => symbols.get(n)).find((v) => v !== undefined) ?? 0) : 0;
  const headersFrame = member(`${HTTP2}.HeadersFrame`, 'FrameHeader');
  const field = layouts.get(`${HTTP2}/hpack.HeaderField`)!;
  return {
    kind: 'traceable',
    binary: {
      stack: 'grpc-go',
      pie: elf.type === ET_DYN,
      clientRead: clientRead as GoH2Function,
      serverRead: serverRead as GoH2Function,
      write: write as GoH2Function,
      itabTls,
      itabSyscallConn,
      offsets: {
        clientConn: member(`${TRANSPORT}.http2Client`, 'conn'),
        serverConn: member(`${TRANSPORT}.http2Server`, 'conn'),
        loopyConn: member(`${TRANSPORT}.loopyWriter`, 'conn'),
        syscallConn: syscallConn?.members.get('Conn') ?? 0,
        metaFrame: member(`${HTTP2}.MetaHeadersFrame`, 'HeadersFrame'),
        metaFields: member(`${HTTP2}.MetaHeadersFrame`, 'Fields'),
        metaTruncated: member(`${HTTP2}.MetaHeadersFrame`, 'Truncated'),
        streamId: headersFrame + member(`${HTTP2}.FrameHeader`, 'StreamID'),
        frameFlags: headersFrame + member(`${HTTP2}.FrameHeader`, 'Flags'),
        fieldSize: field.byteSize,
        fieldName: member(`${HTTP2}/hpack.HeaderField`, 'Name'),
        fieldValue: member(`${HTTP2}/hpack.HeaderField`, 'Value'),
        fieldSensitive: member(`${HTTP2}/hpack.HeaderField`, 'Sensitive'),
      },
    },
  };
}
