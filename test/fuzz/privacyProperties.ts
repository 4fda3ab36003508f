/**
 * Properties of header, gRPC metadata and url.query capture
 * (src/protocols/attributeCapture) under hostile traffic, with capture on
 * and every sensitive header allow-listed besides the harmless names:
 *
 * - HTTP/1, HTTP/2 and gRPC conversations with secrets planted
 *   (plantedTraffic.ts), through the protocol's parser and through the
 *   whole pipeline: no hidden secret leaks (LEAK_WINDOW characters of it
 *   anywhere in the exchanges, in the OTLP protobuf request or in the
 *   stdout JSON of the spans); every captured value is one an
 *   allow-listed field of that name sent; an intact conversation reports
 *   exactly the names it sent (so capture is shown working, not only
 *   silent); the bounds hold (wellFormed.ts checkCaptured); nothing
 *   throws; a case ends in bounded time;
 * - random sensor events (pipelineProperties.ts) around such
 *   conversations, each on a connection of its own: no leak, spans
 *   well-formed;
 * - mutated real conversations through parsers with capture on: nothing
 *   throws, exchanges well-formed with their captured values in bounds.
 */
import fc from 'fast-check';
import { AttributeCapture } from '../../src/protocols/attributeCapture/index.ts';
import type { Protocol } from '../../src/protocols/contract.ts';
import { protocolsWith } from '../../src/protocols/registry.ts';
import { DEFAULT_TRACKER_LIMITS } from '../../src/reassembly/connectionTracker.ts';
import type { Role } from '../../src/source/events.ts';
import { conversationsFor, type Corpus } from './corpus.ts';
import { mutate, mutationsFor } from './conversationMutations.ts';
import { type FuzzProperty, guarded, guardedAsync, seedFrom, withinTime } from './fuzzProperty.ts';
import { assertCapturedNames, assertCapturedValuesSent, assertNoLeak, exportedTexts } from './leakCheck.ts';
import { drive } from './parserProperties.ts';
import { limitsArb, materialize, opArb, runPipeline, type Op } from './pipelineProperties.ts';
import { captureSettings, http1Conversation, http2Conversation, trafficPlanArb, type PlantedConversation, type TrafficPlan } from './plantedTraffic.ts';
import { Violation } from './wellFormed.ts';

type Kind = 'http1' | 'http2' | 'grpc';

/** `firstSecret`: the index of its first secret (conversations of one case must not share secrets). */
const conversationOf = (kind: Kind, plan: TrafficPlan, firstSecret = 0): PlantedConversation =>
  (kind === 'http1' ? http1Conversation(plan, firstSecret) : http2Conversation(plan, kind === 'grpc', firstSecret));

function protocolOf(capture: AttributeCapture, name: string): Protocol {
  return protocolsWith(capture).find((p) => p.name === name)!;
}

/** Counters of a capture: counts. */
function checkCaptureStats(capture: AttributeCapture): void {
  for (const [k, v] of Object.entries(capture.stats)) if (!(Number.isSafeInteger(v) && v >= 0)) throw new Violation(`capture stat ${k} is not a count: ${v}`);
}

/** Ops that put a planted conversation on a connection of its own, in the role given, then maybe close it. */
function plantOps(conn: number, role: Role, conversation: number, steps: number, close: boolean): Op[] {
  return [
    { op: 'open', conn, role, origin: 'connect', family: 'ipv4', newId: true, ports: [40_000 + conn, 8080] },
    { op: 'converse', conn, conversation, from: 0, count: steps },
    ...(close ? [{ op: 'close' as const, conn }] : []),
  ];
}

/** The conversation through its parser and through a pipeline: no leak, captured values sent, names as sent. */
async function checkPlanted(conversation: PlantedConversation, capture: AttributeCapture, role: Role): Promise<void> {
  const start = performance.now();
  const run = drive(protocolOf(capture, conversation.protocol), conversation.steps, true, capture);
  assertNoLeak('the exchanges of the parser', run.exchanges, [], conversation.hidden);
  for (const e of run.exchanges) assertCapturedValuesSent(e, conversation);
  const expected = conversation.expected;
  if (expected !== undefined) {
    if (run.exchanges.length !== expected.length) throw new Violation(`${run.exchanges.length} exchanges of an intact conversation of ${expected.length}`);
    run.exchanges.forEach((e, i) => assertCapturedNames(e, expected[i]!));
  }
  const spans = await runPipeline(materialize(plantOps(0, role, 0, conversation.steps.length, true), [conversation]), DEFAULT_TRACKER_LIMITS, capture);
  if (expected !== undefined && spans.length !== expected.length) throw new Violation(`the pipeline made ${spans.length} spans of an intact conversation of ${expected.length} exchanges`);
  assertNoLeak('the spans of the pipeline', spans, exportedTexts(spans), conversation.hidden);
  checkCaptureStats(capture);
  withinTime(`a planted ${conversation.name} conversation of ${conversation.steps.length} steps`, performance.now() - start, 3_000);
}

