/**
 * Where TLS libraries live on this host, and the uprobes on them: OpenSSL's
 * SSL_read/SSL_write(_ex) in libssl (libssl.so.3, libssl.so.1.1) and in
 * executables that carry OpenSSL themselves (Node.js exports it).
 *
 * Found at start (libssl in the usual library directories, and every file
 * that a process maps, through /proc/<pid>/root so other mount namespaces
 * work) and after each exec (the new executable at once, its libraries a
 * little later, once the dynamic loader mapped them). A uprobe on a file
 * covers every process that maps it, so each binary (device + inode) is
 * inspected and attached once. A binary that carries a TLS library but not
 * its symbols (stripped) is reported, not skipped silently; a stripped
 * BoringSSL (grpcio's wheels) or static OpenSSL 3 has its SSL_read and
 * SSL_write found by their code instead (boringsslFunctions.ts,
 * opensslFunctions.ts), or is reported with why not.
 *
 * Go executables get uprobes on crypto/tls.(*Conn).Read and Write: at the
 * entry and at each return instruction (src/source/golang/ finds them and
 * the struct offsets to the socket). Each such binary has an entry of its
 * own in the BPF map hp_go_tls_bins, whose index is the cookie of its
 * probes: a probe on a file fires in every process that maps it, those
 * that start later included, so per binary (not per process) is what fits.
 * A Go binary that cannot be traced (no DWARF, no crypto/tls, stripped...)
 * is reported with the reason.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';
import { findFunctions, findRustlsFunctions, tlsLibraryMark, type ElfFunctions } from './elfSymbols.ts';
import { withElf, type ElfFile } from './elfFile.ts';
import { findBoringSslFunctions } from './boringsslFunctions.ts';
import { findOpensslFunctions } from './opensslFunctions.ts';
import { LIBCRYPTO, probeSslBio } from './sslBio.ts';
import { Enums } from './eventLayout.ts';
import {
  inspectGoH2, inspectGoTls, inspectNetHttpH2, type GoH2Binary, type GoH2Function, type GoH2Inspection, type GoTlsBinary, type GoTlsInspection,
  type NetHttpH2Binary, type NetHttpH2Inspection,
} from '../golang/index.ts';
import type { GoH2BinaryLayout, GoTlsBinaryLayout, UprobeOptions } from '../../native/addon.ts';

/** What the addon's Sensor offers for this (see src/native/addon.ts). */
export interface UprobeSensor {
  attachUprobe(options: UprobeOptions): number;
  detachUprobe(id: number): boolean;
  setGoTlsBinary(index: number, layout: GoTlsBinaryLayout | null): void;
  setGoH2Binary(index: number, layout: GoH2BinaryLayout | null): void;
}

export interface TlsBinary {
  /** The path as the process that maps it sees it. */
  readonly path: string;
  /** The path the sensor opened (under /proc/<pid>/root for a process's file). */
  readonly openedAs: string;
  /** 'go': crypto/tls in a Go executable; 'libcrypto': its BIO functions, for SSL BIOs (sslBio.ts); the others: OpenSSL's API. */
  readonly kind: 'libssl' | 'library' | 'executable' | 'go' | 'libcrypto';
  /** The functions with an entry and a return probe. */
  readonly functions: readonly string[];
  /** Link ids (addon): two per function; for Go, one per entry and one per return instruction. */
  readonly links: readonly number[];
  /** Go binaries: the version that built it (from .go.buildinfo). */
  readonly goVersion?: string;
  /** Go binaries: the HTTP/2 header functions probed too (grpc-go's transport, net/http's bundle), if any. */
  readonly headerFunctions?: readonly string[];
  /** Go binaries: the HTTP/2 stacks those belong to. */
  readonly headerStacks?: ReadonlyArray<'grpc-go' | 'net/http'>;
  /**
   * A stripped BoringSSL or OpenSSL 3: its functions were found by their
   * code (boringsslFunctions.ts, opensslFunctions.ts), and how; starts with
   * "stripped BoringSSL" or "stripped OpenSSL".
   */
  readonly foundBy?: string;
}

/** What the attacher keeps about a probed binary beyond what it reports. */
interface ProbedBinary {
  /** One entry, or two for a Go program that also carries OpenSSL (cgo). */
  readonly entries: TlsBinary[];
  /** The path the sensor opened, to see whether a library-directory file is still there. */
  readonly openedAs: string;
  /** Processes seen running or mapping it; when all are gone the probes go too. */
  readonly users: Set<number>;
  /** Found in a library directory at start rather than in a process: kept while the file exists. */
  readonly fromLibraryDir: boolean;
  goSlot?: number;
}

export interface TlsSkipped {
  readonly path: string;
  readonly reason: string;
}

