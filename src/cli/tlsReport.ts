/**
 * `hydrophone doctor --tls FILE...`: what the sensor would do with these
 * binaries' TLS, without root and without loading anything: the attacher
 * of the real sensor (src/source/bpf/tlsAttach.ts) runs against a stand-in
 * that only records the uprobes it would place. So a user can ask why a
 * program's HTTPS is not traced (a stripped library, a Go build without
 * DWARF...) before installing anything.
 */
import { existsSync } from 'node:fs';
import { strippedLibraryOf, TlsAttacher, type TlsBinary } from '../source/bpf/tlsAttach.ts';
import { DryRunSensor } from '../source/bpf/dryRunSensor.ts';

export interface TlsFileReport {
  readonly file: string;
  /** Probed: the functions (entry and return each), and how they were found when not by symbol. */
  readonly traced: ReadonlyArray<{ library: string; functions: readonly string[]; foundBy?: string }>;
  /** Why not, when it carries a TLS library that cannot be probed. */
  readonly notTraced: readonly string[];
}

function library(b: TlsBinary): string {
  if (b.kind === 'go') return `Go crypto/tls (${b.goVersion})${b.headerStacks?.length ? ` + HTTP/2 headers of ${b.headerStacks.join(', ')}` : ''}`;
  if (b.functions.some((f) => f.startsWith('rustls'))) return 'rustls';
  return b.foundBy ? `${strippedLibraryOf(b.foundBy)} (stripped)` : 'OpenSSL API';
}

/** Each file inspected as the sensor would. */
export function tlsReport(files: readonly string[], goHeaders: 'all' | 'grpc' | 'off' = 'all'): TlsFileReport[] {
  return files.map((file) => {
    if (!existsSync(file)) return { file, traced: [], notTraced: [`no such file: ${file}`] };
    const attacher = new TlsAttacher(new DryRunSensor(), () => {}, '/proc', undefined, goHeaders);
    try {
      attacher.inspectFile(file);
      return {
        file,
        traced: attacher.attached().map((b) => ({ library: library(b), functions: [...(b.headerFunctions ? [...b.functions, ...b.headerFunctions] : b.functions)], ...(b.foundBy ? { foundBy: b.foundBy } : {}) })),
        notTraced: attacher.skipped().map((s) => s.reason),
      };
    } finally {
      attacher.close();
    }
  });
}

/** The report as lines for a terminal. */
export function tlsReportLines(reports: readonly TlsFileReport[]): string[] {
  return reports.flatMap((r) => {
    if (!r.traced.length && !r.notTraced.length) return [`${r.file}: no TLS library found (no SSL_read/SSL_write, no Go crypto/tls): nothing to probe`];
    return [
      ...r.traced.map((t) => `${r.file}: traced, ${t.library}: uprobes on ${t.functions.join(', ')}${t.foundBy ? ` (${t.foundBy})` : ''}`),
      ...r.notTraced.map((why) => `${r.file}: not traced: ${why}`),
    ];
  });
}