function planted(kind: Kind): FuzzProperty {
  const name = `${kind}: planted secrets never leave the parser or the pipeline with capture on`;
  return {
    name,
    group: 'privacy',
    budget: { runs: 2_000, timeLimitMs: 3_500 },
    property: fc.asyncProperty(fc.nat(), trafficPlanArb, fc.constantFrom<Role>('client', 'server', 'unknown'), guardedAsync(name, async (casing, plan, role) => {
      const capture = new AttributeCapture(captureSettings(casing));
      await checkPlanted(conversationOf(kind, plan), capture, role);
    })),
  };
}

type PrivacyOp = Op | { readonly op: 'plant'; readonly conn: number; readonly kind: Kind; readonly plan: number; readonly role: Role; readonly close: boolean };

const plantArb = fc.record({
  op: fc.constant('plant' as const), conn: fc.nat({ max: 3 }), kind: fc.constantFrom<Kind>('http1', 'http2', 'grpc'),
  plan: fc.nat(), role: fc.constantFrom<Role>('client', 'server', 'unknown'), close: fc.boolean(),
});

function pipelineAround(): FuzzProperty {
  const name = 'pipeline: random sensor events around planted conversations leak no secret with capture on';
  // Slices of a conversation are left out: cut mid-head, a planted line
  // could continue another conversation's allow-listed field, which makes
  // its secret that field's value, not a leak.
  const generic = opArb.filter((o) => o.op !== 'converse');
  return {
    name,
    group: 'privacy',
    budget: { runs: 1_000, timeLimitMs: 4_000 },
    property: fc.asyncProperty(
      fc.nat(), fc.array(trafficPlanArb, { minLength: 1, maxLength: 3 }),
      fc.array(fc.oneof({ weight: 3, arbitrary: generic }, { weight: 1, arbitrary: plantArb }), { maxLength: 40 }), limitsArb,
      guardedAsync(name, async (casing, plans, privacyOps, limits) => {
        const capture = new AttributeCapture(captureSettings(casing));
        const conversations: PlantedConversation[] = [];
        const ops: Op[] = [];
        for (const o of privacyOps) {
          if (o.op !== 'plant') {
            ops.push(o);
            continue;
          }
          const c = conversationOf(o.kind, plans[o.plan % plans.length]!, 10_000 * conversations.length);
          ops.push(...plantOps(o.conn, o.role, conversations.length, c.steps.length, o.close));
          conversations.push(c);
        }
        const spans = await runPipeline(materialize(ops, conversations), limits, capture);
        const hidden = conversations.flatMap((c) => c.hidden);
        assertNoLeak('the spans of the pipeline', spans, exportedTexts(spans), hidden);
        checkCaptureStats(capture);
      }),
    ),
  };
}

/** Names real conversations carry, allow-listed for their mutations so capture has values to keep. */
const COMMON_NAMES = ['user-agent', 'accept', 'content-type', 'host', 'date', 'server', 'content-length', 'grpc-accept-encoding', 'grpc-encoding', 'te', 'grpc-status', 'grpc-message', 'accept-encoding', 'cache-control'];

function mutatedWithCapture(protocolName: string, corpus: Corpus): FuzzProperty | undefined {
  const conversations = conversationsFor(corpus, protocolName);
  if (conversations.length === 0) return undefined;
  const name = `${protocolName}: mutated real conversations with capture on`;
  return {
    name,
    group: 'privacy',
    budget: { runs: 2_000, timeLimitMs: 2_500 },
    property: fc.property(fc.nat(), seedFrom(conversations, (c) => c.name), mutationsFor(protocolName), fc.boolean(), guarded(name, (casing, c, mutations, fromStart) => {
      const capture = new AttributeCapture(captureSettings(casing, COMMON_NAMES));
      drive(protocolOf(capture, protocolName), mutate(c, mutations), fromStart, capture);
      checkCaptureStats(capture);
    })),
  };
}

export function privacyProperties(corpus: Corpus): FuzzProperty[] {
  return [
    planted('http1'), planted('http2'), planted('grpc'), pipelineAround(),
    mutatedWithCapture('http1', corpus), mutatedWithCapture('http2', corpus),
  ].filter((p): p is FuzzProperty => p !== undefined);
}
