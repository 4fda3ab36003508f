/**
 * HTTP/1, HTTP/2 and gRPC conversations with secrets planted where header,
 * metadata and query capture (src/protocols/attributeCapture) must never
 * export them, for the privacy properties (privacyProperties.ts).
 *
 * What a leak is. Every planted secret is a distinct 16-character token. A
 * secret is "hidden" when every place the conversation puts it is one the
 * capture must not export:
 * - the value of a sensitive header (every built-in name, and a configured
 *   extra name that is also allow-listed), in any case, repeated, as an
 *   HTTP/2 literal of any kind (never-indexed, indexed into the dynamic
 *   table and then referred to by index, Huffman-coded or not), or in
 *   trailers;
 * - a sensitive header under a look-alike spelling (space or tab before the
 *   colon, no space after it; an HTTP/2 name with a space, or upper case);
 * - an obs-fold continuation line of a sensitive (or not allow-listed)
 *   HTTP/1 field, even one that reads like an allow-listed field
 *   (" X-Request-Id: <secret>"): RFC 9112 5.2 makes it part of the value
 *   of the field it continues;
 * - the value of a header on no allow-list, that no attribute reads;
 * - the value of a query parameter not allowed (names compared as the
 *   capture documents: exact, or percent-decoded), a bare query part, a
 *   fragment;
 * - a message body, an HTTP/1 chunked trailer field, HTTP/2 padding;
 * - the userinfo of an authority (Host, :authority, an absolute-form
 *   target): deprecated, but credentials (RFC 9110 4.2.4).
 * A secret that the conversation also puts where capture may export it
 * (an allow-listed header or an allowed query parameter echoing a
 * sensitive header's value) is "disclosed": the sender exported it
 * itself, and it is not counted. A LEAK is any 10 consecutive characters
 * of a hidden secret in what the sensor exports (leakCheck.ts): a
 * truncated or split secret leaks as much as a whole one.
 */
import fc from 'fast-check';
import { SENSITIVE_HEADERS, type AttributeCaptureSettings } from '../../src/protocols/attributeCapture/index.ts';
import { CLIENT_PREFACE, Flag, FrameType } from '../../src/protocols/http2/frames.ts';
import { frame } from '../../src/protocols/http2/testing.ts';
import type { Side } from '../../src/protocols/contract.ts';
import { split, splitPoints } from './conversationMutations.ts';
import type { Conversation, Step } from './corpus.ts';
import { HpackWriter, type FieldEncoding } from './hpackWriter.ts';

/** The configured extra sensitive header; the allow-lists name it too, so the capture must strike it. */
export const EXTRA_SENSITIVE = 'x-planted';
const SENSITIVE = [...SENSITIVE_HEADERS, EXTRA_SENSITIVE];
/** Allow-listed harmless names, by list. */
const REQUEST_HEADERS = ['x-request-id', 'x-tenant'];
const GRPC_REQUEST_METADATA = ['x-request-id', 'x-grpc-only'];
const RESPONSE_HEADERS = ['x-served-by'];
const GRPC_RESPONSE_METADATA = ['x-served-by', 'x-grpc-reply'];
const ALLOWED: Record<Side, readonly string[]> = {
  request: [...new Set([...REQUEST_HEADERS, ...GRPC_REQUEST_METADATA])],
  response: [...new Set([...RESPONSE_HEADERS, ...GRPC_RESPONSE_METADATA])],
};
const QUERY_PARAMS = ['page', 'lang'];
/** Names on no list and read by no attribute (some close to allowed ones). */
const OTHER_NAMES = ['x-debug', 'x-request-idx', 'request-id', 'x-tenant-', 'x-served'];
/** Parameter names that are not allowed: case differs, encoded differently, empty. */
const HIDDEN_PARAMS = ['token', 'key', 'Page', 'LANG', 'to%6Ben', 'page%20', 'page+', '', 'lang[]', 'pag'];

