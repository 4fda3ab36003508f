import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SensorEvent } from '../source/events.ts';
import { RecordingWriter } from './recordingWriter.ts';
import { readRecording } from './recordingReader.ts';
import { fromJsonEvent, toJsonEvent } from './jsonEvent.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-rec-'));

const EVENTS: SensorEvent[] = [
  { type: 'exec', tsNs: 1n, pid: 10, tid: 10, ppid: 1, comm: 'curl', cgroupId: 77n },
  {
    type: 'open', tsNs: 2n, pid: 10, tid: 11, conn: '10-3-99', fd: 3, comm: 'curl', role: 'client', origin: 'connect',
    family: 'ipv6', local: { address: '::1', port: 50000 }, remote: { address: '::1', port: 443 }, cgroupId: 77n,
  },
  {
    type: 'data', tsNs: 3n, pid: 10, tid: 11, conn: '10-3-99', direction: 'egress', pos: 0, len: 70000,
    payload: Buffer.from([0, 1, 2, 255, 10]), syscall: 'writev', afterLoss: false, lengthOnly: false, tls: false,
  },
  { type: 'lost', tsNs: 4n, reason: 'gap', conn: '10-3-99', direction: 'ingress', bytes: 12 },
  { type: 'lost', tsNs: 5n, reason: 'ringbuf', records: 3 },
  {
    type: 'headers', tsNs: 5n, pid: 10, tid: 11, conn: '10-3-99', direction: 'ingress', streamId: 3, endStream: true, fieldTotal: 20,
    listTruncated: false, source: 'grpc_client_read',
    fields: [
      { name: 'grpc-status', value: '0', nameTruncated: false, valueTruncated: false },
      { name: 'authorization', value: undefined, nameTruncated: false, valueTruncated: false },
      { name: 'x-long', value: 'vvv', nameTruncated: false, valueTruncated: true },
    ],
  },
  { type: 'close', tsNs: 6n, pid: 10, tid: 11, conn: '10-3-99', egressBytes: 70000, ingressBytes: 12 },
  { type: 'exit', tsNs: 7n, pid: 10, tid: 10, ppid: 1, comm: 'curl', cgroupId: 77n },
];

function normalise(evs: readonly SensorEvent[]): unknown[] {
  return evs.map((e) => (e.type === 'data' ? { ...e, payload: [...e.payload] } : e));
}

describe('JSON event form', () => {
  it.each(EVENTS.map((e) => [e.type, e] as const))('%s survives a round trip', (_t, ev) => {
    const back = fromJsonEvent(JSON.parse(JSON.stringify(toJsonEvent(ev))));
    expect(normalise([back])).toEqual(normalise([ev]));
  });

  it('names the missing field', () => {
    expect(() => fromJsonEvent({ type: 'data', ts: '1', pid: 1, conn: 'x', direction: 'egress', len: 1 })).toThrow('missing field "pos"');
  });
});

describe('recordings', () => {
  it('replays exactly what was written, in order', async () => {
    const file = path.join(dir, 'round.hprec');
    const w = new RecordingWriter(file, { attach: 'tracepoint', captureBytes: 16384 });
    w.write(EVENTS.slice(0, 3));
    w.write(EVENTS.slice(3));
    await w.close();
    const got: SensorEvent[] = [];
    for await (const b of readRecording(file, 2)) got.push(...b);
    expect(normalise(got)).toEqual(normalise(EVENTS));
  });

  it.each([
    ['an empty file', '', /empty file/],
    ['a pcap', '\xd4\xc3\xb2\xa1garbage', /line 1 is not a recording header: not JSON/],
    ['another JSON file', '{"hello":1}\n', /format undefined, expected "hydrophone-recording"/],
    ['a newer version', '{"format":"hydrophone-recording","version":99}\n', /version 99 is not supported/],
    ['a bad event line', '{"format":"hydrophone-recording","version":1,"abi":1}\n{"type":"close","ts":"1","pid":1,"conn":"c"}\n{"type":"nope","ts":"1"}\n', /line 3: unknown event type "nope"/],
  ])('rejects %s with a clear error', async (_what, text, message) => {
    const file = path.join(dir, `bad-${Math.random()}.hprec`);
    writeFileSync(file, text, 'latin1');
    const got: SensorEvent[] = [];
    await expect(async () => {
      for await (const b of readRecording(file)) got.push(...b);
    }).rejects.toThrow(message);
    if (_what === 'a bad event line') expect(got.map((e) => e.type)).toEqual(['close']);
  });
});
