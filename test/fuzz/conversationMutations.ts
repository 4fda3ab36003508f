/**
 * Mutations of a real conversation, as data (so fast-check can shrink and
 * print them): bytes flipped, set, inserted, deleted; a side truncated; a
 * gap cut into a chunk; chunks dropped, repeated or swapped; protocol
 * tokens spliced in; and the length fields parsers trust (Content-Length,
 * chunk sizes, HTTP/2 frame lengths, gRPC message lengths) set to huge or
 * off-by-one values. Positions are taken modulo what they index, so every
 * mutation applies to every conversation.
 */
import fc from 'fast-check';
import type { Conversation, Step } from './corpus.ts';

/** Values a corrupt or hostile length field takes. */
export const HOSTILE_LENGTHS = [0, 1, 0x3fff, 0x4000, 0x4001, 0xffff, 0x10000, 0x10001, 0xffffff, 0x7fffffff, 0x80000000, 0xffffffff] as const;

/** Text that HTTP/1 parsers key on, and hostile versions of it. */
const HTTP1_TOKENS = [
  'GET / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 000 Zero\r\n', 'HTTP/1.1 099 Low\r\n', 'HTTP/1.0 101 Up\r\n\r\n',
  '\r\n', '\r\n\r\n', '\n\n', '\r', 'Content-Length: 99999999999999999999\r\n', 'Content-Length: 18446744073709551616\r\n',
  'Content-Length: -1\r\n', 'Content-Length: 1e9\r\n', 'Content-Length: 5, 7\r\n', 'Transfer-Encoding: chunked\r\n',
  'Transfer-Encoding: gzip, chunked\r\n', 'ffffffffffffffff\r\n', 'ffffffff\r\n', '0\r\n\r\n', '7fffffff;ext\r\n',
  'Host: h:99999999999999999999\r\n', 'Host: [::1]:70000\r\n', 'Host: [\r\n', 'Host: h:-1\r\n', `Host: h:${'9'.repeat(400)}\r\n`,
  'traceparent: 00-00000000000000000000000000000000-0000000000000000-00\r\n', 'traceparent: ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n',
  'HEAD ', 'CONNECT ', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\x00', '\xff',
];

/** HTTP/2 frame headers and payloads parsers key on: preface, SETTINGS, HEADERS without END_HEADERS, CONTINUATION... */
const HTTP2_TOKENS: readonly Uint8Array[] = [
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  Buffer.from([0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 5, 0x00, 0xff, 0xff, 0xff]), // SETTINGS: table size 2^32-1, max frame 2^24-1
  Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), // SETTINGS: table size 0
  Buffer.from([0, 0, 5, 1, 0, 0, 0, 0, 1, 0x82, 0x84, 0x86, 0x41, 0x7f]), // HEADERS without END_HEADERS, a name of 127+ octets promised
  Buffer.from([0, 0, 4, 9, 0, 0, 0, 0, 1, 0x3f, 0xff, 0xff, 0x0f]), // CONTINUATION: a table size update near 2^31
  Buffer.from([0, 0, 8, 0, 1, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]), // DATA: a gRPC message of 2^32-1 octets
  Buffer.from([0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 8]), // RST_STREAM CANCEL
  Buffer.from([0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), // GOAWAY last stream 0
  Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]), // a DATA frame of 2^24-1 octets
  Buffer.from([0, 0x40, 0, 1, 0x04, 0, 0, 0, 3]), // HEADERS of 16 KiB (more than is coming)
  Buffer.from([0x80, 0x00, 0x00, 0x00]), // HPACK: indexed field 0 / long integer
  Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f]), // HPACK: an integer past 2^31
];

export type Mutation =
  | { readonly kind: 'flip'; readonly step: number; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly step: number; readonly at: number; readonly value: number }
  | { readonly kind: 'insert'; readonly step: number; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly step: number; readonly at: number; readonly length: number }
  | { readonly kind: 'token'; readonly step: number; readonly at: number; readonly token: number; readonly overwrite: boolean }
  | { readonly kind: 'truncateSide'; readonly side: 'request' | 'response'; readonly keep: number }
  | { readonly kind: 'gap'; readonly step: number; readonly at: number; readonly length: number }
  | { readonly kind: 'dropStep'; readonly step: number }
  | { readonly kind: 'repeatStep'; readonly step: number }
  | { readonly kind: 'swapSteps'; readonly step: number }
  | { readonly kind: 'http1Length'; readonly occurrence: number; readonly value: string }
  | { readonly kind: 'frameLength'; readonly step: number; readonly frame: number; readonly length: number }
  | { readonly kind: 'grpcLength'; readonly step: number; readonly frame: number; readonly length: number };

const index = fc.nat({ max: 1 << 20 });