/** The name in the case `casing`'s bits say (bit i: upper-case character i). */
function cased(name: string, casing: number): string {
  return [...name].map((c, i) => ((casing >>> (i % 31)) & 1 ? c.toUpperCase() : c)).join('');
}

/**
 * The capture settings of a case: every sensitive name allow-listed too,
 * names in any case; `extra`: more names on every list.
 */
export function captureSettings(casing: number, extra: readonly string[] = []): AttributeCaptureSettings {
  const list = (names: readonly string[], shift: number) => [...names, ...extra, ...SENSITIVE].map((n, i) => cased(n, casing >>> ((shift + i) % 7)));
  return {
    requestHeaders: list(REQUEST_HEADERS, 0),
    responseHeaders: list(RESPONSE_HEADERS, 1),
    grpcRequestMetadata: list(GRPC_REQUEST_METADATA, 2),
    grpcResponseMetadata: list(GRPC_RESPONSE_METADATA, 3),
    sensitiveHeaders: [cased(EXTRA_SENSITIVE, casing >>> 4)],
    urlQuery: 'redacted',
    queryParams: QUERY_PARAMS,
  };
}

const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The i-th secret of a case: fixed per index (a shrinking fast-check must
 * not make two secrets alike), pseudo-random so no two share a window.
 */
export function secretOf(i: number): string {
  let h = Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995;
  let out = '';
  for (let k = 0; k < 16; k++) {
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    h = Math.imul(h, 0x297a2d39);
    h ^= h >>> 15;
    out += SECRET_ALPHABET[(h >>> 3) & 31];
  }
  return out;
}

// ---- the plan: what fast-check generates and shrinks ----

const encodingArb: fc.Arbitrary<FieldEncoding> = fc.record({
  literal: fc.constantFrom('incremental', 'without', 'never'),
  nameByIndex: fc.boolean(),
  indexedIfPresent: fc.boolean(),
  huffmanName: fc.boolean(),
  huffmanValue: fc.boolean(),
});

/** An HTTP/1 continuation line: its leading space, and what follows (a field look-alike or the bare secret). */
interface FoldPlan {
  readonly ws: number;
  readonly form: number;
}
const FOLD_SPACE = [' ', '\t', ' \t '];
const FOLD_FORMS = ['X-Request-Id: ', 'x-tenant:', 'User-Agent: ', 'Host: ', 'X-Served-By: ', ''];

type HeaderPlan =
  | { readonly kind: 'sensitive'; readonly name: number; readonly casing: number; readonly prefix: number; readonly twice: boolean; readonly fold: readonly FoldPlan[]; readonly enc: FieldEncoding }
  | { readonly kind: 'lookalike'; readonly name: number; readonly form: number; readonly enc: FieldEncoding }
  | { readonly kind: 'allowed'; readonly name: number; readonly casing: number; readonly value: string; readonly long: boolean; readonly echo: number | null; readonly enc: FieldEncoding }
  | { readonly kind: 'other'; readonly name: number; readonly fold: readonly FoldPlan[]; readonly enc: FieldEncoding };

const VALUE_PREFIXES = ['', 'Bearer ', 'Basic ', 's=', 'id=1; sid='];
const foldArb = fc.array(fc.record({ ws: fc.nat({ max: FOLD_SPACE.length - 1 }), form: fc.nat({ max: FOLD_FORMS.length - 1 }) }), { maxLength: 3 });
const harmless = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._'), maxLength: 24 });

const headerArb: fc.Arbitrary<HeaderPlan> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sensitive' as const), name: fc.nat(), casing: fc.nat(), prefix: fc.nat(), twice: fc.boolean(), fold: foldArb, enc: encodingArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('lookalike' as const), name: fc.nat(), form: fc.nat(), enc: encodingArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('allowed' as const), name: fc.nat(), casing: fc.nat(), value: harmless, long: fc.boolean(), echo: fc.option(fc.nat(), { freq: 3 }), enc: encodingArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other' as const), name: fc.nat(), fold: foldArb, enc: encodingArb }) },
);

