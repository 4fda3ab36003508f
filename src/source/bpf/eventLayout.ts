/**
 * Byte layout of the records in bpf/abi.h, as TypeScript reads them.
 * Written by hand from the header, and checked field by field against the
 * sizeof/offsetof values the native addon exports (eventLayout.test.ts), so
 * a change to the header that is not made here fails the tests.
 */

export const ABI_VERSION = 1;

export const EventKind = {
  connOpen: 1,
  data: 2,
  connClose: 3,
  procExec: 4,
  procExit: 5,
} as const;

export const Sizes = {
  hp_event_header: 16,
  hp_conn_id: 16,
  hp_tuple: 40,
  hp_conn_open_event: 104,
  hp_data_event: 56,
  hp_conn_close_event: 56,
  hp_proc_event: 48,
  hp_config: 16,
  hp_go_tls_binary: 48,
} as const;

/** "struct.field" -> byte offset, the keys the addon's abi() uses. */
export const Offsets = {
  'hp_event_header.kind': 0,
  'hp_event_header.tid': 4,
  'hp_event_header.ts_ns': 8,
  'hp_conn_id.tgid': 0,
  'hp_conn_id.fd': 4,
  'hp_conn_id.gen': 8,
  'hp_tuple.local_addr': 0,
  'hp_tuple.remote_addr': 16,
  'hp_tuple.local_port': 32,
  'hp_tuple.remote_port': 34,
  'hp_tuple.family': 36,
  'hp_conn_open_event.conn': 16,
  'hp_conn_open_event.tuple': 32,
  'hp_conn_open_event.cgroup_id': 72,
  'hp_conn_open_event.comm': 80,
  'hp_conn_open_event.role': 96,
  'hp_conn_open_event.origin': 97,
  'hp_data_event.conn': 16,
  'hp_data_event.pos': 32,
  'hp_data_event.len': 40,
  'hp_data_event.captured': 44,
  'hp_data_event.direction': 48,
  'hp_data_event.syscall': 49,
  'hp_data_event.flags': 50,
  'hp_conn_close_event.conn': 16,
  'hp_conn_close_event.egress_bytes': 32,
  'hp_conn_close_event.ingress_bytes': 40,
  'hp_conn_close_event.role': 48,
  'hp_proc_event.tgid': 16,
  'hp_proc_event.ppid': 20,
  'hp_proc_event.cgroup_id': 24,
  'hp_proc_event.comm': 32,
  'hp_config.self_tgid': 0,
  'hp_config.flags': 4,
  'hp_config.capture_bytes': 8,
  'hp_config.wakeup_bytes': 12,
  // Written by the addon from an object (setGoTlsBinary), listed so the
  // layout test covers every struct of the header.
  'hp_go_tls_binary.read_addr': 0,
  'hp_go_tls_binary.write_addr': 8,
  'hp_go_tls_binary.itab_tcp': 16,
  'hp_go_tls_binary.itab_unix': 24,
  'hp_go_tls_binary.conn_off': 32,
  'hp_go_tls_binary.fd_off': 36,
  'hp_go_tls_binary.sysfd_off': 40,
  'hp_go_tls_binary.pie': 44,
  'hp_go_tls_binary.read_spills': 45,
} as const;

/** Enum constants of abi.h that TypeScript relies on, by their C names. */
export const Enums = {
  HP_ABI_VERSION: ABI_VERSION,
  HP_EVENT_CONN_OPEN: EventKind.connOpen,
  HP_EVENT_DATA: EventKind.data,
  HP_EVENT_CONN_CLOSE: EventKind.connClose,
  HP_EVENT_PROC_EXEC: EventKind.procExec,
  HP_EVENT_PROC_EXIT: EventKind.procExit,
  HP_ROLE_UNKNOWN: 0,
  HP_ROLE_CLIENT: 1,
  HP_ROLE_SERVER: 2,
  HP_ORIGIN_CONNECT: 1,
  HP_ORIGIN_ACCEPT: 2,
  HP_ORIGIN_EXISTING: 3,
  HP_DIR_EGRESS: 1,
  HP_DIR_INGRESS: 2,
  HP_DATA_AFTER_LOSS: 1,
  HP_DATA_LENGTH_ONLY: 2,
  HP_DATA_TLS: 4,
  HP_AF_UNIX: 1,
  HP_AF_INET: 2,
  HP_AF_INET6: 10,
  HP_COMM_LEN: 16,
  HP_CAPTURE_DEFAULT: 16384,
  HP_CAPTURE_MAX: 65536,
  HP_CHUNK_MAX: 16384,
  HP_GO_TLS_MAX_BINARIES: 512,
  HP_GO_TLS_COOKIE_DIR_SHIFT: 32,
  HP_GO_TLS_COOKIE_OFF_SHIFT: 40,
  HP_CONFIG_PID_ALLOW: 1,
  HP_CONFIG_PORT_ALLOW: 2,
  HP_CONFIG_CGROUP_ALLOW: 4,
  HP_CONFIG_UNIX: 8,
  HP_CTR_EVENTS: 0,
  HP_CTR_RINGBUF_LOST: 1,
  HP_CTR_BYTES_LOST: 2,
  HP_CTR_CONN_MAP_FULL: 3,
  HP_CTR_IOV_TRUNCATED: 4,
  HP_CTR_FILTERED: 5,
  HP_CTR_TLS_UNKEYED: 6,
  HP_CTR__COUNT: 7,
} as const;

/** Names of enum hp_syscall values, index = value (HP_SYS_<NAME>). */
export const SyscallNames: readonly string[] = [
  'unknown', 'read', 'write', 'readv', 'writev', 'sendto', 'recvfrom',
  'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'sendfile', 'ssl_read', 'ssl_write',
  'go_tls_read', 'go_tls_write',
];

/** Names of enum hp_counter values, index = value. */
export const CounterNames = [
  'events', 'ringbufLost', 'bytesLost', 'connMapFull', 'iovTruncated', 'filtered', 'tlsUnkeyed',
] as const;

/** Each record in a batch from the addon: [u32 length][u32 0][bytes][pad to 8]. */
export const BATCH_RECORD_HEADER = 8;
