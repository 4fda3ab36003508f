/**
 * The recording reader (readRecording, what `hydrophone replay` reads for
 * a recording) on damaged recordings: real ones (test/recordings) with
 * fields set to values of the wrong type or range, keys dropped, lines
 * cut, repeated, swapped or replaced, and bytes flipped. The reader either
 * yields events or stops with a RecordingError; what it yields is a
 * well-typed SensorEvent (the pipeline trusts the types); and the pipeline
 * fed with whatever it yields neither throws nor makes malformed spans.
 */
import fc from 'fast-check';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { readRecording, RecordingError } from '../../src/recording/recordingReader.ts';
import type { SensorEvent } from '../../src/source/events.ts';
import type { Span } from '../../src/spans/span.ts';
import type { Corpus } from './corpus.ts';
import { scratchFile, writeScratch } from './scratchFiles.ts';
import { type FuzzProperty, guardedAsync, seedFrom, withinTime } from './fuzzProperty.ts';
import { checkSpan, Violation } from './wellFormed.ts';

/** JSON values of every type, and the numbers and strings that break naive readers. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0.5, 1e21, 2 ** 53, -(2 ** 53), '', ' ', '-1', 'abc', '1e3', '0x10', '9'.repeat(40), '[::1]:99999', ':', '[', 'egress', 'ingress', [], {}, [1], { a: 1 }),
  fc.integer(),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export type RecordingMutation =
  | { readonly kind: 'field'; readonly line: number; readonly key: number; readonly value: unknown }
  | { readonly kind: 'dropKey'; readonly line: number; readonly key: number }
  | { readonly kind: 'header'; readonly value: unknown }
  | { readonly kind: 'cutLine'; readonly line: number; readonly at: number }
  | { readonly kind: 'repeatLine'; readonly line: number }
  | { readonly kind: 'swapLines'; readonly line: number }
  | { readonly kind: 'insertLine'; readonly line: number; readonly text: string }
  | { readonly kind: 'flip'; readonly line: number; readonly at: number; readonly bit: number };

const index = fc.nat({ max: 1 << 16 });

const mutationArb: fc.Arbitrary<RecordingMutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('field' as const), line: index, key: index, value: hostileJson }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dropKey' as const), line: index, key: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('header' as const), value: fc.oneof(hostileJson, fc.constant({ format: 'hydrophone-recording', version: 2 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cutLine' as const), line: index, at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeatLine' as const), line: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swapLines' as const), line: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insertLine' as const), line: index, text: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), line: index, at: index, bit: fc.nat({ max: 6 }) }) },
);

/** Lines of events kept per case: enough for whole exchanges, quick to read. */
const MAX_LINES = 40;