type ParamPlan =
  | { readonly kind: 'allowed'; readonly name: number; readonly value: string; readonly echo: number | null }
  | { readonly kind: 'hidden'; readonly name: number; readonly form: number }
  | { readonly kind: 'bare' };

const paramArb: fc.Arbitrary<ParamPlan> = fc.oneof(
  fc.record({ kind: fc.constant('allowed' as const), name: fc.nat(), value: harmless, echo: fc.option(fc.nat(), { freq: 3 }) }),
  fc.record({ kind: fc.constant('hidden' as const), name: fc.nat(), form: fc.nat() }),
  fc.constant({ kind: 'bare' as const }),
);

interface ExchangePlan {
  readonly requestHeaders: readonly HeaderPlan[];
  readonly responseHeaders: readonly HeaderPlan[];
  /** HTTP/2: trailers after the response body (gRPC: always, with grpc-status). */
  readonly trailers: readonly HeaderPlan[];
  readonly params: readonly ParamPlan[];
  readonly fragment: boolean;
  readonly requestBody: boolean;
  readonly responseBody: boolean;
  /** HTTP/1: bodies chunked, with a sensitive trailer field. */
  readonly chunked: boolean;
  /** Credentials in the authority's userinfo (Host, :authority; HTTP/1 also an absolute-form target). */
  readonly userinfo: boolean;
  readonly absolute: boolean;
  /** HTTP/2: the previous request's sensitive fields again first, by index when the table holds them. */
  readonly replayPrevious: boolean;
  /** HTTP/2: a dynamic table size update opening the request block. */
  readonly tableSize: number | null;
  /** HTTP/2: the request HEADERS frame padded (with a secret), its block split into CONTINUATION frames here. */
  readonly padded: boolean;
  readonly continuation: readonly number[];
}

const exchangeArb: fc.Arbitrary<ExchangePlan> = fc.record({
  requestHeaders: fc.array(headerArb, { maxLength: 40 }),
  responseHeaders: fc.array(headerArb, { maxLength: 12 }),
  trailers: fc.array(headerArb, { maxLength: 6 }),
  params: fc.array(paramArb, { maxLength: 6 }),
  fragment: fc.boolean(),
  requestBody: fc.boolean(),
  responseBody: fc.boolean(),
  chunked: fc.boolean(),
  userinfo: fc.boolean(),
  absolute: fc.boolean(),
  replayPrevious: fc.boolean(),
  tableSize: fc.option(fc.constantFrom(0, 64, 256, 4096), { freq: 4 }),
  padded: fc.boolean(),
  continuation: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
});

export interface TrafficPlan {
  readonly exchanges: readonly ExchangePlan[];
  /** Where each step is cut into writes (conversationMutations.split). */
  readonly cuts: number[][];
  /** A step replaced by a gap of its length (a lost write), if any. */
  readonly gapAt: number | null;
}

export const trafficPlanArb: fc.Arbitrary<TrafficPlan> = fc.record({
  exchanges: fc.array(exchangeArb, { minLength: 1, maxLength: 3 }),
  cuts: splitPoints,
  gapAt: fc.option(fc.nat(), { freq: 6 }),
});

// ---- the conversation a plan makes ----

/** What a case expects of the exchanges (names lower case). */
export interface ExpectedExchange {
  /** Allow-listed names each side sent, and how many values the capture keeps of them (before its cap). */
  readonly sent: Record<Side, { readonly names: ReadonlySet<string>; readonly kept: number }>;
  readonly grpc: boolean;
}

