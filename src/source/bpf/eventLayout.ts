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
  h2Headers: 6,
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
  hp_h2_header_field: 256,
  hp_h2_headers_event: 4144,
  hp_go_h2_binary: 96,
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
  'hp_h2_header_field.name_len': 0,
  'hp_h2_header_field.value_len': 2,
  'hp_h2_header_field.flags': 4,
  'hp_h2_header_field.name': 8,
  'hp_h2_header_field.value': 56,
  'hp_h2_headers_event.conn': 16,
  'hp_h2_headers_event.stream_id': 32,
  'hp_h2_headers_event.field_total': 36,
  'hp_h2_headers_event.direction': 40,
  'hp_h2_headers_event.flags': 41,
  'hp_h2_headers_event.probe': 42,
  'hp_h2_headers_event.field_count': 43,
  'hp_h2_headers_event.fields': 48,
  // Written by the addon from an object (setGoH2Binary).
  'hp_go_h2_binary.client_read_addr': 0,
  'hp_go_h2_binary.server_read_addr': 8,
  'hp_go_h2_binary.write_addr': 16,
  'hp_go_h2_binary.itab_tls': 24,
  'hp_go_h2_binary.itab_syscall_conn': 32,
  'hp_go_h2_binary.client_conn_off': 40,
  'hp_go_h2_binary.server_conn_off': 44,
  'hp_go_h2_binary.loopy_conn_off': 48,
  'hp_go_h2_binary.syscall_conn_off': 52,
  'hp_go_h2_binary.meta_frame_off': 56,
  'hp_go_h2_binary.meta_fields_off': 60,
  'hp_go_h2_binary.meta_truncated_off': 64,
  'hp_go_h2_binary.stream_id_off': 68,
  'hp_go_h2_binary.frame_flags_off': 72,
  'hp_go_h2_binary.field_size': 76,
  'hp_go_h2_binary.field_name_off': 80,
  'hp_go_h2_binary.field_value_off': 84,
  'hp_go_h2_binary.field_sensitive_off': 88,
  'hp_go_h2_binary.pie': 92,
} as const;

/** Enum constants of abi.h that TypeScript relies on, by their C names. */
export const Enums = {
  HP_ABI_VERSION: ABI_VERSION,
  HP_EVENT_CONN_OPEN: EventKind.connOpen,
  HP_EVENT_DATA: EventKind.data,
  HP_EVENT_CONN_CLOSE: EventKind.connClose,
  HP_EVENT_PROC_EXEC: EventKind.procExec,
  HP_EVENT_PROC_EXIT: EventKind.procExit,
  HP_EVENT_H2_HEADERS: EventKind.h2Headers,
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
  HP_H2_MAX_FIELDS: 16,
  HP_H2_NAME_MAX: 48,
  HP_H2_VALUE_MAX: 200,
  HP_H2_COOKIE_PROBE_SHIFT: 32,
  HP_H2_GRPC_CLIENT_READ: 1,
  HP_H2_GRPC_SERVER_READ: 2,
  HP_H2_GRPC_WRITE: 3,
  HP_H2_END_STREAM: 1,
  HP_H2_FIELDS_TRUNCATED: 2,
  HP_H2_LIST_TRUNCATED: 4,
  HP_H2_NAME_TRUNCATED: 1,
  HP_H2_VALUE_TRUNCATED: 2,
  HP_H2_VALUE_WITHHELD: 4,
  HP_H2_UNREADABLE: 8,
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
  HP_CTR_H2_UNKEYED: 7,
  HP_CTR__COUNT: 8,
} as const;

/** Names of enum hp_syscall values, index = value (HP_SYS_<NAME>). */
export const SyscallNames: readonly string[] = [
  'unknown', 'read', 'write', 'readv', 'writev', 'sendto', 'recvfrom',
  'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'sendfile', 'ssl_read', 'ssl_write',
  'go_tls_read', 'go_tls_write',
];

/** Names of enum hp_counter values, index = value. */
export const CounterNames = [
  'events', 'ringbufLost', 'bytesLost', 'connMapFull', 'iovTruncated', 'filtered', 'tlsUnkeyed', 'h2Unkeyed',
] as const;

/** Names of enum hp_h2_probe values, index = value: the Go function a header event came from. */
export const H2ProbeNames: readonly string[] = [
  'unknown', 'grpc_client_read', 'grpc_server_read', 'grpc_write',
];

/** Each record in a batch from the addon: [u32 length][u32 0][bytes][pad to 8]. */
export const BATCH_RECORD_HEADER = 8;
