/**
 * The JSON Lines form of an event: what `hydrophone capture --json` prints
 * and what a recording stores, one object per line. Lossless: parse()
 * returns the event that format() was given. Documented in README.md.
 */
import type { ConnOpenEvent, Endpoint, HeaderFieldCopy, SensorEvent } from '../source/events.ts';

export interface JsonEvent {
  type: 'connect' | 'accept' | 'data' | 'close' | 'lost' | 'exec' | 'exit' | 'headers';
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
  /** headers: an HTTP/2 header block a uprobe read (HeadersEvent). */
  streamId?: number;
  endStream?: boolean;
  fields?: JsonHeaderField[];
  fieldTotal?: number;
  listTruncated?: boolean;
  source?: string;
}

export interface JsonHeaderField {
  name: string;
  /** Absent: withheld or unreadable. */
  value?: string;
  nameTruncated?: boolean;
  valueTruncated?: boolean;
}

/** Fields a headers line may carry (the BPF event carries at most 16). */
const MAX_HEADER_FIELDS = 256;

export function formatEndpoint(e: Endpoint): string {
  if (e.address === '') return '';
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

export function parseEndpoint(s: unknown): Endpoint {
  if (s === undefined || s === '') return { address: '', port: 0 };
  if (typeof s !== 'string') throw new Error(`not an address:port: ${JSON.stringify(s)}`);
  const m = /^\[(.*)\]:(\d+)$/.exec(s) ?? /^([^:]*):(\d+)$/.exec(s);
  if (!m) throw new Error(`not an address:port: ${JSON.stringify(s)}`);
  const port = Number(m[2]);
  if (m[2]!.length > 5 || port > 65535) throw new Error(`port out of range (0-65535): ${JSON.stringify(s)}`);
  return { address: m[1]!, port };
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
    case 'headers':
      return {
        type: 'headers', ts, pid: ev.pid, tid: ev.tid, comm: conn?.comm, conn: ev.conn, role: conn?.role, direction: ev.direction,
        streamId: ev.streamId, endStream: ev.endStream || undefined, source: ev.source,
        fields: ev.fields.map((f) => ({
          name: f.name, ...(f.value !== undefined ? { value: f.value } : {}),
          ...(f.nameTruncated ? { nameTruncated: true } : {}), ...(f.valueTruncated ? { valueTruncated: true } : {}),
        })),
        fieldTotal: ev.fieldTotal, listTruncated: ev.listTruncated || undefined,
      };
  }
}

function headerFields(v: unknown): HeaderFieldCopy[] {
  if (!Array.isArray(v) || v.length > MAX_HEADER_FIELDS) throw new Error(`field "fields" is not a list of at most ${MAX_HEADER_FIELDS} header fields`);
  return v.map((f: unknown, i) => {
    if (typeof f !== 'object' || f === null) throw new Error(`field "fields[${i}]" is not an object`);
    const o = f as Record<string, unknown>;
    return {
      name: text(o.name, `fields[${i}].name`),
      value: o.value === undefined ? undefined : text(o.value, `fields[${i}].value`),
      nameTruncated: flag(o.nameTruncated, `fields[${i}].nameTruncated`),
      valueTruncated: flag(o.valueTruncated, `fields[${i}].valueTruncated`),
    };
  });
}

function need<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new Error(`missing field "${field}"`);
  return v;
}

/** Parses one line's object back into an event; throws naming the bad field. */
// A recording is a file anyone can hand the sensor: every field is checked
// for type and range as it is read, so a damaged or hostile line stops the
// replay with its line number instead of crashing the span builder or
// hanging reassembly further on (both found by fuzzing).
function count(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`field "${field}" is not a count: ${JSON.stringify(v)}`);
  return v;
}
function optCount(v: unknown, field: string, fallback: number): number {
  return v === undefined ? fallback : count(v, field);
}
function text(v: unknown, field: string, nonEmpty = false): string {
  if (typeof v !== 'string' || (nonEmpty && v === '')) throw new Error(`field "${field}" is not ${nonEmpty ? 'a non-empty string' : 'a string'}: ${JSON.stringify(v)}`);
  return v;
}
function oneOf<T extends string>(v: unknown, field: string, values: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(values as readonly unknown[]).includes(v)) throw new Error(`field "${field}" is not one of ${values.join(', ')}: ${JSON.stringify(v)}`);
  return v as T;
}
function flag(v: unknown, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new Error(`field "${field}" is not true or false: ${JSON.stringify(v)}`);
  return v;
}
function nanoseconds(v: unknown, field: string): bigint {
  const t = typeof v === 'number' ? String(v) : v;
  if (typeof t !== 'string' || !/^\d{1,20}$/.test(t)) throw new Error(`field "${field}" is not a time in nanoseconds: ${JSON.stringify(v)}`);
  return BigInt(t);
}