export interface PlantedConversation extends Conversation {
  /** Hidden secrets: none may leak. */
  readonly hidden: readonly string[];
  /** Every value an allow-listed field carried, by side and lower-case name: what a captured value may be. */
  readonly allowedValues: Record<Side, ReadonlyMap<string, ReadonlySet<string>>>;
  /** Per exchange in order; undefined when a gap may have cost some. */
  readonly expected: readonly ExpectedExchange[] | undefined;
}

/** The names whose values each kind of exchange reports, by side. */
const REPORTED: Record<'http' | 'grpc', Record<Side, readonly string[]>> = {
  http: { request: REQUEST_HEADERS, response: RESPONSE_HEADERS },
  grpc: { request: GRPC_REQUEST_METADATA, response: GRPC_RESPONSE_METADATA },
};

/** Secrets of one conversation: planted in order; those echoed where capture may export them are disclosed. */
class Planter {
  readonly planted: string[] = [];
  private readonly first: number;

  constructor(first: number) {
    this.first = first;
  }

  readonly disclosed = new Set<string>();
  readonly allowedValues: Record<Side, Map<string, Set<string>>> = { request: new Map(), response: new Map() };

  secret(): string {
    const s = secretOf(this.first + this.planted.length);
    this.planted.push(s);
    return s;
  }

  /** The value of an allow-listed field or parameter: harmless, or an earlier secret (then disclosed). */
  echoOr(value: string, echo: number | null): string {
    if (echo === null || this.planted.length === 0) return value;
    const s = this.planted[echo % this.planted.length]!;
    this.disclosed.add(s);
    return `${VALUE_PREFIXES[echo % VALUE_PREFIXES.length]}${s}`;
  }

  allowed(side: Side, name: string, value: string): void {
    let values = this.allowedValues[side].get(name);
    if (!values) this.allowedValues[side].set(name, (values = new Set()));
    values.add(value);
  }

  get hidden(): string[] {
    return this.planted.filter((s) => !this.disclosed.has(s));
  }
}

/** A field as written: name (as sent), value, HPACK plan; `allowed`: the lower-case allow-listed name it counts as. */
interface Field {
  readonly name: string;
  readonly value: string;
  readonly enc: FieldEncoding;
  /** HTTP/1 continuation lines after it. */
  readonly folds: readonly string[];
  /** HTTP/1: the whole line as written (look-alikes), instead of "name: value". */
  readonly line?: string;
  readonly allowed?: string;
}

const H1_LOOKALIKES = [
  (n: string, v: string) => `${n} : ${v}`,
  (n: string, v: string) => `${n}:${v}`,
  (n: string, v: string) => `${n}\t:\t${v}`,
  (n: string, v: string) => `${n.toUpperCase()}:   ${v}  `,
];
const H2_LOOKALIKES = [(n: string) => `${n} `, (n: string) => ` ${n}`, (n: string) => n.toUpperCase(), (n: string) => `${n}\t`];

