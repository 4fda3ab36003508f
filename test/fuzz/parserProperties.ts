/**
 * Properties of every protocol parser in the registry, driven through the
 * protocol contract (createParser, onData/onGap/onClose per side):
 *
 * - arbitrary bytes and gaps: nothing throws, what is emitted is
 *   well-formed, counters are counts, buffers stay under the cap;
 * - real conversations cut at arbitrary points: the same exchanges and
 *   counters as uncut (a parser must not depend on where writes end);
 * - real conversations mutated (bytes, gaps, huge length fields): as for
 *   arbitrary bytes;
 * - endless input (10 MB of junk, a head that never ends, a header block
 *   continued forever...): the parser's buffers stay under its documented
 *   cap after every chunk, and it keeps pace.
 */
import fc from 'fast-check';
import type { Exchange, ParserStats, Protocol, Side } from '../../src/protocols/contract.ts';
import type { AttributeCapture } from '../../src/protocols/attributeCapture/index.ts';
import { PROTOCOLS } from '../../src/protocols/registry.ts';
import { MAX_HEAD_BYTES } from '../../src/protocols/http1/messageHead.ts';
import { FRAME_BUFFER_LIMIT, HEADER_BLOCK_LIMIT } from '../../src/protocols/http2/connectionParser.ts';
import { conversationsFor, type Conversation, type Corpus, type Step } from './corpus.ts';
import { mutate, mutationsFor, split, splitPoints } from './conversationMutations.ts';
import { endlessInputs, type EndlessInput } from './endlessInputs.ts';
import { type FuzzProperty, guarded, seedFrom, withinTime } from './fuzzProperty.ts';
import { checkExchange, checkParserStats, Violation } from './wellFormed.ts';

/**
 * The most a parser may hold between calls, by its own documentation:
 * HTTP/1 keeps less than one head (MAX_HEAD_BYTES) per side; HTTP/2 one
 * frame (FRAME_BUFFER_LIMIT, plus the two headers its boundary search
 * looks at) and one header block (HEADER_BLOCK_LIMIT) per side.
 */
export const BUFFER_CAPS: Readonly<Record<string, number>> = {
  http1: 2 * MAX_HEAD_BYTES,
  http2: 2 * (FRAME_BUFFER_LIMIT + 2 * 9 + HEADER_BLOCK_LIMIT),
};

/**
 * A case of this many input bytes in this many calls may take this long
 * (see withinTime): 2 s, plus 0.5 ms per KB, plus 50 us per call (junk a
 * byte at a time costs a parser several microseconds per call).
 */
const budgetMs = (bytes: number, calls: number) => 2_000 + bytes / 2_000 + calls / 20;

export interface ParserRun {
  readonly exchanges: Exchange[];
  readonly stats: ParserStats;
  readonly maxBuffered: number;
}

/**
 * Feeds steps to a new parser of `protocol`, then closes it; checks the
 * buffer cap after every step and every exchange and counter at the end
 * (`capture`: the attribute capture `protocol` was made with, if any).
 */
export function drive(protocol: Protocol, steps: readonly Step[], fromStart: boolean, capture?: AttributeCapture): ParserRun {
  const cap = BUFFER_CAPS[protocol.name];
  if (cap === undefined) throw new Error(`no documented buffer cap for protocol ${protocol.name}: add it to BUFFER_CAPS`);
  const exchanges: Exchange[] = [];
  const parser = protocol.createParser((e) => exchanges.push(e), { fromStart });
  let maxBuffered = 0;
  let last = 0n;
  let bytes = 0;
  const start = performance.now();
  for (const s of steps) {
    if ('gap' in s) parser.onGap(s.side, s.gap, s.tsNs);
    else {
      parser.onData(s.side, s.data, s.tsNs);
      bytes += s.data.length;
    }
    const buffered = parser.bufferedBytes();
    if (!(buffered >= 0 && buffered <= cap)) throw new Violation(`${protocol.name} parser holds ${buffered} bytes, over its cap of ${cap}`);
    maxBuffered = Math.max(maxBuffered, buffered);
    if (s.tsNs > last) last = s.tsNs;
  }
  parser.onClose(last + 1n);
  withinTime(`${protocol.name} parser on ${bytes} bytes in ${steps.length} steps`, performance.now() - start, budgetMs(bytes, steps.length));
  for (const e of exchanges) checkExchange(e, capture);
  checkParserStats(parser.stats, protocol.name);
  return { exchanges, stats: { ...parser.stats }, maxBuffered };
}

/** Exchanges and counters as comparable JSON. */
function summary(run: ParserRun): string {
  return JSON.stringify({ exchanges: run.exchanges, stats: run.stats }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

const side = fc.constantFrom<Side>('request', 'response');

/** Bytes a parser keys on, so arbitrary input reaches past the first check. */
const TOKENS = [
  'GET / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n', 'Content-Length: 3\r\n', 'Transfer-Encoding: chunked\r\n', 'Host: h:80\r\n', '\r\n', '3\r\nabc\r\n', '0\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\x00\x00\x00\x04\x00\x00\x00\x00\x00', '\x00\x00\x04\x01\x05\x00\x00\x00\x01\x82\x84\x86\x41', '\x00\x00\x05\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00',
].map((t) => Buffer.from(t, 'latin1'));

const chunk: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2048, size: 'large' }),
  fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.uint8Array({ maxLength: 16 })), { maxLength: 24, size: 'medium' }).map((parts) => new Uint8Array(Buffer.concat(parts))),
);

