/**
 * The whole pipeline (tracker, inference, parsers, span builder) under
 * random sequences of sensor events: connections opened, reused, closed
 * and evicted; bytes at the next position, ahead of it (holes), behind it
 * (overlaps), out of order, uncaptured, after losses, as TLS plaintext;
 * real conversations interleaved with junk; clocks that jump. Whatever
 * comes: accept() and close() never throw, every span is well-formed, and
 * the tracker's counters are counts within its limits.
 */
import fc from 'fast-check';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import type { AttributeCapture } from '../../src/protocols/attributeCapture/index.ts';
import { DEFAULT_TRACKER_LIMITS, type TrackerLimits } from '../../src/reassembly/connectionTracker.ts';
import type { ConnOpenEvent, DataEvent, Direction, Role, SensorEvent } from '../../src/source/events.ts';
import { IdGenerator } from '../../src/spans/ids.ts';
import { SpanBuilder } from '../../src/spans/spanBuilder.ts';
import type { Span } from '../../src/spans/span.ts';
import { WorkloadResolver } from '../../src/enrichment/workloadResolver.ts';
import { ProcessTable } from '../../src/enrichment/processTable.ts';
import type { Conversation, Corpus } from './corpus.ts';
import { type FuzzProperty, guardedAsync, withinTime } from './fuzzProperty.ts';
import { checkParserStats, checkSpan, checkTrackerStats } from './wellFormed.ts';

/** Connections the ops name (few, so ops on the same one meet). */
const CONNECTIONS = 4;

type PositionMode = 'next' | 'ahead' | 'behind' | 'absolute';

export type Op =
  | { readonly op: 'open'; readonly conn: number; readonly role: Role; readonly origin: ConnOpenEvent['origin']; readonly family: ConnOpenEvent['family']; readonly newId: boolean; readonly ports: readonly [number, number] }
  | { readonly op: 'converse'; readonly conn: number; readonly conversation: number; readonly from: number; readonly count: number }
  | {
    readonly op: 'data'; readonly conn: number; readonly direction: Direction; readonly mode: PositionMode; readonly delta: number;
    readonly payload: Uint8Array; readonly uncaptured: number; readonly lengthOnly: boolean; readonly afterLoss: boolean; readonly tls: boolean;
  }
  | { readonly op: 'close'; readonly conn: number }
  | { readonly op: 'exit'; readonly conn: number }
  | { readonly op: 'lost'; readonly conn: number; readonly direction: Direction; readonly bytes: number }
  | { readonly op: 'batch' }
  /** Time moves: forward (idle timeouts), or back (clocks of different CPUs). */
  | { readonly op: 'clock'; readonly deltaNs: number };

