import { describe, expect, it } from 'vitest';
import { decodeBatch, type DecodeStats } from './decoder.ts';
import { Offsets as O, Sizes, EventKind, Enums } from './eventLayout.ts';
import type { DataEvent, HeadersEvent, SensorEvent } from '../events.ts';

/** Frames records the way the addon does: [u32 len][u32 0][bytes][pad to 8]. */
function batch(...records: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(r.length, 0);
    parts.push(head, r, Buffer.alloc((8 - (r.length % 8)) % 8));
  }
  return Buffer.concat(parts);
}

function header(buf: Buffer, kind: number, tid: number, ts: bigint): void {
  buf[O['hp_event_header.kind']] = kind;
  buf.writeUInt32LE(tid, O['hp_event_header.tid']);
  buf.writeBigUInt64LE(ts, O['hp_event_header.ts_ns']);
}

function conn(buf: Buffer, at: number, tgid: number, fd: number, gen: bigint): void {
  buf.writeUInt32LE(tgid, at + O['hp_conn_id.tgid']);
  buf.writeInt32LE(fd, at + O['hp_conn_id.fd']);
  buf.writeBigUInt64LE(gen, at + O['hp_conn_id.gen']);
}

function openRecord(): Buffer {
  const b = Buffer.alloc(Sizes.hp_conn_open_event);
  header(b, EventKind.connOpen, 101, 5000n);
  conn(b, O['hp_conn_open_event.conn'], 100, 7, 42n);
  const t = O['hp_conn_open_event.tuple'];
  Buffer.from([127, 0, 0, 1]).copy(b, t + O['hp_tuple.local_addr']);
  Buffer.from([10, 1, 2, 3]).copy(b, t + O['hp_tuple.remote_addr']);
  b.writeUInt16LE(8080, t + O['hp_tuple.local_port']);
  b.writeUInt16LE(40000, t + O['hp_tuple.remote_port']);
  b.writeUInt16LE(Enums.HP_AF_INET, t + O['hp_tuple.family']);
  b.writeBigUInt64LE(9n, O['hp_conn_open_event.cgroup_id']);
  b.write('nginx', O['hp_conn_open_event.comm']);
  b[O['hp_conn_open_event.role']] = Enums.HP_ROLE_SERVER;
  b[O['hp_conn_open_event.origin']] = Enums.HP_ORIGIN_ACCEPT;
  return b;
}

function dataRecord(payload: string, pos: bigint, len: number, flags = 0, captured = payload.length): Buffer {
  const b = Buffer.alloc(Sizes.hp_data_event + payload.length);
  header(b, EventKind.data, 101, 6000n);
  conn(b, O['hp_data_event.conn'], 100, 7, 42n);
  b.writeBigUInt64LE(pos, O['hp_data_event.pos']);
  b.writeUInt32LE(len, O['hp_data_event.len']);
  b.writeUInt32LE(captured, O['hp_data_event.captured']);
  b[O['hp_data_event.direction']] = Enums.HP_DIR_INGRESS;
  b[O['hp_data_event.syscall']] = 6; // recvfrom
  b[O['hp_data_event.flags']] = flags;
  b.write(payload, Sizes.hp_data_event);
  return b;
}

/** A header event record carrying `fields` as [name, value, flags]; fieldTotal defaults to their count. */
function headersRecord(fields: Array<[string, string, number]>, o: { flags?: number; total?: number; count?: number } = {}): Buffer {
  const b = Buffer.alloc(O['hp_h2_headers_event.fields'] + fields.length * Sizes.hp_h2_header_field);
  header(b, EventKind.h2Headers, 101, 7000n);
  conn(b, O['hp_h2_headers_event.conn'], 100, 7, 42n);
  b.writeUInt32LE(5, O['hp_h2_headers_event.stream_id']);
  b.writeUInt32LE(o.total ?? fields.length, O['hp_h2_headers_event.field_total']);
  b[O['hp_h2_headers_event.direction']] = Enums.HP_DIR_INGRESS;
  b[O['hp_h2_headers_event.flags']] = o.flags ?? 0;
  b[O['hp_h2_headers_event.probe']] = Enums.HP_H2_GRPC_CLIENT_READ;
  b[O['hp_h2_headers_event.field_count']] = o.count ?? fields.length;
  fields.forEach(([name, value, flags], i) => {
    const f = O['hp_h2_headers_event.fields'] + i * Sizes.hp_h2_header_field;
    b.writeUInt16LE(Buffer.byteLength(name), f + O['hp_h2_header_field.name_len']);
    b.writeUInt16LE(Buffer.byteLength(value), f + O['hp_h2_header_field.value_len']);
    b[f + O['hp_h2_header_field.flags']] = flags;
    b.write(name, f + O['hp_h2_header_field.name']);
    b.write(value, f + O['hp_h2_header_field.value']);
  });
  return b;
}