export function mutateRecording(original: readonly string[], mutations: readonly RecordingMutation[]): string {
  const lines = original.slice(0, MAX_LINES);
  // Events only (line 0 is the header, mutated by its own kind).
  const pick = (n: number) => 1 + (n % Math.max(1, lines.length - 1));
  for (const m of mutations) {
    if (m.kind === 'header') {
      lines[0] = JSON.stringify(m.value) ?? 'undefined';
      continue;
    }
    const i = pick(m.line);
    const line = lines[i];
    if (line === undefined) continue;
    switch (m.kind) {
      case 'field':
      case 'dropKey': {
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // an earlier mutation broke this line's JSON
        }
        if (obj === null || typeof obj !== 'object') continue;
        const keys = Object.keys(obj);
        const key = keys[m.key % Math.max(1, keys.length)];
        if (key === undefined) continue;
        if (m.kind === 'field') obj[key] = m.value;
        else delete obj[key];
        lines[i] = JSON.stringify(obj);
        break;
      }
      case 'cutLine':
        lines[i] = line.slice(0, m.at % (line.length + 1));
        break;
      case 'repeatLine':
        lines.splice(i, 0, line);
        break;
      case 'swapLines':
        if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, line];
        break;
      case 'insertLine':
        lines.splice(i, 0, m.text);
        break;
      case 'flip': {
        const b = Buffer.from(line, 'utf8');
        if (b.length > 0) b[m.at % b.length]! ^= 1 << m.bit;
        lines[i] = b.toString('utf8');
        break;
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

const ROLES = new Set(['client', 'server', 'unknown']);
const ORIGINS = new Set(['connect', 'accept', 'existing']);
const FAMILIES = new Set(['ipv4', 'ipv6', 'unix']);
const DIRECTIONS = new Set(['egress', 'ingress']);

function need(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new Violation(`the reader yielded an event whose ${what}: ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 200)}`);
}

const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const port = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;

/** Every field of a SensorEvent has the type and range events.ts gives it. */
export function checkSensorEvent(ev: SensorEvent): void {
  need(typeof ev.tsNs === 'bigint' && ev.tsNs >= 0n, 'tsNs is not a non-negative bigint', ev.tsNs);
  if (ev.type === 'lost') {
    need(ev.bytes === undefined || count(ev.bytes), 'lost bytes is not a count', ev.bytes);
    need(ev.records === undefined || count(ev.records), 'lost records is not a count', ev.records);
    need(ev.conn === undefined || typeof ev.conn === 'string', 'lost conn is not a string', ev.conn);
    return;
  }
  need(count(ev.pid) && count(ev.tid), 'pid or tid is not a count', [ev.pid, ev.tid]);
  switch (ev.type) {
    case 'open':
      need(typeof ev.conn === 'string' && ev.conn !== '', 'conn is not a non-empty string', ev.conn);
      need(Number.isInteger(ev.fd), 'fd is not an integer', ev.fd);
      need(typeof ev.comm === 'string', 'comm is not a string', ev.comm);
      need(ROLES.has(ev.role) && ORIGINS.has(ev.origin) && FAMILIES.has(ev.family), 'role, origin or family is not one of its values', [ev.role, ev.origin, ev.family]);
      need(typeof ev.local.address === 'string' && port(ev.local.port) && typeof ev.remote.address === 'string' && port(ev.remote.port), 'local or remote is not an address and port', [ev.local, ev.remote]);
      need(typeof ev.cgroupId === 'bigint', 'cgroupId is not a bigint', ev.cgroupId);
      return;
    case 'data':
      need(typeof ev.conn === 'string' && ev.conn !== '', 'conn is not a non-empty string', ev.conn);
      need(DIRECTIONS.has(ev.direction), 'direction is not egress or ingress', ev.direction);
      need(count(ev.pos) && count(ev.len), 'pos or len is not a count', [ev.pos, ev.len]);
      need(ev.payload instanceof Uint8Array && ev.payload.length <= ev.len, 'payload is longer than len', [ev.payload.length, ev.len]);
      need(typeof ev.afterLoss === 'boolean' && typeof ev.lengthOnly === 'boolean' && typeof ev.tls === 'boolean', 'flags are not booleans', [ev.afterLoss, ev.lengthOnly, ev.tls]);
      need(typeof ev.syscall === 'string', 'syscall is not a string', ev.syscall);
      return;
    case 'close':
      need(typeof ev.conn === 'string' && ev.conn !== '', 'conn is not a non-empty string', ev.conn);
      need(count(ev.egressBytes) && count(ev.ingressBytes), 'byte counts are not counts', [ev.egressBytes, ev.ingressBytes]);
      return;
    case 'exec':
    case 'exit':
      need(count(ev.ppid) && typeof ev.comm === 'string' && typeof ev.cgroupId === 'bigint', 'ppid, comm or cgroupId has the wrong type', [ev.ppid, ev.comm, ev.cgroupId]);
      return;
    default:
      need(false, 'type is not an event type', (ev as { type: unknown }).type);
  }
}

/**
 * Positions that are not numbers hang the pipeline (the known bug pinned by
 * "recordings: a data line whose len is a string does not hang the
 * replay"): such an event is reported as the reader's fault instead of being
 * fed to a pipeline that would never return, and would stop the suite.
 */
function refuseHangingPositions(ev: SensorEvent): void {
  if (ev.type === 'data') need(typeof ev.pos === 'number' && typeof ev.len === 'number', 'pos or len is not a number (it would hang the pipeline)', [ev.pos, ev.len]);
}

/**
 * Reads a recording file; a RecordingError is returned, anything else
 * thrown. `onBatch` sees each batch (checks, a pipeline).
 */
export async function readRecordingFile(file: string, onBatch: (batch: readonly SensorEvent[]) => void): Promise<RecordingError | undefined> {
  try {
    for await (const batch of readRecording(file)) onBatch(batch);
    return undefined;
  } catch (err) {
    if (err instanceof RecordingError) return err;
    if (err instanceof Violation) throw err;
    throw new Violation(`reading ${file} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}, not a RecordingError\n${err instanceof Error ? err.stack : ''}`);
  }
}

export function recordingProperties(corpus: Corpus): FuzzProperty[] {
  if (corpus.recordings.length === 0) return [];
  const recording = seedFrom(corpus.recordings, (r) => r.name);
  const mutations = fc.array(mutationArb, { minLength: 1, maxLength: 4 });
  const file = scratchFile('mutated-recording');
  const typed = 'recordings: a damaged recording yields well-typed events or stops with a RecordingError';
  const replayed = 'recordings: the pipeline fed a damaged recording never throws and makes well-formed spans';
  return [
    {
      name: typed,
      group: 'recordings',
      budget: { runs: 300, timeLimitMs: 3_000 },
      property: fc.asyncProperty(recording, mutations, guardedAsync(typed, async (r, ms) => {
        writeScratch(file, mutateRecording(r.lines, ms));
        const start = performance.now();
        await readRecordingFile(file, (batch) => batch.forEach(checkSensorEvent));
        withinTime(`reading mutated ${r.name}`, performance.now() - start, 3_000);
      })),
    },
    {
      name: replayed,
      group: 'recordings',
      budget: { runs: 300, timeLimitMs: 3_000 },
      property: fc.asyncProperty(recording, mutations, guardedAsync(replayed, async (r, ms) => {
        writeScratch(file, mutateRecording(r.lines, ms));
        const spans: Span[] = [];
        const pipeline = new Pipeline({ write: (s) => void spans.push(...s), close: async () => {} });
        const start = performance.now();
        try {
          await readRecordingFile(file, (batch) => {
            batch.forEach(refuseHangingPositions);
            pipeline.accept(batch);
          });
        } finally {
          await pipeline.close();
        }
        withinTime(`replaying mutated ${r.name}`, performance.now() - start, 3_000);
        for (const s of spans) checkSpan(s);
      })),
    },
  ];
}