/** Each hooked function and its two programs (bpf/sensor.bpf.c). */
export const TLS_FUNCTIONS = [
  { name: 'SSL_write', entry: 'hp_up_ssl_write', ret: 'hp_urp_ssl' },
  { name: 'SSL_read', entry: 'hp_up_ssl_read', ret: 'hp_urp_ssl' },
  { name: 'SSL_write_ex', entry: 'hp_up_ssl_write_ex', ret: 'hp_urp_ssl_ex' },
  { name: 'SSL_read_ex', entry: 'hp_up_ssl_read_ex', ret: 'hp_urp_ssl_ex' },
  { name: 'rustls Writer::write', entry: 'hp_up_rustls_write', ret: 'hp_urp_rustls' },
  { name: 'rustls Writer::write_vectored', entry: 'hp_up_rustls_writev', ret: 'hp_urp_rustls' },
  { name: 'rustls Reader::read', entry: 'hp_up_rustls_read', ret: 'hp_urp_rustls' },
  // tokio-rustls reads through these two instead of io::Read (bpf/sensor.bpf.c).
  { name: 'rustls Reader::into_first_chunk', entry: 'hp_up_rustls_chunk', ret: 'hp_urp_rustls_chunk' },
  { name: 'rustls Reader::consume', entry: 'hp_up_rustls_consume' },
] as const;
const NAMES = TLS_FUNCTIONS.filter((f) => f.name.startsWith('SSL_')).map((f) => f.name);

const LIBSSL = /^libssl\.so\.(3|1\.1)$/;
/**
 * Shared objects that are never a TLS library's SSL_* home (the C library,
 * libcrypto, the loader, Python's own): not inspected, so the version
 * strings they carry are not mistaken for a stripped TLS library.
 */
const NOT_TLS_LIBRARY = /^(libcrypto|libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|ld-linux|libz|libpython|libnss|libresolv|libselinux|libsystemd|libgnutls|libnettle|libhogweed)[.-]/;
const LIBRARY_DIRS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib', '/usr/local/lib64'];
/** After an exec, when to look at the new process's mapped libraries again (ms). */
const RESCAN_AFTER_EXEC_MS = [20, 250, 1500];
/** After a process exit, when to look for binaries nobody uses any more. */
const SWEEP_AFTER_EXIT_MS = 10_000;
/** Rescans waiting at once; beyond, an exec only gets its executable inspected. */
const MAX_PENDING_RESCANS = 512;
/** Executables larger than this are not searched for a version string. */
const MAX_MARK_SCAN_FILE = 512 * 1024 * 1024;

interface Inspection {
  functions?: ElfFunctions;
  error?: string;
  mark?: string;
  /** A stripped BoringSSL or OpenSSL 3: its functions' file offsets found by their code, and how (foundBy), or why not. */
  fingerprinted?: { offsets: ReadonlyMap<string, number>; foundBy: string } | { error: string };
  /** rustls linked in (Rust programs): its functions by name, and whether there is a symbol table to find them in. */
  rustls?: { offsets: ReadonlyMap<string, number>; hasSymtab: boolean };
}

/** Inspections by file identity, shared by every attacher of the process (tests make many). */
const inspected = new Map<string, Inspection>();
const goInspected = new Map<string, GoTlsInspection>();
const goH2Inspected = new Map<string, GoH2Inspection>();

const netHttpH2Inspected = new Map<string, NetHttpH2Inspection>();

function inspectNetHttp(file: string, identity: string): NetHttpH2Inspection {
  const cached = netHttpH2Inspected.get(identity);
  if (cached) return cached;
  const found = inspectNetHttpH2(file);
  if (netHttpH2Inspected.size > 4096) netHttpH2Inspected.clear();
  netHttpH2Inspected.set(identity, found);
  return found;
}

function inspectH2(file: string, identity: string): GoH2Inspection {
  const cached = goH2Inspected.get(identity);
  if (cached) return cached;
  const found = inspectGoH2(file);
  if (goH2Inspected.size > 4096) goH2Inspected.clear();
  goH2Inspected.set(identity, found);
  return found;
}

function inspectGo(file: string, identity: string): GoTlsInspection {
  const cached = goInspected.get(identity);
  if (cached) return cached;
  const found = inspectGoTls(file);
  if (goInspected.size > 4096) goInspected.clear();
  goInspected.set(identity, found);
  return found;
}

/**
 * Why this kernel cannot run the Go programs, or undefined when it can:
 * they read their binary from the uprobe's cookie (bpf_get_attach_cookie,
 * Linux 5.15). Below it they are not even loaded (the rest of the sensor
 * would fail to load with them), and Go binaries are reported instead.
 */
export function goTlsUnsupportedReason(kernel = release()): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return undefined; // unknown form: try, the load says the rest
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 15) ? undefined : `Go TLS probes need Linux 5.15+ (uprobe cookies); this kernel is ${kernel}`;
}

/** The BPF programs of the Go probes (bpf/sensor.bpf.c). */
const GO_ENTRY_PROGRAM = 'hp_up_go_tls';
const GO_RETURN_PROGRAM = 'hp_up_go_tls_ret';
/** The program of every Go HTTP/2 header probe that reads or writes a block (bpf/lib/goH2.h). */
const GO_H2_PROGRAM = 'hp_up_go_h2';