function decode(b: Buffer): { events: SensorEvent[]; stats: DecodeStats } {
  const events: SensorEvent[] = [];
  const stats = { records: 0, malformed: 0 };
  decodeBatch(b, (ns) => ns + 1_000_000_000n, events, stats);
  return { events, stats };
}

describe('decodeBatch', () => {
  it('decodes a connection open with its tuple, comm and role', () => {
    const { events, stats } = decode(batch(openRecord()));
    expect(stats).toEqual({ records: 1, malformed: 0 });
    expect(events[0]).toEqual({
      type: 'open', tsNs: 1_000_005_000n, pid: 100, tid: 101, conn: '100-7-42', fd: 7, comm: 'nginx',
      role: 'server', origin: 'accept', family: 'ipv4',
      local: { address: '127.0.0.1', port: 8080 }, remote: { address: '10.1.2.3', port: 40000 }, cgroupId: 9n,
    });
  });

  it('decodes data with position, length, payload and flags, records of odd sizes in one batch', () => {
    const { events, stats } = decode(batch(dataRecord('GET /', 0n, 5), dataRecord('abc', 5n, 100_000, Enums.HP_DATA_AFTER_LOSS)));
    expect(stats.malformed).toBe(0);
    expect(events).toHaveLength(2);
    const [a, b] = events as DataEvent[];
    expect(Buffer.from(a!.payload).toString()).toBe('GET /');
    expect(a).toMatchObject({ conn: '100-7-42', direction: 'ingress', pos: 0, len: 5, syscall: 'recvfrom', afterLoss: false });
    expect(b).toMatchObject({ pos: 5, len: 100_000, afterLoss: true, lengthOnly: false });
    expect(b!.payload.length).toBe(3);
  });

  it('decodes a header event: stream, flags, fields, truncation and withheld values marked', () => {
    const { events, stats } = decode(batch(headersRecord([
      [':status', '200', 0],
      ['grpc-status', '0', 0],
      ['authorization', '', Enums.HP_H2_VALUE_WITHHELD],
      ['x-long', 'v'.repeat(Enums.HP_H2_VALUE_MAX), Enums.HP_H2_VALUE_TRUNCATED],
      ['', '', Enums.HP_H2_UNREADABLE],
    ], { flags: Enums.HP_H2_END_STREAM | Enums.HP_H2_FIELDS_TRUNCATED, total: 30 })));
    expect(stats).toEqual({ records: 1, malformed: 0 });
    const ev = events[0] as HeadersEvent;
    expect(ev).toMatchObject({
      type: 'headers', tsNs: 1_000_007_000n, pid: 100, tid: 101, conn: '100-7-42', direction: 'ingress', streamId: 5,
      endStream: true, fieldTotal: 30, listTruncated: false, source: 'grpc_client_read',
    });
    expect(ev.fields).toEqual([
      { name: ':status', value: '200', nameTruncated: false, valueTruncated: false },
      { name: 'grpc-status', value: '0', nameTruncated: false, valueTruncated: false },
      { name: 'authorization', value: undefined, nameTruncated: false, valueTruncated: false },
      { name: 'x-long', value: 'v'.repeat(Enums.HP_H2_VALUE_MAX), nameTruncated: false, valueTruncated: true },
      { name: '', value: undefined, nameTruncated: true, valueTruncated: false },
    ]);
  });

  it.each([
    ['a record shorter than its kind', batch(Buffer.from([EventKind.data, 0, 0, 0]))],
    ['an unknown kind', batch(Buffer.alloc(64, 0x7f))],
    ['a data record claiming more payload than it has', batch(dataRecord('ab', 0n, 10, 0, 500))],
    ['a header record claiming more fields than it has', batch(headersRecord([['a', 'b', 0]], { count: 2 }))],
    ['a header record claiming more fields than any can carry', batch(headersRecord([['a', 'b', 0]], { count: 200 }))],
  ])('counts %s as malformed instead of throwing', (_what, b) => {
    const { events, stats } = decode(b);
    expect(events).toEqual([]);
    expect(stats.malformed).toBe(1);
  });

  it('stops at a truncated batch, keeping what came before', () => {
    const whole = batch(dataRecord('first', 0n, 5), dataRecord('second', 5n, 6));
    const { events, stats } = decode(whole.subarray(0, whole.length - 20));
    expect(events).toHaveLength(1);
    expect(stats.malformed).toBe(1);
  });
});
