/**
 * What the HTTP/2 header uprobes on net/http's bundled HTTP/2
 * (net/http.http2*, bpf/lib/goH2.h) need from one Go binary: where the
 * functions that hold a decoded block, start an encoded one, encode each
 * field and write it begin (symbol table), the itab that says a
 * writeContext is the server's connection, and the offsets from their
 * arguments to the fields, the stream id and the connection (DWARF).
 *
 * Each side stands alone: a program that only serves has no client code
 * (the linker drops it), and is traced as a server. A side whose functions
 * are only partly there (inlined, or a Go the probes do not know) is a
 * reason, in words; a binary without the bundle is not one (kind 'none').
 */
import { ET_DYN, withElf, type ElfFile } from '../bpf/elfFile.ts';
import type { StructLayout } from './dwarf.ts';
import { hasDwarf, structsOf } from './elfDwarf.ts';
import type { GoH2Function, HeaderBlockOffsets } from './goH2Binary.ts';

export const NETHTTP_SERVER_READ = 'net/http.(*http2serverConn).processHeaders';
export const NETHTTP_SERVER_START = 'net/http.(*http2writeResHeaders).writeFrame';
export const NETHTTP_SERVER_WRITE = 'net/http.(*http2writeResHeaders).writeHeaderBlock';
export const NETHTTP_CLIENT_READ = 'net/http.(*http2clientConnReadLoop).processHeaders';
export const NETHTTP_CLIENT_START = 'net/http.(*http2clientStream).encodeAndWriteHeaders';
export const NETHTTP_CLIENT_TRAILERS_START = 'net/http.(*http2ClientConn).encodeTrailers';
export const NETHTTP_CLIENT_WRITE = 'net/http.(*http2ClientConn).writeHeaders';
/** net/http's own copy of x/net's hpack (not grpc-go's golang.org/x/net one). */
export const NETHTTP_FIELD = 'vendor/golang.org/x/net/http2/hpack.(*Encoder).WriteField';

const SERVER_FUNCTIONS = [NETHTTP_SERVER_READ, NETHTTP_SERVER_START, NETHTTP_SERVER_WRITE] as const;
const CLIENT_FUNCTIONS = [NETHTTP_CLIENT_READ, NETHTTP_CLIENT_START, NETHTTP_CLIENT_TRAILERS_START, NETHTTP_CLIENT_WRITE] as const;
const ITAB_TLS = ['go:itab.*crypto/tls.Conn,net.Conn', 'go.itab.*crypto/tls.Conn,net.Conn'];
const ITAB_SERVER_CTX = ['go:itab.*net/http.http2serverConn,net/http.http2writeContext', 'go.itab.*net/http.http2serverConn,net/http.http2writeContext'];

const HPACK_FIELD = 'vendor/golang.org/x/net/http2/hpack.HeaderField';
/** struct -> the members the probes read, for both sides. */
const COMMON: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['net/http.http2MetaHeadersFrame', ['http2HeadersFrame', 'Fields', 'Truncated']],
  ['net/http.http2HeadersFrame', ['http2FrameHeader']],
  ['net/http.http2FrameHeader', ['Flags', 'StreamID']],
  [HPACK_FIELD, ['Name', 'Value', 'Sensitive']],
];
const SERVER: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['net/http.http2serverConn', ['conn']],
  ['net/http.http2writeResHeaders', ['streamID', 'endStream']],
];
const CLIENT: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['net/http.http2clientConnReadLoop', ['cc']],
  ['net/http.http2ClientConn', ['tconn']],
];

/** The net/http offsets struct hp_go_h2_binary carries (bpf/abi.h, nh_*); a side not traced has zeros. */
export interface NetHttpH2Offsets extends HeaderBlockOffsets {
  readonly serverConn: number;
  readonly readLoopCc: number;
  readonly clientConn: number;
  readonly resStreamId: number;
  readonly resEndStream: number;
}

export interface NetHttpH2Server {
  readonly read: GoH2Function;
  readonly start: GoH2Function;
  readonly write: GoH2Function;
  /** go:itab.*net/http.http2serverConn,net/http.http2writeContext */
  readonly itabServerCtx: number;
}

export interface NetHttpH2Client {
  readonly read: GoH2Function;
  /** Where a block starts: the request's headers, and trailers. */
  readonly starts: readonly GoH2Function[];
  readonly write: GoH2Function;
}

export interface NetHttpH2Binary {
  readonly pie: boolean;
  readonly itabTls: number;
  /** hpack (*Encoder).WriteField, shared by both sides. */
  readonly field: GoH2Function;
  readonly server?: NetHttpH2Server;
  readonly client?: NetHttpH2Client;
  readonly offsets: NetHttpH2Offsets;
  /** A side that is present but cannot be traced, and why (the other one is). */
  readonly untraced?: string;
}

export type NetHttpH2Inspection =
  | { kind: 'none' }
  | { kind: 'traceable'; binary: NetHttpH2Binary }
  | { kind: 'not-traceable'; reason: string };

/** Inspects `path` (a /proc/<pid>/exe path works). */
export function inspectNetHttpH2(path: string): NetHttpH2Inspection {
  const r = withElf(path, inspect);
  return r.ok ? r.value : { kind: 'not-traceable', reason: `not readable as ELF: ${r.error}` };
}

type Side = 'server' | 'client';