/** net/http's: where a block starts, and each field it encodes. */
const GO_H2_START_PROGRAM = 'hp_up_go_h2_start';
const GO_H2_FIELD_PROGRAM = 'hp_up_go_h2_field';

/** The cookie of a Go HTTP/2 header probe (bpf/abi.h): the binary's index and the probed function. */
function goH2Cookie(index: number, probe: number): bigint {
  return BigInt(index) | (BigInt(probe) << BigInt(Enums.HP_H2_COOKIE_PROBE_SHIFT));
}

/** The cookie of a Go probe (bpf/abi.h): the binary's index, the direction, a return's offset in its function. */
function goCookie(index: number, direction: number, returnOffset = 0): bigint {
  return BigInt(index) | (BigInt(direction) << BigInt(Enums.HP_GO_TLS_COOKIE_DIR_SHIFT)) |
    (BigInt(returnOffset) << BigInt(Enums.HP_GO_TLS_COOKIE_OFF_SHIFT));
}

function inspect(file: string, identity: string, size: number, kind: TlsBinary['kind']): Inspection {
  const cached = inspected.get(identity);
  if (cached) return cached;
  const r = findFunctions(file, NAMES);
  const out: Inspection = r.ok ? { functions: r.value } : { error: r.error };
  if (r.ok && (kind === 'executable' || kind === 'library') && r.value.offsets.size === 0 && r.value.imported.size === 0 && size <= MAX_MARK_SCAN_FILE) {
    out.mark = tlsLibraryMark(file);
    if (out.mark === 'BoringSSL') out.fingerprinted = fingerprintBoringSsl(file);
    // OpenSSL 1.x records its error functions as numbers: nothing to find them by.
    if (out.mark === 'OpenSSL' || out.mark === 'OpenSSL 3') out.fingerprinted = fingerprintOpenssl(file);
    if (out.mark === 'rustls') {
      const rustls = findRustlsFunctions(file);
      out.rustls = rustls.ok ? rustls.value : { offsets: new Map(), hasSymtab: false };
    }
  }
  if (inspected.size > 4096) inspected.clear();
  inspected.set(identity, out);
  return out;
}

/** Functions at virtual addresses, as file offsets for their uprobes. */
function fileOffsets(f: ElfFile, addresses: ReadonlyMap<string, number>, foundBy: string): Inspection['fingerprinted'] {
  const offsets = new Map<string, number>();
  for (const [name, vaddr] of addresses) {
    const offset = f.fileOffset(vaddr);
    if (offset === undefined) return { error: 'the functions found are outside the executable segments' };
    offsets.set(name, offset);
  }
  return { offsets, foundBy };
}

/** SSL_read and SSL_write of a stripped BoringSSL, from their code. */
function fingerprintBoringSsl(file: string): Inspection['fingerprinted'] {
  const r = withElf(file, (f) => {
    const found = findBoringSslFunctions(f);
    if (!found.ok) return { error: found.error };
    const addresses = new Map([['SSL_read', found.value.SSL_read], ['SSL_write', found.value.SSL_write]]);
    return fileOffsets(f, addresses, `stripped BoringSSL, functions found by their error sites: ${found.value.how}`);
  });
  return r.ok ? r.value : { error: r.error };
}

/** SSL_read, SSL_write and their _ex forms of a stripped static OpenSSL 3, from their code. */
function fingerprintOpenssl(file: string): Inspection['fingerprinted'] {
  const r = withElf(file, (f) => {
    const found = findOpensslFunctions(f);
    return found.ok ? fileOffsets(f, found.value.addresses, `stripped OpenSSL 3, functions found ${found.value.how}`) : { error: found.error };
  });
  return r.ok ? r.value : { error: r.error };
}