/** The fields of a header plan, planting its secrets. */
function fieldsOf(plans: readonly HeaderPlan[], side: Side, planter: Planter, http1: boolean): Field[] {
  const out: Field[] = [];
  const folds = (fold: readonly FoldPlan[]) => fold.map((f) => `${FOLD_SPACE[f.ws]}${FOLD_FORMS[f.form]}${planter.secret()}`);
  for (const p of plans) {
    switch (p.kind) {
      case 'sensitive': {
        const name = cased(SENSITIVE[p.name % SENSITIVE.length]!, p.casing);
        const value = `${VALUE_PREFIXES[p.prefix % VALUE_PREFIXES.length]}${planter.secret()}`;
        out.push({ name, value, enc: p.enc, folds: http1 ? folds(p.fold) : [] });
        // Repeated: HTTP/2 refers to it by index when the first went into the table.
        if (p.twice) out.push({ name, value, enc: { ...p.enc, indexedIfPresent: true }, folds: [] });
        break;
      }
      case 'lookalike': {
        const name = SENSITIVE[p.name % SENSITIVE.length]!;
        const value = planter.secret();
        // HTTP/1 spells the whole line; the name field is unused there.
        out.push(http1
          ? { name, value, line: H1_LOOKALIKES[p.form % H1_LOOKALIKES.length]!(name, value), enc: p.enc, folds: [] }
          : { name: H2_LOOKALIKES[p.form % H2_LOOKALIKES.length]!(name), value, enc: p.enc, folds: [] });
        break;
      }
      case 'allowed': {
        const lower = ALLOWED[side][p.name % ALLOWED[side].length]!;
        let value = planter.echoOr(p.value, p.echo);
        if (p.long) value = (value || 'v').repeat(Math.ceil(1100 / (value.length || 1)));
        planter.allowed(side, lower, value);
        out.push({ name: http1 ? cased(lower, p.casing) : lower, value, enc: p.enc, folds: [], allowed: lower });
        break;
      }
      case 'other':
        out.push({ name: OTHER_NAMES[p.name % OTHER_NAMES.length]!, value: planter.secret(), enc: p.enc, folds: http1 ? folds(p.fold) : [] });
        break;
    }
  }
  return out;
}

/** The authority: svc.test, with credentials as userinfo when the plan says so. */
function authorityOf(plan: ExchangePlan, planter: Planter): string {
  return plan.userinfo ? `user:${planter.secret()}@svc.test` : 'svc.test';
}

/** The request target: a path (HTTP/1 maybe in absolute form, with userinfo), the query (secrets in hidden parameters), a fragment. */
function targetOf(plan: ExchangePlan, planter: Planter, n: number, http1: boolean): string {
  const parts = plan.params.map((p) => {
    if (p.kind === 'bare') return planter.secret();
    if (p.kind === 'allowed') {
      const name = QUERY_PARAMS[p.name % QUERY_PARAMS.length]!;
      return `${name}=${planter.echoOr(p.value, p.echo).replace(/ /g, '+')}`;
    }
    const name = HIDDEN_PARAMS[p.name % HIDDEN_PARAMS.length]!;
    const s = planter.secret();
    return [`${name}=${s}`, `${name}=a=${s}`, `${name}=${s}=x`][p.form % 3]!;
  });
  const query = parts.length > 0 ? `?${parts.join('&')}` : '';
  const origin = http1 && plan.absolute ? `http://${authorityOf(plan, planter)}` : '';
  return `${origin}/api/items/${n}${query}${plan.fragment ? `#f=${planter.secret()}` : ''}`;
}

/** How many values the capture keeps of these fields, and their names, for an exchange of `kind`. */
function sentOf(fields: readonly Field[], side: Side, kind: 'http' | 'grpc', http1: boolean): ExpectedExchange['sent'][Side] {
  // HTTP/1 keeps the header lists only; HTTP/2 keeps header and metadata names alike, reporting by kind.
  const kept = fields.filter((f) => f.allowed !== undefined && (!http1 || REPORTED.http[side].includes(f.allowed)));
  return { names: new Set(kept.map((f) => f.allowed!).filter((n) => REPORTED[kind][side].includes(n))), kept: kept.length };
}

function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** Data steps of each side, in order, then cut and (maybe) one replaced by a gap. */
function stepsOf(writes: ReadonlyArray<readonly [Side, Uint8Array]>, plan: TrafficPlan): Step[] {
  const whole: Step[] = writes.map(([side, data], i) => ({ side, data, tsNs: 1_000n * BigInt(i + 1) }));
  const steps = split(whole, plan.cuts);
  if (plan.gapAt !== null) {
    const i = plan.gapAt % steps.length;
    const s = steps[i]!;
    if ('data' in s && s.data.length > 0) steps[i] = { side: s.side, tsNs: s.tsNs, gap: s.data.length };
  }
  return steps;
}

