/**
 * Go binaries for the crypto/tls uprobes (bpf/lib/goTls.h): the public
 * surface of this folder. The DWARF reader, build information and
 * return-site finder behind it are tested on their own.
 */
export { inspectGoTls, GO_TLS_READ, GO_TLS_WRITE } from './goTlsBinary.ts';
export type { GoTlsBinary, GoTlsFunction, GoTlsInspection, GoTlsOffsets } from './goTlsBinary.ts';
