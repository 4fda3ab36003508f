/**
 * Go binaries for the crypto/tls uprobes (bpf/lib/goTls.h) and the HTTP/2
 * header uprobes on grpc-go and net/http (bpf/lib/goH2.h): the public surface of this
 * folder. The DWARF reader, build information and
 * return-site finder behind it are tested on their own.
 */
export { inspectGoTls, GO_TLS_READ, GO_TLS_WRITE } from './goTlsBinary.ts';
export type { GoTlsBinary, GoTlsFunction, GoTlsInspection, GoTlsOffsets } from './goTlsBinary.ts';
export { inspectGoH2, GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE } from './goH2Binary.ts';
export type { GoH2Binary, GoH2Function, GoH2Inspection, GoH2Offsets } from './goH2Binary.ts';
export {
  inspectNetHttpH2, NETHTTP_CLIENT_READ, NETHTTP_CLIENT_START, NETHTTP_CLIENT_TRAILERS_START, NETHTTP_CLIENT_WRITE,
  NETHTTP_FIELD, NETHTTP_SERVER_READ, NETHTTP_SERVER_START, NETHTTP_SERVER_WRITE,
} from './netHttpH2Binary.ts';
export type { NetHttpH2Binary, NetHttpH2Inspection, NetHttpH2Offsets } from './netHttpH2Binary.ts';