/** Mutations that apply to any protocol's bytes. */
const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), step: index, at: index, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), step: index, at: index, value: fc.constantFrom(0x00, 0x0a, 0x0d, 0x20, 0x30, 0x3a, 0x7f, 0x80, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), step: index, at: index, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('delete' as const), step: index, at: index, length: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ kind: fc.constant('truncateSide' as const), side: fc.constantFrom('request' as const, 'response' as const), keep: index }),
  fc.record({ kind: fc.constant('gap' as const), step: index, at: index, length: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constantFrom(...HOSTILE_LENGTHS)) }),
  fc.record({ kind: fc.constant('dropStep' as const), step: index }),
  fc.record({ kind: fc.constant('repeatStep' as const), step: index }),
  fc.record({ kind: fc.constant('swapSteps' as const), step: index }),
);

const tokenMutation = (tokens: number): fc.Arbitrary<Mutation> =>
  fc.record({ kind: fc.constant('token' as const), step: index, at: index, token: fc.nat({ max: tokens - 1 }), overwrite: fc.boolean() });

const http1LengthMutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constant('http1Length' as const),
  occurrence: fc.nat({ max: 16 }),
  value: fc.oneof(
    fc.constantFrom('99999999999999999999', '18446744073709551616', '9007199254740993', '-1', '0x10', '1e3', '', ' ', '5, 6', 'ffffffff', 'fffffffffffffffff'),
    fc.constantFrom(...HOSTILE_LENGTHS).map(String),
    fc.constantFrom(...HOSTILE_LENGTHS).map((n) => n.toString(16)),
  ),
});

const http2LengthMutations: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('frameLength' as const), step: index, frame: fc.nat({ max: 32 }), length: fc.constantFrom(...HOSTILE_LENGTHS) }),
  fc.record({ kind: fc.constant('grpcLength' as const), step: index, frame: fc.nat({ max: 32 }), length: fc.constantFrom(...HOSTILE_LENGTHS) }),
);

/** Up to `max` mutations suited to a protocol's conversations. */
export function mutationsFor(protocol: string, max = 4): fc.Arbitrary<Mutation[]> {
  const specific = protocol === 'http1'
    ? fc.oneof(tokenMutation(HTTP1_TOKENS.length), http1LengthMutation)
    : fc.oneof(tokenMutation(HTTP2_TOKENS.length), http2LengthMutations);
  return fc.array(fc.oneof({ arbitrary: byteMutation, weight: 2 }, { arbitrary: specific, weight: 1 }), { minLength: 1, maxLength: max });
}

function tokenBytes(protocol: string, token: number): Uint8Array {
  if (protocol === 'http1') return Buffer.from(HTTP1_TOKENS[token % HTTP1_TOKENS.length]!, 'latin1');
  return HTTP2_TOKENS[token % HTTP2_TOKENS.length]!;
}

type DataStep = Extract<Step, { data: Uint8Array }>;

/** Positions of the data steps (gaps are not mutated in place). */
function dataSteps(steps: readonly Step[]): number[] {
  const out: number[] = [];
  steps.forEach((s, i) => {
    if ('data' in s) out.push(i);
  });
  return out;
}

function withData(steps: Step[], i: number, data: Uint8Array): void {
  steps[i] = { ...(steps[i] as DataStep), data };
}

/** Offsets of the HTTP/2 frame headers a chunk starts with (after a preface, if it holds one). */
function frameOffsets(data: Uint8Array): number[] {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  let at = Buffer.from(data.buffer, data.byteOffset, data.byteLength).subarray(0, 24).equals(preface) ? 24 : 0;
  const out: number[] = [];
  while (at + 9 <= data.length) {
    out.push(at);
    at += 9 + ((data[at]! << 16) | (data[at + 1]! << 8) | data[at + 2]!);
  }
  return out;
}

