/**
 * Turns the addon's record batches into the event model. One pass over one
 * Buffer; payloads are views into it (no copy), so a consumer that keeps a
 * payload past the batch keeps the batch alive, not a copy of it.
 */
import type { ConnOpenEvent, DataEvent, Endpoint, HeaderFieldCopy, HeadersEvent, Role, Origin, SensorEvent } from '../events.ts';
import { BATCH_RECORD_HEADER, Enums, EventKind, H2ProbeNames, Offsets as O, Sizes, SyscallNames } from './eventLayout.ts';
import { formatAddress, isV4Mapped } from './address.ts';

const ROLES: Record<number, Role> = { 0: 'unknown', 1: 'client', 2: 'server' };
const ORIGINS: Record<number, Origin> = { 1: 'connect', 2: 'accept', 3: 'existing' };

/** Converts the kernel's CLOCK_MONOTONIC nanoseconds to wall-clock. */
export type ClockConverter = (monotonicNs: bigint) => bigint;

export interface DecodeStats {
  records: number;
  /** Records too short for their kind or of an unknown kind: a bug or ABI drift. */
  malformed: number;
}

const decoderText = new TextDecoder();

function cString(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return decoderText.decode(buf.subarray(start, end < 0 || end > start + len ? start + len : end));
}

export function connKey(tgid: number, fd: number, gen: bigint): string {
  return `${tgid}-${fd}-${gen}`;
}

function readConn(buf: Buffer, at: number): { pid: number; fd: number; conn: string } {
  const pid = buf.readUInt32LE(at + O['hp_conn_id.tgid']);
  const fd = buf.readInt32LE(at + O['hp_conn_id.fd']);
  const gen = buf.readBigUInt64LE(at + O['hp_conn_id.gen']);
  return { pid, fd, conn: connKey(pid, fd, gen) };
}

function readEndpoint(buf: Buffer, tuple: number, family: number, addrOff: number, port: number): Endpoint {
  return { address: formatAddress(buf.subarray(tuple + addrOff, tuple + addrOff + 16), family), port };
}

function decodeOpen(buf: Buffer, r: number, tid: number, tsNs: bigint): ConnOpenEvent {
  const { pid, fd, conn } = readConn(buf, r + O['hp_conn_open_event.conn']);
  const t = r + O['hp_conn_open_event.tuple'];
  const family = buf.readUInt16LE(t + O['hp_tuple.family']);
  const remoteAddr = buf.subarray(t + O['hp_tuple.remote_addr'], t + O['hp_tuple.remote_addr'] + 16);
  // A dual-stack socket talking to an IPv4 peer carries IPv4 traffic.
  const v4 = family === Enums.HP_AF_INET || (family === Enums.HP_AF_INET6 && isV4Mapped(remoteAddr));
  return {
    type: 'open',
    tsNs, pid, tid, conn, fd,
    comm: cString(buf, r + O['hp_conn_open_event.comm'], Enums.HP_COMM_LEN),
    role: ROLES[buf[r + O['hp_conn_open_event.role']]!] ?? 'unknown',
    origin: ORIGINS[buf[r + O['hp_conn_open_event.origin']]!] ?? 'existing',
    family: v4 ? 'ipv4' : family === Enums.HP_AF_INET6 ? 'ipv6' : 'unix',
    local: readEndpoint(buf, t, family, O['hp_tuple.local_addr'], buf.readUInt16LE(t + O['hp_tuple.local_port'])),
    remote: readEndpoint(buf, t, family, O['hp_tuple.remote_addr'], buf.readUInt16LE(t + O['hp_tuple.remote_port'])),
    cgroupId: buf.readBigUInt64LE(r + O['hp_conn_open_event.cgroup_id']),
  };
}

function decodeData(buf: Buffer, r: number, end: number, tid: number, tsNs: bigint): DataEvent | undefined {
  const { pid, conn } = readConn(buf, r + O['hp_data_event.conn']);
  const captured = buf.readUInt32LE(r + O['hp_data_event.captured']);
  const payloadStart = r + Sizes.hp_data_event;
  if (payloadStart + captured > end) return undefined;
  const flags = buf[r + O['hp_data_event.flags']]!;
  return {
    type: 'data',
    tsNs, pid, tid, conn,
    direction: buf[r + O['hp_data_event.direction']] === Enums.HP_DIR_EGRESS ? 'egress' : 'ingress',
    pos: Number(buf.readBigUInt64LE(r + O['hp_data_event.pos'])),
    len: buf.readUInt32LE(r + O['hp_data_event.len']),
    payload: buf.subarray(payloadStart, payloadStart + captured),
    syscall: SyscallNames[buf[r + O['hp_data_event.syscall']]!] ?? 'unknown',
    afterLoss: (flags & Enums.HP_DATA_AFTER_LOSS) !== 0,
    lengthOnly: (flags & Enums.HP_DATA_LENGTH_ONLY) !== 0,
    tls: (flags & Enums.HP_DATA_TLS) !== 0,
  };
}

/** Bytes of a header event before its fields. */
const H2_FIXED = O['hp_h2_headers_event.fields'];