/** An HTTP/1.1 keep-alive conversation of the plan's exchanges; its secrets are secretOf(firstSecret...). */
export function http1Conversation(plan: TrafficPlan, firstSecret = 0): PlantedConversation {
  const planter = new Planter(firstSecret);
  const writes: Array<readonly [Side, Uint8Array]> = [];
  const expected: ExpectedExchange[] = [];
  const lines = (fields: readonly Field[]) => fields.flatMap((f) => [f.line ?? `${f.name}: ${f.value}`, ...f.folds]);
  plan.exchanges.forEach((x, n) => {
    const target = targetOf(x, planter, n, true);
    const request = fieldsOf(x.requestHeaders, 'request', planter, true);
    // A body: sized, or chunked with a sensitive trailer field (never read as a header).
    const body = (present: boolean): { framing: string[]; text: string } => {
      if (!present) return { framing: ['Content-Length: 0'], text: '' };
      const text = `body=${planter.secret()}`;
      if (!x.chunked) return { framing: [`Content-Length: ${text.length}`], text };
      return { framing: ['Transfer-Encoding: chunked'], text: `${text.length.toString(16)}\r\n${text}\r\n0\r\nAuthorization: ${planter.secret()}\r\n\r\n` };
    };
    const req = body(x.requestBody);
    writes.push(['request', latin1([`${x.requestBody ? 'POST' : 'GET'} ${target} HTTP/1.1`, `Host: ${authorityOf(x, planter)}`, ...lines(request), ...req.framing, '', req.text].join('\r\n'))]);
    const response = fieldsOf(x.responseHeaders, 'response', planter, true);
    const res = body(x.responseBody);
    writes.push(['response', latin1(['HTTP/1.1 200 OK', ...lines(response), ...res.framing, '', res.text].join('\r\n'))]);
    expected.push({ grpc: false, sent: { request: sentOf(request, 'request', 'http', true), response: sentOf(response, 'response', 'http', true) } });
  });
  return {
    name: 'planted http1', protocol: 'http1', fromStart: true, steps: stepsOf(writes, plan),
    hidden: planter.hidden, allowedValues: planter.allowedValues, expected: plan.gapAt === null ? expected : undefined,
  };
}

const PSEUDO: FieldEncoding = { literal: 'without', nameByIndex: true, indexedIfPresent: true, huffmanName: false, huffmanValue: false };

/** Frame payloads stay under SETTINGS_MAX_FRAME_SIZE's default (16384), padding included. */
const MAX_PIECE = 16_000;

/** HEADERS (maybe padded with a secret) and CONTINUATION frames carrying `block`, cut at `cuts` (fractions) and as the frame size needs. */
function headerFrames(block: Uint8Array, streamId: number, endStream: boolean, cuts: readonly number[], padding: string | undefined): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * block.length)))].filter((n) => n > 0 && n < block.length).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, block.length]) {
    for (; to - from > MAX_PIECE; from += MAX_PIECE) pieces.push(block.subarray(from, from + MAX_PIECE));
    pieces.push(block.subarray(from, to));
    from = to;
  }
  return pieces.map((piece, i) => {
    const last = i === pieces.length - 1 ? Flag.END_HEADERS : 0;
    if (i > 0) return frame(FrameType.CONTINUATION, last, streamId, piece);
    const pad = padding === undefined ? undefined : latin1(padding);
    const payload = pad === undefined ? piece : new Uint8Array(Buffer.concat([Uint8Array.of(pad.length), piece, pad]));
    return frame(FrameType.HEADERS, last | (endStream ? Flag.END_STREAM : 0) | (pad ? Flag.PADDED : 0), streamId, payload);
  });
}

