/**
 * The event model every source emits (live BPF, recordings, and later pcap):
 * connections, the bytes moving through them with their stream positions,
 * losses, and process lifecycle. Everything downstream consumes only this.
 */

export type Role = 'client' | 'server' | 'unknown';
export type Direction = 'egress' | 'ingress';
/** How a connection became known: its syscall, or already open at start. */
export type Origin = 'connect' | 'accept' | 'existing';

export interface Endpoint {
  /** Textual IPv4/IPv6 address; '' for Unix sockets. */
  readonly address: string;
  readonly port: number;
}

interface EventBase {
  /** Wall-clock time in nanoseconds since the Unix epoch. */
  readonly tsNs: bigint;
  readonly pid: number;
  readonly tid: number;
}

export interface ConnOpenEvent extends EventBase {
  readonly type: 'open';
  /** Stable connection id: `${pid}-${fd}-${gen}`; a reused fd gets a new one. */
  readonly conn: string;
  readonly fd: number;
  readonly comm: string;
  readonly role: Role;
  readonly origin: Origin;
  readonly family: 'ipv4' | 'ipv6' | 'unix';
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly cgroupId: bigint;
}

export interface DataEvent extends EventBase {
  readonly type: 'data';
  readonly conn: string;
  readonly direction: Direction;
  /** Offset of the first byte within this direction of the connection. */
  readonly pos: number;
  /** Bytes the syscall moved: the event covers [pos, pos + len). */
  readonly len: number;
  /** The first `payload.length` (<= len) bytes of that range. */
  readonly payload: Uint8Array;
  /** The syscall that moved them (read, writev, sendmsg...). */
  readonly syscall: string;
  /** Bytes of this direction were lost before this event (ring buffer full). */
  readonly afterLoss: boolean;
  /** No payload on purpose (sendfile), not a loss. */
  readonly lengthOnly: boolean;
  /** Bytes came from a TLS library (plaintext), not the socket. */
  readonly tls: boolean;
}

export interface ConnCloseEvent extends EventBase {
  readonly type: 'close';
  readonly conn: string;
  readonly egressBytes: number;
  readonly ingressBytes: number;
}

/**
 * Something did not reach user space. With `conn`, a gap in that
 * connection's stream (`bytes` where known); without, records lost by the
 * kernel ring buffer (`records`), which a later position gap will show.
 */
export interface LostEvent {
  readonly type: 'lost';
  readonly tsNs: bigint;
  readonly reason: 'ringbuf' | 'gap';
  readonly conn?: string;
  readonly direction?: Direction;
  readonly bytes?: number;
  readonly records?: number;
}

export interface ProcEvent extends EventBase {
  readonly type: 'exec' | 'exit';
  readonly ppid: number;
  readonly comm: string;
  readonly cgroupId: bigint;
}

/** One field of a header block, as a program held it (not HPACK-encoded). */
export interface HeaderFieldCopy {
  /** The name's bytes carried: all of it unless nameTruncated. */
  readonly name: string;
  /** undefined: withheld (HPACK never-indexed) or unreadable; else the bytes carried. */
  readonly value: string | undefined;
  readonly nameTruncated: boolean;
  readonly valueTruncated: boolean;
}

/**
 * A whole HTTP/2 header block of a stream, read from the program's memory
 * by a uprobe (Go: grpc-go's transport) instead of decoded from the wire:
 * it needs no HPACK state, so it names the streams of connections older
 * than the sensor. Egress blocks are taken before they are encoded (they
 * come before their frame's bytes); ingress ones after they were decoded
 * (after their frame's bytes).
 */
export interface HeadersEvent extends EventBase {
  readonly type: 'headers';
  readonly conn: string;
  readonly direction: Direction;
  readonly streamId: number;
  readonly endStream: boolean;
  readonly fields: readonly HeaderFieldCopy[];
  /** Fields the block had: more than fields.length when the event could not carry them all. */
  readonly fieldTotal: number;
  /** The program itself cut the list (grpc-go: the peer's list exceeded its limit). */
  readonly listTruncated: boolean;
  /** Which probe: grpc_client_read, grpc_server_read, grpc_write, nethttp_server_read, nethttp_client_read, nethttp_server_write, nethttp_client_write. */
  readonly source: string;
}

export type SensorEvent = ConnOpenEvent | DataEvent | ConnCloseEvent | LostEvent | ProcEvent | HeadersEvent;

/** Where a source delivers its events, in order, a batch at a time. */
export type EventSink = (events: readonly SensorEvent[]) => void;