/** Which stripped library a binary's probes were found in, from its foundBy. */
export function strippedLibraryOf(foundBy: string): 'BoringSSL' | 'OpenSSL' {
  return foundBy.startsWith('stripped OpenSSL') ? 'OpenSSL' : 'BoringSSL';
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Go's HTTP/2 header probes: 'all' (grpc-go's transport and net/http's
 * bundle), 'grpc' (grpc-go only: three probe points, one hit per header
 * block; net/http's send side needs a hit per field), or 'off'.
 */
export type GoHeaderProbes = 'all' | 'grpc' | 'off';

export class TlsAttacher {
  private readonly sensor: UprobeSensor;
  private readonly log: (line: string) => void;
  private readonly proc: string;
  private readonly seen = new Set<string>();
  private readonly binaries: TlsBinary[] = [];
  private readonly probed = new Map<string, ProbedBinary>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Binaries whose probes were removed because no process used them any more. */
  removed = 0;
  private readonly skips: TlsSkipped[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Entries of hp_go_tls_bins this attacher filled (one per Go binary). */
  private readonly goSlots = new Set<number>();
  private closed = false;
  /** During scan() attachments are summed up by the caller, not logged one by one. */
  private scanning = false;

  /** Why Go binaries cannot be probed on this kernel (goTlsUnsupportedReason), if they cannot. */
  private readonly goUnsupported: string | undefined;

  /** Which of Go's HTTP/2 stacks get the header probes: both, grpc-go only, or none. */
  private readonly goHeaders: GoHeaderProbes;

  /** Whether libcrypto gets the SSL BIO probes (sslBio.ts) where a process maps libssl too. */
  private readonly sslBio: boolean;

  constructor(sensor: UprobeSensor, log: (line: string) => void = () => {}, proc = '/proc', goUnsupported?: string, goHeaders: GoHeaderProbes = 'all', sslBio = false) {
    this.sensor = sensor;
    this.sslBio = sslBio;
    this.goHeaders = goHeaders;
    this.log = log;
    this.proc = proc;
    this.goUnsupported = goUnsupported;
  }

  /** Library directories, then every running process. */
  scan(): void {
    this.scanning = true;
    try {
      for (const dir of LIBRARY_DIRS) this.scanLibraryDir(dir, true);
      let pids: string[] = [];
      try {
        pids = readdirSync(this.proc).filter((n) => /^\d+$/.test(n));
      } catch {
        return;
      }
      for (const pid of pids) this.inspectProcess(Number(pid));
    } finally {
      this.scanning = false;
    }
  }

  /**
   * One file, as if a process mapped it (`hydrophone doctor --tls`): it is
   * inspected and attached, or skipped with the reason, like any other.
   */
  inspectFile(file: string): void {
    const base = path.basename(file);
    this.consider(file, file, LIBSSL.test(base) ? 'libssl' : /\.so(\.|$)/.test(base) ? 'library' : 'executable', undefined);
  }

  /** One line for the startup log: how many binaries, which. */
  summary(): string {
    const paths = this.binaries.map((b) => (b.kind === 'go' ? `${b.path} (Go crypto/tls${b.headerStacks ? ` + ${b.headerStacks.join(', ')} headers` : ''}, ${b.goVersion})` :
      b.kind === 'libcrypto' ? `${b.path} (SSL BIO)` : b.foundBy ? `${b.path} (stripped ${strippedLibraryOf(b.foundBy)}, ${strippedLibraryOf(b.foundBy) === 'OpenSSL' ? 'by error-site names' : 'by fingerprint'})` : b.path));
    return `TLS uprobes on ${paths.length} binar${paths.length === 1 ? 'y' : 'ies'}${paths.length ? `: ${paths.join(', ')}` : ''}` +
      (this.skips.length ? `; ${this.skips.length} not traced (see above)` : '');
  }

  /** A process replaced its image: its executable now, its libraries shortly. */
  onExec(pid: number): void {
    if (this.closed) return;
    this.inspectExecutable(pid);
    if (this.timers.size >= MAX_PENDING_RESCANS) return;
    for (const ms of RESCAN_AFTER_EXEC_MS) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closed) this.inspectMaps(pid);
      }, ms);
      t.unref();
      this.timers.add(t);
    }
  }

  /** Binaries with uprobes, in the order they were attached. */
  attached(): readonly TlsBinary[] {
    return this.binaries;
  }

  /** Binaries that carry a TLS library but could not be probed, and why. */
  skipped(): readonly TlsSkipped[] {
    return this.skips;
  }

  /** Stops following execs. The links go with the sensor (or detach()). */
  close(): void {
    this.closed = true;
    clearTimeout(this.sweepTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Removes every uprobe this attacher made. */
  detach(): void {
    for (const b of this.binaries) for (const id of b.links) this.sensor.detachUprobe(id);
    for (const slot of this.goSlots) {
      this.sensor.setGoTlsBinary(slot, null);
      this.sensor.setGoH2Binary(slot, null);
    }
    this.goSlots.clear();
    this.binaries.length = 0;
    this.probed.clear();
    this.seen.clear();
  }

  /**
   * A process ended: a little later, probes on binaries no process uses
   * any more are removed. A uprobe pins its file's inode, so without this a
   * node that rolls out new images would keep every old binary (deleted,
   * invisible) in memory and its probes in the kernel. One sweep covers a
   * burst of exits.
   */
  onExit(): void {
    if (this.closed || this.sweepTimer !== undefined) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      if (!this.closed) this.sweep();
    }, SWEEP_AFTER_EXIT_MS);
    this.sweepTimer.unref();
  }

  /** Removes the probes of binaries whose users are all gone; returns how many. */
  sweep(): number {
    let removed = 0;
    for (const [key, p] of this.probed) {
      for (const pid of p.users) if (!this.stillUses(pid, p, key)) p.users.delete(pid);
      if (p.users.size > 0) continue;
      if (p.fromLibraryDir && fileKeyOf(p.openedAs) === key) continue;
      for (const e of p.entries) {
        for (const id of e.links) this.sensor.detachUprobe(id);
        this.binaries.splice(this.binaries.indexOf(e), 1);
      }
      if (p.goSlot !== undefined) {
        this.sensor.setGoTlsBinary(p.goSlot, null);
        this.sensor.setGoH2Binary(p.goSlot, null);
        this.goSlots.delete(p.goSlot);
      }
      this.probed.delete(key);
      // Seen again (the same inode started anew) it is probed again.
      this.seen.delete(key);
      removed++;
      this.log(`TLS: uprobes removed from ${p.entries[0]!.path}: no process uses it any more`);
    }
    this.removed += removed;
    return removed;
  }

  /** Whether pid still runs or maps the binary (a reused pid running something else does not count). */
  private stillUses(pid: number, p: ProbedBinary, key: string): boolean {
    if (fileKeyOf(`${this.proc}/${pid}/exe`) === key) return true;
    if (p.entries.every((e) => e.kind === 'executable' || e.kind === 'go')) return false;
    const maps = tryRead(`${this.proc}/${pid}/maps`);
    if (!maps) return false;
    const file = p.entries[0]!.path;
    // A mapping of a file deleted since (a package upgrade) is still a use: keep the probes, they are harmless.
    if (maps.includes(` ${file} (deleted)\n`)) return true;
    return maps.includes(` ${file}\n`) && fileKeyOf(path.join(`${this.proc}/${pid}/root`, file)) === key;
  }

  private scanLibraryDir(dir: string, descend: boolean): void {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (LIBSSL.test(e.name)) this.consider(full, full, 'libssl', undefined);
      else if (descend && e.isDirectory() && /-linux-gnu/.test(e.name)) this.scanLibraryDir(full, false);
    }
  }

  private inspectProcess(pid: number): void {
    this.inspectExecutable(pid);
    this.inspectMaps(pid);
  }

  private inspectExecutable(pid: number): void {
    let exe: string;
    try {
      exe = readlinkSync(`${this.proc}/${pid}/exe`);
    } catch {
      return; // gone, or a kernel thread
    }
    // The magic link opens the very file the process runs, in any mount
    // namespace, even when it was deleted or replaced since.
    this.consider(exe.replace(/ \(deleted\)$/, ''), `${this.proc}/${pid}/exe`, 'executable', pid);
  }

  private inspectMaps(pid: number): void {
    const maps = tryRead(`${this.proc}/${pid}/maps`);
    if (!maps) return;
    const done = new Set<string>();
    // Only a process that maps libssl can have SSL BIOs: libcrypto's BIO
    // probes are placed for it (and then fire in every user of that file).
    const mapsLibssl = this.sslBio && /\/libssl\.so\.(3|1\.1)( \(deleted\))?$/m.test(maps);
    for (const line of maps.split('\n')) {
      const slash = line.indexOf('/');
      if (slash < 0) continue;
      const file = line.slice(slash);
      if (done.has(file)) continue;
      done.add(file);
      const base = path.basename(file);
      if (LIBSSL.test(base)) this.consider(file, path.join(`${this.proc}/${pid}/root`, file), 'libssl', pid);
      else if (mapsLibssl && LIBCRYPTO.test(base)) this.considerSslBio(file, path.join(`${this.proc}/${pid}/root`, file), pid);
      // Other shared objects may carry a TLS library inside (BoringSSL in
      // Python's grpcio, OpenSSL in a vendored .so): each is looked at once.
      else if (/\.so(\.|$)/.test(base) && !NOT_TLS_LIBRARY.test(base)) this.consider(file, path.join(`${this.proc}/${pid}/root`, file), 'library', pid);
    }
  }

  private consider(shownPath: string, openedAs: string, kind: TlsBinary['kind'], pid: number | undefined): void {
    let st;
    try {
      st = statSync(openedAs);
    } catch {
      return;
    }
    if (!st.isFile()) return;
    const key = `${st.dev}:${st.ino}`;
    if (this.seen.has(key)) {
      if (pid !== undefined) this.probed.get(key)?.users.add(pid);
      return;
    }
    this.seen.add(key);
    const identity = `${key}:${st.size}:${st.mtimeMs}`;
    const where = pid === undefined ? shownPath : `${shownPath} (pid ${pid})`;
    // A Go program can carry OpenSSL too (cgo): both are looked for.
    const use = { key, pid };
    if (kind === 'executable') this.considerGo(shownPath, openedAs, where, inspectGo(openedAs, identity), use, identity);
    const found = inspect(openedAs, identity, st.size, kind);
    if (!found.functions) {
      if (kind === 'libssl') this.skip(where, `not readable as ELF: ${found.error}`);
      return;
    }
    const offsets = found.functions.offsets;
    if (!offsets.has('SSL_read') && !offsets.has('SSL_write')) {
      if (kind === 'libssl') {
        this.skip(where, `no SSL_read/SSL_write symbol (${found.functions.hasSymtab ? 'not exported' : 'stripped'})`);
      } else if (found.rustls?.offsets.size) {
        this.attach(shownPath, openedAs, kind, where, found.rustls.offsets, use);
      } else if (found.rustls) {
        this.skip(where, found.rustls.hasSymtab
          ? 'carries rustls but none of the functions the sensor probes (a rustls it does not know): its TLS traffic is not traced'
          : 'carries rustls but no symbol table (stripped): its TLS traffic is not traced; keep symbols (Cargo\'s strip = false, the default) to trace it');
      } else if (found.fingerprinted && 'offsets' in found.fingerprinted) {
        this.attach(shownPath, openedAs, kind, where, found.fingerprinted.offsets, use, found.fingerprinted.foundBy);
      } else if (found.mark) {
        const why = found.fingerprinted ? `, and its functions were not recognised (${found.fingerprinted.error})` : '';
        this.skip(where, `carries ${found.mark} but no SSL_read/SSL_write symbol (stripped)${why}: its TLS traffic is not traced`);
      }
      return;
    }
    this.attach(shownPath, openedAs, kind, where, offsets, use);
  }

  /** libcrypto of a process that also maps libssl: the SSL BIO probes (sslBio.ts), once per file. */
  private considerSslBio(shownPath: string, openedAs: string, pid: number): void {
    const key = fileKeyOf(openedAs);
    if (key === undefined) return;
    if (this.seen.has(key)) {
      this.probed.get(key)?.users.add(pid);
      return;
    }
    this.seen.add(key);
    const where = `${shownPath} (pid ${pid})`;
    // Its programs read the cookie, like the Go ones.
    if (this.goUnsupported) return this.skip(where, `SSL BIO: ${this.goUnsupported.replace('Go TLS probes', 'SSL BIO probes')}`);
    const r = probeSslBio(this.sensor, openedAs, path.basename(shownPath));
    if (!r.ok) return this.skip(where, `SSL BIO: ${r.reason}`);
    this.remember({ path: shownPath, openedAs, kind: 'libcrypto', functions: r.functions, links: r.links }, { key, pid });
    if (!this.scanning) this.log(`TLS: SSL BIO uprobes on ${r.functions.join(', ')} in ${where} (${r.layout.name} layout)`);
  }

  private remember(binary: TlsBinary, use: BinaryUse, goSlot?: number): void {
    this.binaries.push(binary);
    let p = this.probed.get(use.key);
    if (!p) {
      p = { entries: [], openedAs: binary.openedAs, users: new Set(use.pid === undefined ? [] : [use.pid]), fromLibraryDir: use.pid === undefined };
      this.probed.set(use.key, p);
    }
    p.entries.push(binary);
    if (goSlot !== undefined) p.goSlot = goSlot;
  }

  private attach(shownPath: string, openedAs: string, kind: TlsBinary['kind'], where: string, offsets: ReadonlyMap<string, number>, use: BinaryUse, foundBy?: string): void {
    const links: number[] = [];
    const functions: string[] = [];
    const failures: string[] = [];
    for (const f of TLS_FUNCTIONS) {
      const offset = offsets.get(f.name);
      if (offset === undefined) continue;
      const made: number[] = [];
      try {
        made.push(this.sensor.attachUprobe({ program: f.entry, binaryPath: openedAs, offset }));
        if ('ret' in f) made.push(this.sensor.attachUprobe({ program: f.ret, binaryPath: openedAs, offset, retprobe: true }));
        links.push(...made);
        functions.push(f.name);
      } catch (err) {
        // Half a pair is worse than none: an entry without its return leaves a call open.
        for (const id of made) this.sensor.detachUprobe(id);
        failures.push(`${f.name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    if (failures.length) this.skip(where, `uprobes refused: ${failures.join('; ')}`);
    if (!functions.length) return;
    this.remember({ path: shownPath, openedAs, kind, functions, links, ...(foundBy ? { foundBy } : {}) }, use);
    if (!this.scanning || foundBy) this.log(`TLS: uprobes on ${functions.join(', ')} in ${where}${foundBy ? ` (${foundBy})` : ''}`);
  }

  private considerGo(shownPath: string, openedAs: string, where: string, found: GoTlsInspection, use: BinaryUse, identity: string): void {
    if (found.kind === 'not-go') return;
    if (found.kind === 'not-traceable') {
      this.skip(where, `Go ${found.goVersion ?? '(version unreadable)'}: ${found.reason}`);
      return;
    }
    if (this.goUnsupported) {
      this.skip(where, `Go ${found.binary.goVersion}: ${this.goUnsupported}`);
      return;
    }
    const slot = this.freeGoSlot();
    if (slot === undefined) {
      this.skip(where, `Go crypto/tls: already ${Enums.HP_GO_TLS_MAX_BINARIES} Go binaries probed (HP_GO_TLS_MAX_BINARIES in bpf/abi.h)`);
      return;
    }
    const b = found.binary;
    const links: number[] = [];
    try {
      this.sensor.setGoTlsBinary(slot, goLayout(b));
      this.goSlots.add(slot);
      // Returns first: a call already in progress then returns without an
      // entry (handled as such), never leaves an entry that no return takes.
      for (const [fn, dir] of [[b.read, Enums.HP_DIR_INGRESS], [b.write, Enums.HP_DIR_EGRESS]] as const) {
        for (const offset of fn.returns) {
          links.push(this.sensor.attachUprobe({ program: GO_RETURN_PROGRAM, binaryPath: openedAs, offset, cookie: goCookie(slot, dir, offset - fn.offset) }));
        }
      }
      for (const [fn, dir] of [[b.read, Enums.HP_DIR_INGRESS], [b.write, Enums.HP_DIR_EGRESS]] as const) {
        links.push(this.sensor.attachUprobe({ program: GO_ENTRY_PROGRAM, binaryPath: openedAs, offset: fn.offset, cookie: goCookie(slot, dir) }));
      }
    } catch (err) {
      // All or nothing: entries without their returns would leave calls open.
      for (const id of links) this.sensor.detachUprobe(id);
      this.sensor.setGoTlsBinary(slot, null);
      this.goSlots.delete(slot);
      this.skip(where, `Go ${b.goVersion}: uprobes refused: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    const functions = [b.read.name, b.write.name];
    const headers = this.attachGoH2(openedAs, where, slot, b, inspectH2(openedAs, identity), inspectNetHttp(openedAs, identity), links);
    this.remember({
      path: shownPath, openedAs, kind: 'go', functions, links, goVersion: b.goVersion,
      ...(headers ? { headerFunctions: headers.functions, headerStacks: headers.stacks } : {}),
    }, use, slot);
    if (!this.scanning) {
      this.log(`TLS: uprobes on Go ${b.goVersion} crypto/tls (Read: ${b.read.returns.length} returns, Write: ${b.write.returns.length})` +
        `${headers ? ` and ${headers.stacks.join(', ')} HTTP/2 headers` : ''} in ${where}`);
    }
  }

  /**
   * The HTTP/2 header probes of a Go binary whose crypto/tls probes are in
   * place (slot `slot`): grpc-go's transport and net/http's bundle, each
   * on its own (one refused leaves the other). Their links join `links`.
   * Returns the functions probed and their stacks, or undefined (a binary
   * with neither says nothing; one that cannot be probed is reported).
   */
  private attachGoH2(openedAs: string, where: string, slot: number, tls: GoTlsBinary, grpc: GoH2Inspection, netHttp: NetHttpH2Inspection,
    links: number[]): { functions: string[]; stacks: Array<'grpc-go' | 'net/http'> } | undefined {
    if (this.goHeaders === 'off') return undefined;
    const withNetHttp = this.goHeaders === 'all';
    const notTraced = (reason: string) => this.skip(where, `Go ${tls.goVersion}: crypto/tls traced, HTTP/2 headers not: ${reason}`);
    for (const found of withNetHttp ? [grpc, netHttp] : [grpc]) if (found.kind === 'not-traceable') notTraced(found.reason);
    if (withNetHttp && netHttp.kind === 'traceable' && netHttp.binary.untraced) notTraced(netHttp.binary.untraced);
    const g = grpc.kind === 'traceable' ? grpc.binary : undefined;
    const n = withNetHttp && netHttp.kind === 'traceable' ? netHttp.binary : undefined;
    if (!g && !n) return undefined;
    try {
      this.sensor.setGoH2Binary(slot, goH2Layout(g, n));
    } catch (err) {
      notTraced(`layout refused: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
    const out = { functions: [] as string[], stacks: [] as Array<'grpc-go' | 'net/http'> };
    const attachAll = (stack: 'grpc-go' | 'net/http', probes: ReadonlyArray<readonly [GoH2Function, string, number]>) => {
      const made: number[] = [];
      try {
        for (const [fn, program, probe] of probes) {
          made.push(this.sensor.attachUprobe({ program, binaryPath: openedAs, offset: fn.offset, cookie: goH2Cookie(slot, probe) }));
        }
      } catch (err) {
        for (const id of made) this.sensor.detachUprobe(id);
        notTraced(`${stack}: uprobes refused: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
      links.push(...made);
      out.stacks.push(stack);
      for (const [fn] of probes) if (!out.functions.includes(fn.name)) out.functions.push(fn.name);
    };
    if (g) {
      attachAll('grpc-go', [
        [g.clientRead, GO_H2_PROGRAM, Enums.HP_H2_GRPC_CLIENT_READ],
        [g.serverRead, GO_H2_PROGRAM, Enums.HP_H2_GRPC_SERVER_READ],
        [g.write, GO_H2_PROGRAM, Enums.HP_H2_GRPC_WRITE],
      ]);
    }
    if (n) attachAll('net/http', netHttpProbes(n));
    if (!out.stacks.length) {
      this.sensor.setGoH2Binary(slot, null);
      return undefined;
    }
    return out;
  }

  private freeGoSlot(): number | undefined {
    for (let i = 0; i < Enums.HP_GO_TLS_MAX_BINARIES; i++) if (!this.goSlots.has(i)) return i;
    return undefined;
  }

  private skip(where: string, reason: string): void {
    this.skips.push({ path: where, reason });
    this.log(`TLS: not traced: ${where}: ${reason}`);
  }
}

interface BinaryUse {
  readonly key: string;
  readonly pid: number | undefined;
}

function fileKeyOf(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function goLayout(b: GoTlsBinary): GoTlsBinaryLayout {
  return {
    readAddr: b.read.addr,
    writeAddr: b.write.addr,
    itabTcp: b.itabTcp,
    itabUnix: b.itabUnix,
    connOff: b.offsets.conn,
    fdOff: b.offsets.fd,
    sysfdOff: b.offsets.sysfd,
    pie: b.pie,
    readSpills: b.readSpills,
  };
}

/**
 * net/http's probes in attach order: the fields, then the writes, the
 * reads, and the starts last. A block is gathered only from a start on,
 * and every start probed finds the field and write probes already there:
 * no block goes out with the fields encoded before a probe existed.
 */
function netHttpProbes(n: NetHttpH2Binary): Array<readonly [GoH2Function, string, number]> {
  const probes: Array<readonly [GoH2Function, string, number]> = [[n.field, GO_H2_FIELD_PROGRAM, Enums.HP_H2_NETHTTP_FIELD]];
  if (n.server) probes.push([n.server.write, GO_H2_PROGRAM, Enums.HP_H2_NETHTTP_SERVER_WRITE]);
  if (n.client) probes.push([n.client.write, GO_H2_PROGRAM, Enums.HP_H2_NETHTTP_CLIENT_WRITE]);
  if (n.server) probes.push([n.server.read, GO_H2_PROGRAM, Enums.HP_H2_NETHTTP_SERVER_READ]);
  if (n.client) probes.push([n.client.read, GO_H2_PROGRAM, Enums.HP_H2_NETHTTP_CLIENT_READ]);
  if (n.server) probes.push([n.server.start, GO_H2_START_PROGRAM, Enums.HP_H2_NETHTTP_SERVER_START]);
  for (const start of n.client?.starts ?? []) probes.push([start, GO_H2_START_PROGRAM, Enums.HP_H2_NETHTTP_CLIENT_START]);
  return probes;
}

/** One binary's struct hp_go_h2_binary: a stack it lacks has zeros (its probes are not attached). */
function goH2Layout(h: GoH2Binary | undefined, n: NetHttpH2Binary | undefined): GoH2BinaryLayout {
  const o = h?.offsets;
  const no = n?.offsets;
  return {
    clientReadAddr: h?.clientRead.addr ?? 0,
    serverReadAddr: h?.serverRead.addr ?? 0,
    writeAddr: h?.write.addr ?? 0,
    itabTls: h?.itabTls ?? n!.itabTls,
    itabSyscallConn: h?.itabSyscallConn ?? 0,
    clientConnOff: o?.clientConn ?? 0,
    serverConnOff: o?.serverConn ?? 0,
    loopyConnOff: o?.loopyConn ?? 0,
    syscallConnOff: o?.syscallConn ?? 0,
    metaFrameOff: o?.metaFrame ?? 0,
    metaFieldsOff: o?.metaFields ?? 0,
    metaTruncatedOff: o?.metaTruncated ?? 0,
    streamIdOff: o?.streamId ?? 0,
    frameFlagsOff: o?.frameFlags ?? 0,
    fieldSize: o?.fieldSize ?? 0,
    fieldNameOff: o?.fieldName ?? 0,
    fieldValueOff: o?.fieldValue ?? 0,
    fieldSensitiveOff: o?.fieldSensitive ?? 0,
    pie: h?.pie ?? n!.pie,
    nhServerReadAddr: n?.server?.read.addr ?? 0,
    nhClientReadAddr: n?.client?.read.addr ?? 0,
    nhServerWriteAddr: n?.server?.write.addr ?? 0,
    nhClientWriteAddr: n?.client?.write.addr ?? 0,
    nhItabServerCtx: n?.server?.itabServerCtx ?? 0,
    nhServerConnOff: no?.serverConn ?? 0,
    nhReadLoopCcOff: no?.readLoopCc ?? 0,
    nhClientConnOff: no?.clientConn ?? 0,
    nhResStreamIdOff: no?.resStreamId ?? 0,
    nhResEndStreamOff: no?.resEndStream ?? 0,
    nhMetaFrameOff: no?.metaFrame ?? 0,
    nhMetaFieldsOff: no?.metaFields ?? 0,
    nhMetaTruncatedOff: no?.metaTruncated ?? 0,
    nhStreamIdOff: no?.streamId ?? 0,
    nhFrameFlagsOff: no?.frameFlags ?? 0,
    nhFieldSize: no?.fieldSize ?? 0,
    nhFieldNameOff: no?.fieldName ?? 0,
    nhFieldValueOff: no?.fieldValue ?? 0,
    nhFieldSensitiveOff: no?.fieldSensitive ?? 0,
  };
}