/** An HTTP/2 connection of the plan's exchanges, one stream each; gRPC calls when `grpc`. */
export function http2Conversation(plan: TrafficPlan, grpc: boolean, firstSecret = 0): PlantedConversation {
  const planter = new Planter(firstSecret);
  const writes: Array<readonly [Side, Uint8Array]> = [[ 'request', new Uint8Array(Buffer.concat([CLIENT_PREFACE, frame(FrameType.SETTINGS, 0, 0, new Uint8Array(0))])) ]];
  const requestWriter = new HpackWriter();
  const responseWriter = new HpackWriter();
  const expected: ExpectedExchange[] = [];
  const kind = grpc ? 'grpc' : 'http';
  let previousSensitive: Field[] = [];
  const asTuples = (fields: readonly Field[]) => fields.map((f) => [f.name, f.value, f.enc] as const);
  const body = (text: string) => (grpc ? new Uint8Array(Buffer.concat([Uint8Array.of(0, 0, 0, 0, text.length), latin1(text)])) : latin1(text));
  plan.exchanges.forEach((x, n) => {
    const id = 2 * n + 1;
    const pseudo: Array<readonly [string, string, FieldEncoding]> = [
      [':method', grpc || x.requestBody ? 'POST' : 'GET', PSEUDO], [':scheme', 'http', PSEUDO], [':authority', authorityOf(x, planter), PSEUDO],
      [':path', grpc ? `/planted.Service/Call${n}` : targetOf(x, planter, n, false), PSEUDO],
      ...(grpc ? [['content-type', 'application/grpc', PSEUDO] as const, ['te', 'trailers', PSEUDO] as const] : []),
    ];
    const request = fieldsOf(x.requestHeaders, 'request', planter, false);
    const replayed = x.replayPrevious ? previousSensitive.map((f) => ({ ...f, enc: { ...f.enc, indexedIfPresent: true } })) : [];
    previousSensitive = request.filter((f) => f.allowed === undefined);
    const block = requestWriter.block([...pseudo, ...asTuples(replayed), ...asTuples(request)], x.tableSize ?? undefined);
    const requestText = grpc || x.requestBody ? `body=${planter.secret()}` : undefined;
    writes.push(['request', new Uint8Array(Buffer.concat([
      ...headerFrames(block, id, requestText === undefined, x.continuation, x.padded ? planter.secret() : undefined),
      ...(requestText === undefined ? [] : [frame(FrameType.DATA, Flag.END_STREAM, id, body(requestText))]),
    ]))]);

    const response = fieldsOf(x.responseHeaders, 'response', planter, false);
    const trailers = fieldsOf(x.trailers, 'response', planter, false);
    const withTrailers = grpc || trailers.length > 0;
    const responseText = grpc || x.responseBody ? `body=${planter.secret()}` : undefined;
    const head = responseWriter.block([[':status', '200', PSEUDO], ['content-type', grpc ? 'application/grpc' : 'text/plain', PSEUDO], ...asTuples(response)]);
    const parts: Uint8Array[] = n === 0 ? [frame(FrameType.SETTINGS, 0, 0, new Uint8Array(0))] : [];
    parts.push(...headerFrames(head, id, responseText === undefined && !withTrailers, [], undefined));
    if (responseText !== undefined) parts.push(frame(FrameType.DATA, withTrailers ? 0 : Flag.END_STREAM, id, body(responseText)));
    if (withTrailers) {
      const tail = responseWriter.block([...(grpc ? [['grpc-status', '0', PSEUDO] as const] : []), ...asTuples(trailers)]);
      parts.push(...headerFrames(tail, id, true, [], undefined));
    }
    writes.push(['response', new Uint8Array(Buffer.concat(parts))]);
    expected.push({ grpc, sent: { request: sentOf(request, 'request', kind, false), response: sentOf([...response, ...trailers], 'response', kind, false) } });
  });
  return {
    name: `planted ${grpc ? 'grpc' : 'http2'}`, protocol: 'http2', fromStart: true, steps: stepsOf(writes, plan),
    hidden: planter.hidden, allowedValues: planter.allowedValues, expected: plan.gapAt === null ? expected : undefined,
  };
}