const conn = fc.nat({ max: CONNECTIONS - 1 });
const direction = fc.constantFrom<Direction>('egress', 'ingress');

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({
    op: fc.constant('open' as const), conn, role: fc.constantFrom<Role>('client', 'server', 'unknown'),
    origin: fc.constantFrom<ConnOpenEvent['origin']>('connect', 'accept', 'existing'), family: fc.constantFrom<ConnOpenEvent['family']>('ipv4', 'ipv6', 'unix'),
    newId: fc.boolean(), ports: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })),
  }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('converse' as const), conn, conversation: fc.nat(), from: fc.nat({ max: 64 }), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 4, arbitrary: fc.record({
    op: fc.constant('data' as const), conn, direction, mode: fc.constantFrom<PositionMode>('next', 'next', 'ahead', 'behind', 'absolute'),
    delta: fc.nat({ max: 1 << 16 }), payload: fc.uint8Array({ maxLength: 512, size: 'medium' }),
    uncaptured: fc.oneof(fc.constant(0), fc.nat({ max: 1 << 20 })), lengthOnly: fc.boolean(), afterLoss: fc.boolean(), tls: fc.boolean(),
  }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('lost' as const), conn, direction, bytes: fc.nat({ max: 1 << 20 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'batch' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clock' as const), deltaNs: fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constantFrom(1e9, 400e9)) }) },
);

/** Small limits make eviction, idle timeouts and inference give-ups happen within a few ops. */
export const limitsArb: fc.Arbitrary<TrackerLimits> = fc.oneof(
  fc.constant(DEFAULT_TRACKER_LIMITS),
  fc.record({ maxConnections: fc.integer({ min: 1, max: 3 }), idleTimeoutNs: fc.bigInt(1n, 10_000_000_000n), inferenceBytes: fc.integer({ min: 1, max: 4096 }) }),
);

const EPOCH_NS = 1_700_000_000_000_000_000n;

interface ConnState {
  pid: number;
  fd: number;
  generation: number;
  role: Role;
  next: Record<Direction, number>;
  opened: boolean;
}

/** The ops as events, in batches: positions follow each direction's cursor as each op's mode says. */
export function materialize(ops: readonly Op[], conversations: readonly Conversation[]): SensorEvent[][] {
  const batches: SensorEvent[][] = [[]];
  const batch = () => batches[batches.length - 1]!;
  let now = EPOCH_NS;
  const tick = () => (now += 1_000n);
  const conns: ConnState[] = Array.from({ length: CONNECTIONS }, (_, i) => ({
    pid: 100 + (i % 2), fd: 3 + i, generation: 0, role: 'unknown', next: { egress: 0, ingress: 0 }, opened: false,
  }));
  const id = (c: ConnState) => `${c.pid}-${c.fd}-${c.generation}`;
  const data = (c: ConnState, dir: Direction, pos: number, payload: Uint8Array, extra: Partial<DataEvent> = {}): DataEvent => ({
    type: 'data', tsNs: tick(), pid: c.pid, tid: c.pid, conn: id(c), direction: dir, pos, len: payload.length, payload,
    syscall: 'write', afterLoss: false, lengthOnly: false, tls: false, ...extra,
  });
  for (const op of ops) {
    switch (op.op) {
      case 'batch':
        batches.push([]);
        break;
      case 'clock':
        now += BigInt(op.deltaNs);
        break;
      case 'open': {
        const c = conns[op.conn]!;
        if (op.newId) c.generation++;
        c.role = op.role;
        c.next = { egress: 0, ingress: 0 };
        c.opened = true;
        const v6 = op.family === 'ipv6';
        batch().push({
          type: 'open', tsNs: tick(), pid: c.pid, tid: c.pid, conn: id(c), fd: c.fd, comm: `p${c.pid}`, role: op.role, origin: op.origin, family: op.family,
          local: { address: op.family === 'unix' ? '' : v6 ? '::1' : '10.0.0.1', port: op.ports[0] },
          remote: { address: op.family === 'unix' ? '' : v6 ? '::2' : '10.0.0.2', port: op.ports[1] }, cgroupId: 1n,
        });
        break;
      }
      case 'converse': {
        if (conversations.length === 0) break;
        const c = conns[op.conn]!;
        const conv = conversations[op.conversation % conversations.length]!;
        // Requests travel on the traced process's egress when it is the client.
        const requestsOn: Direction = c.role === 'server' ? 'ingress' : 'egress';
        for (const s of conv.steps.slice(op.from % Math.max(1, conv.steps.length), (op.from % Math.max(1, conv.steps.length)) + op.count)) {
          const dir: Direction = s.side === 'request' ? requestsOn : requestsOn === 'egress' ? 'ingress' : 'egress';
          if ('gap' in s) {
            c.next[dir] += s.gap;
            continue;
          }
          batch().push(data(c, dir, c.next[dir], s.data));
          c.next[dir] += s.data.length;
        }
        break;
      }
      case 'data': {
        const c = conns[op.conn]!;
        const cursor = c.next[op.direction];
        const pos = op.mode === 'next' ? cursor : op.mode === 'ahead' ? cursor + op.delta : op.mode === 'behind' ? Math.max(0, cursor - op.delta) : op.delta;
        const payload = op.lengthOnly ? new Uint8Array(0) : op.payload;
        const len = op.payload.length + op.uncaptured;
        batch().push(data(c, op.direction, pos, payload, { len, lengthOnly: op.lengthOnly, afterLoss: op.afterLoss, tls: op.tls, syscall: op.lengthOnly ? 'sendfile' : 'write' }));
        c.next[op.direction] = Math.max(cursor, pos + len);
        break;
      }
      case 'close': {
        const c = conns[op.conn]!;
        batch().push({ type: 'close', tsNs: tick(), pid: c.pid, tid: c.pid, conn: id(c), egressBytes: c.next.egress, ingressBytes: c.next.ingress });
        c.opened = false;
        break;
      }
      case 'exit': {
        const c = conns[op.conn]!;
        batch().push({ type: 'exit', tsNs: tick(), pid: c.pid, tid: c.pid, ppid: 1, comm: `p${c.pid}`, cgroupId: 1n });
        break;
      }
      case 'lost': {
        const c = conns[op.conn]!;
        batch().push({ type: 'lost', tsNs: tick(), reason: 'gap', conn: id(c), direction: op.direction, bytes: op.bytes });
        break;
      }
    }
  }
  return batches;
}

/** A span builder with fixed ids and no /proc lookups (pids here are made up). */
function fuzzSpanBuilder(): SpanBuilder {
  return new SpanBuilder(new IdGenerator(Buffer.alloc(24, 7)), new WorkloadResolver(new ProcessTable({ procRoot: null }), 'fuzz-host'));
}

/** Runs batches through a pipeline with a checking sink; returns the spans. `capture`: the attribute capture to run with, if any. */
export async function runPipeline(batches: readonly SensorEvent[][], limits: TrackerLimits, capture?: AttributeCapture): Promise<Span[]> {
  const spans: Span[] = [];
  const sink = {
    write: (written: readonly Span[]) => {
      for (const s of written) checkSpan(s, capture);
      spans.push(...written);
    },
    close: async () => {},
  };
  const pipeline = new Pipeline(sink, { limits, spanBuilder: fuzzSpanBuilder(), ...(capture ? { capture } : {}) });
  const check = () => {
    const stats = pipeline.stats();
    checkTrackerStats(stats.tracker, limits.maxConnections);
    for (const [name, s] of Object.entries(stats.parsers)) checkParserStats(s, name);
  };
  const start = performance.now();
  for (const b of batches) {
    pipeline.accept(b);
    check();
  }
  await pipeline.close();
  check();
  const events = batches.reduce((n, b) => n + b.length, 0);
  withinTime(`pipeline on ${events} events`, performance.now() - start, 2_000 + events);
  return spans;
}

export function pipelineProperties(corpus: Corpus): FuzzProperty[] {
  const name = 'pipeline: random sensor events never throw, spans are well-formed, the tracker stays within its limits';
  return [{
    name,
    group: 'pipeline',
    budget: { runs: 500, timeLimitMs: 4_000 },
    property: fc.asyncProperty(fc.array(opArb, { maxLength: 80, size: 'large' }), limitsArb, guardedAsync(name, async (ops, limits) => {
      await runPipeline(materialize(ops, corpus.conversations), limits);
    })),
  }];
}
