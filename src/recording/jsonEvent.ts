/**
 * The JSON Lines form of an event: what `hydrophone capture --json` prints
 * and what a recording stores, one object per line. Lossless: parse()
 * returns the event that format() was given. Documented in README.md.
 */
import type { ConnOpenEvent, Endpoint, SensorEvent } from '../source/events.ts';

export interface JsonEvent {
  type: 'connect' | 'accept' | 'data' | 'close' | 'lost' | 'exec' | 'exit';
  ts: string;
  pid?: number;
  tid?: number;
  comm?: string;
  conn?: string;
  fd?: number;
  role?: string;
  origin?: string;
  family?: string;
  local?: string;
  remote?: string;
  cgroup?: string;
  direction?: string;
  pos?: number;
  len?: number;
  captured?: number;
  payload?: string;
  syscall?: string;
  afterLoss?: boolean;
  lengthOnly?: boolean;
  tls?: boolean;
  egressBytes?: number;
  ingressBytes?: number;
  reason?: string;
  bytes?: number;
  records?: number;
  ppid?: number;
}

export function formatEndpoint(e: Endpoint): string {
  if (e.address === '') return '';
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

export function parseEndpoint(s: string | undefined): Endpoint {
  if (!s) return { address: '', port: 0 };
  const m = /^\[(.*)\]:(\d+)$/.exec(s) ?? /^([^:]*):(\d+)$/.exec(s);
  if (!m) throw new Error(`not an address:port: ${JSON.stringify(s)}`);
  return { address: m[1]!, port: Number(m[2]) };
}

/** `conn` supplies comm/role/ends for data and close lines. */
export function toJsonEvent(ev: SensorEvent, conn?: ConnOpenEvent): JsonEvent {
  const ts = ev.tsNs.toString();
  switch (ev.type) {
    case 'open':
      return {
        type: ev.role === 'server' ? 'accept' : ev.role === 'client' ? 'connect' : ev.origin === 'accept' ? 'accept' : 'connect',
        ts, pid: ev.pid, tid: ev.tid, comm: ev.comm, conn: ev.conn, fd: ev.fd, role: ev.role, origin: ev.origin,
        family: ev.family, local: formatEndpoint(ev.local), remote: formatEndpoint(ev.remote), cgroup: ev.cgroupId.toString(),
      };
    case 'data':
      return {
        type: 'data', ts, pid: ev.pid, tid: ev.tid, comm: conn?.comm, conn: ev.conn, role: conn?.role,
        direction: ev.direction, pos: ev.pos, len: ev.len, captured: ev.payload.length,
        payload: Buffer.from(ev.payload.buffer, ev.payload.byteOffset, ev.payload.byteLength).toString('base64'),
        syscall: ev.syscall, afterLoss: ev.afterLoss || undefined, lengthOnly: ev.lengthOnly || undefined, tls: ev.tls || undefined,
        local: conn ? formatEndpoint(conn.local) : undefined, remote: conn ? formatEndpoint(conn.remote) : undefined,
      };
    case 'close':
      return {
        type: 'close', ts, pid: ev.pid, tid: ev.tid, comm: conn?.comm, conn: ev.conn, role: conn?.role,
        egressBytes: ev.egressBytes, ingressBytes: ev.ingressBytes,
        local: conn ? formatEndpoint(conn.local) : undefined, remote: conn ? formatEndpoint(conn.remote) : undefined,
      };
    case 'lost':
      return { type: 'lost', ts, reason: ev.reason, conn: ev.conn, direction: ev.direction, bytes: ev.bytes, records: ev.records };
    case 'exec':
    case 'exit':
      return { type: ev.type, ts, pid: ev.pid, tid: ev.tid, ppid: ev.ppid, comm: ev.comm, cgroup: ev.cgroupId.toString() };
  }
}

function need<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new Error(`missing field "${field}"`);
  return v;
}

/** Parses one line's object back into an event; throws naming the bad field. */
export function fromJsonEvent(j: JsonEvent): SensorEvent {
  const tsNs = BigInt(need(j.ts, 'ts'));
  switch (j.type) {
    case 'connect':
    case 'accept':
      return {
        type: 'open', tsNs, pid: need(j.pid, 'pid'), tid: j.tid ?? 0, conn: need(j.conn, 'conn'), fd: j.fd ?? -1,
        comm: j.comm ?? '', role: (j.role ?? 'unknown') as ConnOpenEvent['role'],
        origin: (j.origin ?? j.type) as ConnOpenEvent['origin'],
        family: (j.family ?? 'ipv4') as ConnOpenEvent['family'],
        local: parseEndpoint(j.local), remote: parseEndpoint(j.remote), cgroupId: BigInt(j.cgroup ?? '0'),
      };
    case 'data': {
      const payload = Buffer.from(j.payload ?? '', 'base64');
      return {
        type: 'data', tsNs, pid: need(j.pid, 'pid'), tid: j.tid ?? 0, conn: need(j.conn, 'conn'),
        direction: need(j.direction, 'direction') === 'egress' ? 'egress' : 'ingress',
        pos: need(j.pos, 'pos'), len: need(j.len, 'len'), payload, syscall: j.syscall ?? 'unknown',
        afterLoss: j.afterLoss ?? false, lengthOnly: j.lengthOnly ?? false, tls: j.tls ?? false,
      };
    }
    case 'close':
      return {
        type: 'close', tsNs, pid: need(j.pid, 'pid'), tid: j.tid ?? 0, conn: need(j.conn, 'conn'),
        egressBytes: j.egressBytes ?? 0, ingressBytes: j.ingressBytes ?? 0,
      };
    case 'lost':
      return {
        type: 'lost', tsNs, reason: j.reason === 'ringbuf' ? 'ringbuf' : 'gap', conn: j.conn,
        direction: j.direction === undefined ? undefined : j.direction === 'egress' ? 'egress' : 'ingress',
        bytes: j.bytes, records: j.records,
      };
    case 'exec':
    case 'exit':
      return {
        type: j.type, tsNs, pid: need(j.pid, 'pid'), tid: j.tid ?? 0, ppid: j.ppid ?? 0, comm: j.comm ?? '',
        cgroupId: BigInt(j.cgroup ?? '0'),
      };
    default:
      throw new Error(`unknown event type ${JSON.stringify((j as { type: unknown }).type)}`);
  }
}