function applyOne(protocol: string, steps: Step[], m: Mutation): void {
  const data = dataSteps(steps);
  const pick = (n: number) => data[n % Math.max(1, data.length)];
  switch (m.kind) {
    case 'truncateSide': {
      const total = data.reduce((n, j) => n + (steps[j]!.side === m.side ? (steps[j] as DataStep).data.length : 0), 0);
      const keep = m.keep % (total + 1);
      let seen = 0;
      for (let i = 0; i < steps.length; i++) {
        const s = steps[i]!;
        if (s.side !== m.side || !('data' in s)) continue;
        if (seen >= keep) withData(steps, i, new Uint8Array(0));
        else if (seen + s.data.length > keep) withData(steps, i, s.data.subarray(0, keep - seen));
        seen += s.data.length;
      }
      return;
    }
    case 'dropStep':
      if (steps.length > 0) steps.splice(m.step % steps.length, 1);
      return;
    case 'repeatStep':
      if (steps.length > 0) steps.splice(m.step % steps.length, 0, steps[m.step % steps.length]!);
      return;
    case 'swapSteps': {
      if (steps.length < 2) return;
      const i = m.step % (steps.length - 1);
      [steps[i], steps[i + 1]] = [steps[i + 1]!, steps[i]!];
      return;
    }
    case 'http1Length': {
      // The n-th Content-Length value or chunk-size line, in the order the steps hold them.
      let n = 0;
      for (const i of data) {
        const text = Buffer.from((steps[i] as DataStep).data).toString('latin1');
        const re = /(content-length:[ \t]*)([^\r\n]*)|(\r\n)([0-9a-fA-F]+)(\r\n)/gi;
        let match: RegExpExecArray | null;
        while ((match = re.exec(text)) !== null) {
          if (n++ !== m.occurrence) continue;
          const [whole] = match;
          const replaced = match[1] !== undefined ? `${match[1]}${m.value}` : `${match[3]}${m.value}${match[5]}`;
          withData(steps, i, Buffer.from(text.slice(0, match.index) + replaced + text.slice(match.index + whole.length), 'latin1'));
          return;
        }
      }
      return;
    }
    default:
      break;
  }
  const i = pick(m.step);
  if (i === undefined) return;
  const bytes = (steps[i] as DataStep).data;
  const at = bytes.length === 0 || !('at' in m) ? 0 : m.at % bytes.length;
  switch (m.kind) {
    case 'flip':
    case 'set': {
      if (bytes.length === 0) return;
      const copy = Uint8Array.from(bytes);
      copy[at] = m.kind === 'flip' ? copy[at]! ^ (1 << m.bit) : m.value;
      withData(steps, i, copy);
      return;
    }
    case 'insert':
      withData(steps, i, Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]));
      return;
    case 'delete':
      withData(steps, i, Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]));
      return;
    case 'token': {
      const token = tokenBytes(protocol, m.token);
      const rest = m.overwrite ? bytes.subarray(Math.min(bytes.length, at + token.length)) : bytes.subarray(at);
      withData(steps, i, Buffer.concat([bytes.subarray(0, at), token, rest]));
      return;
    }
    case 'gap': {
      const s = steps[i] as DataStep;
      const cut = Math.min(m.length, bytes.length - at);
      steps.splice(i, 1, { ...s, data: bytes.subarray(0, at) }, { side: s.side, tsNs: s.tsNs, gap: m.length }, { ...s, data: bytes.subarray(at + cut) });
      return;
    }
    case 'frameLength':
    case 'grpcLength': {
      const frames = frameOffsets(bytes);
      // A gRPC length prefix sits after the DATA frame's pad length (if PADDED) and the compressed flag.
      const prefixAt = (f: number) => f + 9 + ((bytes[f + 4]! & 0x8) !== 0 ? 1 : 0) + 1;
      const candidates = m.kind === 'grpcLength' ? frames.filter((f) => bytes[f + 3] === 0 && prefixAt(f) + 4 <= bytes.length) : frames;
      if (candidates.length === 0) return;
      const f = candidates[m.frame % candidates.length]!;
      const copy = Buffer.from(bytes);
      if (m.kind === 'frameLength') copy.writeUIntBE(Math.min(m.length, 0xffffff), f, 3);
      else copy.writeUInt32BE(m.length >>> 0, prefixAt(f));
      withData(steps, i, copy);
      return;
    }
  }
}

/** The conversation's steps with the mutations applied in order. */
export function mutate(conversation: Conversation, mutations: readonly Mutation[]): Step[] {
  const steps = [...conversation.steps];
  for (const m of mutations) applyOne(conversation.protocol, steps, m);
  return steps;
}

/**
 * Split points for every data step: each step cut into pieces at these
 * fractions of its length (the pieces keep the step's time, so a parser
 * must report exactly what it reports for the uncut steps).
 */
export const splitPoints: fc.Arbitrary<number[][]> = fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), { maxLength: 64 });

export function split(steps: readonly Step[], cuts: readonly number[][]): Step[] {
  const out: Step[] = [];
  steps.forEach((s, i) => {
    const fractions = cuts[i % Math.max(1, cuts.length)] ?? [];
    if (!('data' in s) || fractions.length === 0) {
      out.push(s);
      return;
    }
    const at = [...new Set(fractions.map((f) => Math.floor(f * s.data.length)))].filter((n) => n > 0 && n < s.data.length).sort((a, b) => a - b);
    let from = 0;
    for (const to of [...at, s.data.length]) {
      out.push({ ...s, data: s.data.subarray(from, to) });
      from = to;
    }
  });
  return out;
}