function inspect(elf: ElfFile): NetHttpH2Inspection {
  const wanted = new Set<string>([...SERVER_FUNCTIONS, ...CLIENT_FUNCTIONS, NETHTTP_FIELD, ...ITAB_TLS, ...ITAB_SERVER_CTX]);
  const symbols = new Map<string, number>();
  elf.symbols('symtab', (n) => wanted.has(n), (s) => {
    if (!symbols.has(s.name)) symbols.set(s.name, s.value);
  });
  const refuse = (reason: string): NetHttpH2Inspection => ({ kind: 'not-traceable', reason: `net/http HTTP/2 headers: ${reason}` });
  const missing = (fns: readonly string[]) => fns.filter((n) => !symbols.has(n));
  const sides: Record<Side, readonly string[]> = { server: SERVER_FUNCTIONS, client: CLIENT_FUNCTIONS };
  const present = (Object.keys(sides) as Side[]).filter((s) => missing(sides[s]).length < sides[s].length);
  if (present.length === 0) return { kind: 'none' };
  if (!symbols.has(NETHTTP_FIELD)) return refuse(`${NETHTTP_FIELD} not in the symbol table (inlined, or a Go the probes do not know)`);
  const itabTls = ITAB_TLS.map((n) => symbols.get(n)).find((v) => v !== undefined);
  if (itabTls === undefined) return refuse('no *tls.Conn used as a net.Conn');
  if (!hasDwarf(elf)) return refuse('no DWARF (linked with -w or -s): the offsets to the header fields are unknown; build without -ldflags=-w');
  const layouts = structsOf(elf, new Set([...COMMON, ...SERVER, ...CLIENT].map(([s]) => s)));
  if (typeof layouts === 'string') return refuse(layouts);
  const lacking = (structs: ReadonlyArray<readonly [string, readonly string[]]>): string | undefined => {
    for (const [struct, members] of structs) {
      for (const m of members) {
        if (layouts.get(struct)?.members.get(m) === undefined) return `DWARF has no ${struct}.${m}: a net/http layout the probes do not know`;
      }
    }
    return undefined;
  };
  const common = lacking(COMMON);
  if (common) return refuse(common);
  const fn = (name: string): GoH2Function | string => {
    const addr = symbols.get(name)!;
    const offset = elf.fileOffset(addr);
    return offset === undefined ? `${name} is not in an executable segment` : { name, addr, offset };
  };
  const field = fn(NETHTTP_FIELD);
  if (typeof field === 'string') return refuse(field);

  /** Why a present side is not traced. */
  const why: string[] = [];
  const untraced = (side: Side, reason: string): undefined => {
    why.push(`${side}: ${reason}`);
    return undefined;
  };
  /** The side's functions, in sides[side]'s order; undefined when absent or not traceable (then in `why`). */
  const sideOf = (side: Side, itabNeeded: boolean): GoH2Function[] | undefined => {
    if (!present.includes(side)) return undefined;
    const gone = missing(sides[side]);
    if (gone.length) return untraced(side, `${gone.join(', ')} not in the symbol table (inlined, or a Go the probes do not know)`);
    const layout = lacking(side === 'server' ? SERVER : CLIENT);
    if (layout) return untraced(side, layout);
    if (itabNeeded && ITAB_SERVER_CTX.every((n) => !symbols.has(n))) return untraced(side, 'no *http2serverConn used as its writeContext');
    const fns = sides[side].map(fn);
    const bad = fns.find((f): f is string => typeof f === 'string');
    if (bad) return untraced(side, bad);
    return fns as GoH2Function[];
  };
  const serverFns = sideOf('server', true);
  const clientFns = sideOf('client', false);
  if (!serverFns && !clientFns) return refuse(why.join('; '));
  const member = (struct: string, name: string) => (layouts as Map<string, StructLayout>).get(struct)?.members.get(name) ?? 0;
  const headersFrame = member('net/http.http2HeadersFrame', 'http2FrameHeader');
  return {
    kind: 'traceable',
    binary: {
      pie: elf.type === ET_DYN,
      itabTls,
      field,
      ...(serverFns ? {
        server: {
          read: serverFns[0]!, start: serverFns[1]!, write: serverFns[2]!,
          itabServerCtx: ITAB_SERVER_CTX.map((n) => symbols.get(n)).find((v) => v !== undefined)!,
        },
      } : {}),
      ...(clientFns ? { client: { read: clientFns[0]!, starts: [clientFns[1]!, clientFns[2]!], write: clientFns[3]! } } : {}),
      offsets: {
        serverConn: serverFns ? member('net/http.http2serverConn', 'conn') : 0,
        readLoopCc: clientFns ? member('net/http.http2clientConnReadLoop', 'cc') : 0,
        clientConn: clientFns ? member('net/http.http2ClientConn', 'tconn') : 0,
        resStreamId: serverFns ? member('net/http.http2writeResHeaders', 'streamID') : 0,
        resEndStream: serverFns ? member('net/http.http2writeResHeaders', 'endStream') : 0,
        metaFrame: member('net/http.http2MetaHeadersFrame', 'http2HeadersFrame'),
        metaFields: member('net/http.http2MetaHeadersFrame', 'Fields'),
        metaTruncated: member('net/http.http2MetaHeadersFrame', 'Truncated'),
        streamId: headersFrame + member('net/http.http2FrameHeader', 'StreamID'),
        frameFlags: headersFrame + member('net/http.http2FrameHeader', 'Flags'),
        fieldSize: layouts.get(HPACK_FIELD)!.byteSize,
        fieldName: member(HPACK_FIELD, 'Name'),
        fieldValue: member(HPACK_FIELD, 'Value'),
        fieldSensitive: member(HPACK_FIELD, 'Sensitive'),
      },
      ...(why.length ? { untraced: `net/http HTTP/2 headers: ${why.join('; ')}` } : {}),
    },
  };
}