/** Steps of arbitrary bytes and gaps on either side, at non-decreasing times. */
const arbitrarySteps: fc.Arbitrary<Step[]> = fc
  .array(fc.oneof({ arbitrary: fc.record({ side, data: chunk }), weight: 5 }, { arbitrary: fc.record({ side, gap: fc.integer({ min: 1, max: 1 << 20 }) }), weight: 1 }), { maxLength: 40, size: 'medium' })
  .map((list) => list.map((s, i) => ({ ...s, tsNs: 1_000n * BigInt(i + 1) })));

function arbitraryBytes(protocol: Protocol): FuzzProperty {
  const name = `${protocol.name}: arbitrary bytes and gaps on both sides`;
  return {
    name,
    group: 'parsers',
    budget: { runs: 500, timeLimitMs: 2_500 },
    property: fc.property(arbitrarySteps, fc.boolean(), guarded(name, (steps, fromStart) => {
      drive(protocol, steps, fromStart);
    })),
  };
}

function cutAnywhere(protocol: Protocol, conversations: readonly Conversation[]): FuzzProperty | undefined {
  // Seen from the start, a conversation's bytes are all there: where writes end must not matter.
  const whole = conversations.filter((c) => c.fromStart);
  if (whole.length === 0) return undefined;
  const uncut = new Map<string, string>();
  const name = `${protocol.name}: real conversations cut at arbitrary points report the same`;
  return {
    name,
    group: 'parsers',
    budget: { runs: 300, timeLimitMs: 2_500 },
    property: fc.property(seedFrom(whole, (c) => c.name), splitPoints, guarded(name, (c, cuts) => {
      let expected = uncut.get(c.name);
      if (expected === undefined) uncut.set(c.name, (expected = summary(drive(protocol, c.steps, true))));
      const got = summary(drive(protocol, split(c.steps, cuts), true));
      if (got !== expected) throw new Violation(`${c.name}: cut into pieces, the parser reports\n${got}\ninstead of\n${expected}`);
    })),
  };
}

function mutated(protocol: Protocol, conversations: readonly Conversation[]): FuzzProperty | undefined {
  if (conversations.length === 0) return undefined;
  const name = `${protocol.name}: mutated real conversations`;
  return {
    name,
    group: 'parsers',
    budget: { runs: 1_000, timeLimitMs: 4_000 },
    property: fc.property(seedFrom(conversations, (c) => c.name), mutationsFor(protocol.name), fc.boolean(), guarded(name, (c, mutations, fromStart) => {
      drive(protocol, mutate(c, mutations), fromStart);
    })),
  };
}

/** Bytes fed per endless-input case (HYDROPHONE_FUZZ_RUNS runs more cases, not bigger ones)... */
const ENDLESS_BYTES = 10 * 1024 * 1024;
/** ...or fewer, when the unit is small: calls per case at most (10 MB a byte at a time would take a minute). */
const ENDLESS_CALLS = 100_000;

/**
 * Feeds an endless input's prefix, then its unit over and over to `total`
 * bytes (or ENDLESS_CALLS calls); checks the cap after each chunk.
 */
export function feedEndless(protocol: Protocol, input: EndlessInput, total = Math.min(ENDLESS_BYTES, input.unit.length * ENDLESS_CALLS)): ParserRun {
  const cap = BUFFER_CAPS[protocol.name]!;
  const exchanges: Exchange[] = [];
  const parser = protocol.createParser((e) => exchanges.push(e), { fromStart: true });
  let maxBuffered = 0;
  let fed = 0;
  let ts = 1n;
  const start = performance.now();
  const push = (side: Side, bytes: Uint8Array) => {
    parser.onData(side, bytes, ts++);
    fed += bytes.length;
    const buffered = parser.bufferedBytes();
    if (!(buffered >= 0 && buffered <= cap)) {
      throw new Violation(`${protocol.name} parser holds ${buffered} bytes after ${fed} bytes of ${input.name}, over its cap of ${cap}`);
    }
    maxBuffered = Math.max(maxBuffered, buffered);
  };
  for (const p of input.prefix) push(p.side, p.bytes);
  while (fed < total) push(input.side, input.unit);
  parser.onClose(ts);
  withinTime(`${protocol.name} parser on ${fed} bytes of ${input.name}`, performance.now() - start, budgetMs(fed, Number(ts)));
  for (const e of exchanges) checkExchange(e);
  checkParserStats(parser.stats, protocol.name);
  return { exchanges, stats: { ...parser.stats }, maxBuffered };
}

function endless(protocol: Protocol): FuzzProperty {
  const name = `${protocol.name}: endless input (up to 10 MB) stays under the buffer cap`;
  return {
    name,
    group: 'parsers',
    budget: { runs: 4, timeLimitMs: 4_000 },
    property: fc.property(endlessInputs(protocol.name), guarded(name, (input) => {
      feedEndless(protocol, input);
    })),
  };
}

/** The parser properties of every registered protocol. */
export function parserProperties(corpus: Corpus): FuzzProperty[] {
  const out: Array<FuzzProperty | undefined> = [];
  for (const protocol of PROTOCOLS) {
    const conversations = conversationsFor(corpus, protocol.name);
    out.push(arbitraryBytes(protocol), cutAnywhere(protocol, conversations), mutated(protocol, conversations), endless(protocol));
  }
  return out.filter((p): p is FuzzProperty => p !== undefined);
}