export function fromJsonEvent(j: JsonEvent): SensorEvent {
  const tsNs = nanoseconds(need(j.ts, 'ts'), 'ts');
  switch (j.type) {
    case 'connect':
    case 'accept':
      return {
        type: 'open', tsNs, pid: count(need(j.pid, 'pid'), 'pid'), tid: optCount(j.tid, 'tid', 0), conn: text(need(j.conn, 'conn'), 'conn', true),
        fd: j.fd === undefined ? -1 : Number.isSafeInteger(j.fd) ? j.fd : count(j.fd, 'fd'),
        comm: j.comm === undefined ? '' : text(j.comm, 'comm'), role: oneOf(j.role, 'role', ['client', 'server', 'unknown'] as const, 'unknown'),
        origin: oneOf(j.origin, 'origin', ['connect', 'accept', 'existing'] as const, j.type),
        family: oneOf(j.family, 'family', ['ipv4', 'ipv6', 'unix'] as const, 'ipv4'),
        local: parseEndpoint(j.local), remote: parseEndpoint(j.remote), cgroupId: nanoseconds(j.cgroup ?? '0', 'cgroup'),
      };
    case 'data': {
      const payload = Buffer.from(j.payload === undefined ? '' : text(j.payload, 'payload'), 'base64');
      const len = count(need(j.len, 'len'), 'len');
      if (payload.length > len) throw new Error(`field "payload" holds ${payload.length} bytes, more than len ${len}`);
      return {
        type: 'data', tsNs, pid: count(need(j.pid, 'pid'), 'pid'), tid: optCount(j.tid, 'tid', 0), conn: text(need(j.conn, 'conn'), 'conn', true),
        direction: oneOf(need(j.direction, 'direction'), 'direction', ['egress', 'ingress'] as const, 'ingress'),
        pos: count(need(j.pos, 'pos'), 'pos'), len, payload, syscall: j.syscall === undefined ? 'unknown' : text(j.syscall, 'syscall'),
        afterLoss: flag(j.afterLoss, 'afterLoss'), lengthOnly: flag(j.lengthOnly, 'lengthOnly'), tls: flag(j.tls, 'tls'),
      };
    }
    case 'close':
      return {
        type: 'close', tsNs, pid: count(need(j.pid, 'pid'), 'pid'), tid: optCount(j.tid, 'tid', 0), conn: text(need(j.conn, 'conn'), 'conn', true),
        egressBytes: optCount(j.egressBytes, 'egressBytes', 0), ingressBytes: optCount(j.ingressBytes, 'ingressBytes', 0),
      };
    case 'lost':
      return {
        type: 'lost', tsNs, reason: j.reason === 'ringbuf' ? 'ringbuf' : 'gap', conn: j.conn === undefined ? undefined : text(j.conn, 'conn', true),
        direction: j.direction === undefined ? undefined : oneOf(j.direction, 'direction', ['egress', 'ingress'] as const, 'ingress'),
        bytes: j.bytes === undefined ? undefined : count(j.bytes, 'bytes'), records: j.records === undefined ? undefined : count(j.records, 'records'),
      };
    case 'exec':
    case 'exit':
      return {
        type: j.type, tsNs, pid: count(need(j.pid, 'pid'), 'pid'), tid: optCount(j.tid, 'tid', 0), ppid: optCount(j.ppid, 'ppid', 0),
        comm: j.comm === undefined ? '' : text(j.comm, 'comm'), cgroupId: nanoseconds(j.cgroup ?? '0', 'cgroup'),
      };
    case 'headers': {
      const fields = headerFields(need(j.fields, 'fields'));
      return {
        type: 'headers', tsNs, pid: count(need(j.pid, 'pid'), 'pid'), tid: optCount(j.tid, 'tid', 0), conn: text(need(j.conn, 'conn'), 'conn', true),
        direction: oneOf(need(j.direction, 'direction'), 'direction', ['egress', 'ingress'] as const, 'ingress'),
        streamId: count(need(j.streamId, 'streamId'), 'streamId'), endStream: flag(j.endStream, 'endStream'), fields,
        fieldTotal: Math.max(fields.length, optCount(j.fieldTotal, 'fieldTotal', fields.length)), listTruncated: flag(j.listTruncated, 'listTruncated'),
        source: j.source === undefined ? 'unknown' : text(j.source, 'source'),
      };
    }
    default:
      throw new Error(`unknown event type ${JSON.stringify((j as { type: unknown }).type)}`);
  }
}