/** A header event: its carried fields (the record ends after the last one). */
function decodeHeaders(buf: Buffer, r: number, end: number, tid: number, tsNs: bigint): HeadersEvent | undefined {
  const { pid, conn } = readConn(buf, r + O['hp_h2_headers_event.conn']);
  const count = buf[r + O['hp_h2_headers_event.field_count']]!;
  if (count > Enums.HP_H2_MAX_FIELDS || r + H2_FIXED + count * Sizes.hp_h2_header_field > end) return undefined;
  const fields: HeaderFieldCopy[] = [];
  for (let i = 0; i < count; i++) {
    const f = r + H2_FIXED + i * Sizes.hp_h2_header_field;
    const flags = buf[f + O['hp_h2_header_field.flags']]!;
    const nameLen = buf.readUInt16LE(f + O['hp_h2_header_field.name_len']);
    const valueLen = buf.readUInt16LE(f + O['hp_h2_header_field.value_len']);
    if (nameLen > Enums.HP_H2_NAME_MAX || valueLen > Enums.HP_H2_VALUE_MAX) return undefined;
    const unreadable = (flags & Enums.HP_H2_UNREADABLE) !== 0;
    const nameAt = f + O['hp_h2_header_field.name'];
    const valueAt = f + O['hp_h2_header_field.value'];
    fields.push({
      name: unreadable ? '' : decoderText.decode(buf.subarray(nameAt, nameAt + nameLen)),
      value: unreadable || (flags & Enums.HP_H2_VALUE_WITHHELD) ? undefined : decoderText.decode(buf.subarray(valueAt, valueAt + valueLen)),
      nameTruncated: unreadable || (flags & Enums.HP_H2_NAME_TRUNCATED) !== 0,
      valueTruncated: (flags & Enums.HP_H2_VALUE_TRUNCATED) !== 0,
    });
  }
  const flags = buf[r + O['hp_h2_headers_event.flags']]!;
  return {
    type: 'headers',
    tsNs, pid, tid, conn,
    direction: buf[r + O['hp_h2_headers_event.direction']] === Enums.HP_DIR_EGRESS ? 'egress' : 'ingress',
    streamId: buf.readUInt32LE(r + O['hp_h2_headers_event.stream_id']),
    endStream: (flags & Enums.HP_H2_END_STREAM) !== 0,
    fields,
    fieldTotal: Math.max(count, buf.readUInt32LE(r + O['hp_h2_headers_event.field_total'])),
    listTruncated: (flags & Enums.HP_H2_LIST_TRUNCATED) !== 0,
    source: H2ProbeNames[buf[r + O['hp_h2_headers_event.probe']]!] ?? 'unknown',
  };
}

const MIN_SIZE: Record<number, number> = {
  [EventKind.connOpen]: Sizes.hp_conn_open_event,
  [EventKind.data]: Sizes.hp_data_event,
  [EventKind.connClose]: Sizes.hp_conn_close_event,
  [EventKind.procExec]: Sizes.hp_proc_event,
  [EventKind.procExit]: Sizes.hp_proc_event,
  [EventKind.h2Headers]: H2_FIXED,
};

/** Decodes one batch; appends to `out` and updates `stats`. */
export function decodeBatch(batch: Buffer, toWallClock: ClockConverter, out: SensorEvent[], stats: DecodeStats): void {
  let at = 0;
  while (at + BATCH_RECORD_HEADER <= batch.length) {
    const len = batch.readUInt32LE(at);
    const r = at + BATCH_RECORD_HEADER;
    const end = r + len;
    at = end + ((8 - (len % 8)) % 8);
    if (end > batch.length) {
      stats.malformed++;
      return;
    }
    stats.records++;
    const kind = batch[r]!;
    const min = MIN_SIZE[kind];
    if (min === undefined || len < min) {
      stats.malformed++;
      continue;
    }
    const tid = batch.readUInt32LE(r + O['hp_event_header.tid']);
    const tsNs = toWallClock(batch.readBigUInt64LE(r + O['hp_event_header.ts_ns']));
    switch (kind) {
      case EventKind.connOpen:
        out.push(decodeOpen(batch, r, tid, tsNs));
        break;
      case EventKind.data: {
        const ev = decodeData(batch, r, end, tid, tsNs);
        if (ev) out.push(ev);
        else stats.malformed++;
        break;
      }
      case EventKind.connClose: {
        const { pid, conn } = readConn(batch, r + O['hp_conn_close_event.conn']);
        out.push({
          type: 'close', tsNs, pid, tid, conn,
          egressBytes: Number(batch.readBigUInt64LE(r + O['hp_conn_close_event.egress_bytes'])),
          ingressBytes: Number(batch.readBigUInt64LE(r + O['hp_conn_close_event.ingress_bytes'])),
        });
        break;
      }
      case EventKind.h2Headers: {
        const ev = decodeHeaders(batch, r, end, tid, tsNs);
        if (ev) out.push(ev);
        else stats.malformed++;
        break;
      }
      case EventKind.procExec:
      case EventKind.procExit:
        out.push({
          type: kind === EventKind.procExec ? 'exec' : 'exit',
          tsNs, tid,
          pid: batch.readUInt32LE(r + O['hp_proc_event.tgid']),
          ppid: batch.readUInt32LE(r + O['hp_proc_event.ppid']),
          cgroupId: batch.readBigUInt64LE(r + O['hp_proc_event.cgroup_id']),
          comm: cString(batch, r + O['hp_proc_event.comm'], Enums.HP_COMM_LEN),
        });
        break;
    }
  }
}
