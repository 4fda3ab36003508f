/**
 * Seeds for the fuzz properties: real conversations, as the sides of a
 * connection deliver them to a parser, and the real capture files. From
 * the HTTP/2 recordings beside the parser (src/protocols/http2/testdata),
 * the recordings of real traffic (test/recordings), the shared captures
 * (../shared/captures, when present) and a few hand-made HTTP/1
 * conversations, so the properties run even where the captures are missing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Side } from '../../src/protocols/contract.ts';
import { PROTOCOLS } from '../../src/protocols/registry.ts';
import { loadRecording, recordingNames } from '../../src/protocols/http2/testing.ts';
import { readRecording } from '../../src/recording/recordingReader.ts';
import type { ConnOpenEvent, DataEvent, Direction, SensorEvent } from '../../src/source/events.ts';
import { readDecryptedCapture, readKeyLog } from '../../src/source/pcap/index.ts';
import type { KeyLog } from '../../src/source/pcap/tls/index.ts';
import { SHARED_CAPTURES, sharedCapturesMissing } from '../support/sharedCaptures.ts';

export type Step =
  | { readonly side: Side; readonly tsNs: bigint; readonly data: Uint8Array }
  | { readonly side: Side; readonly tsNs: bigint; readonly gap: number };

export interface Conversation {
  /** Where it came from: "capture zeek-http-pipelined-requests.pcap #2". */
  readonly name: string;
  /** The protocol inference chose for it, as the connection tracker would. */
  readonly protocol: string;
  /** Seen from the connection's first byte (its opening was captured). */
  readonly fromStart: boolean;
  readonly steps: readonly Step[];
}

export interface CaptureFile {
  readonly name: string;
  readonly bytes: Buffer;
  readonly keylog?: KeyLog;
}

export interface Corpus {
  readonly conversations: readonly Conversation[];
  /** Real capture files small enough to be mutated and read many times. */
  readonly captures: readonly CaptureFile[];
  /** Lines of real recordings (test/recordings/*.hprec), header first. */
  readonly recordings: ReadonlyArray<{ readonly name: string; readonly lines: readonly string[] }>;
  /** Why the shared captures are not in it, when they are not. */
  readonly missing?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const RECORDINGS = path.resolve(here, '../recordings');

/** Bounds per conversation and per source: enough variety, runs that stay fast. */
const MAX_CONVERSATION_BYTES = 48 * 1024;
const MAX_CONVERSATION_STEPS = 240;
const MAX_CONVERSATIONS_PER_SOURCE = 6;
/** Captures mutated whole in each run: the small ones. */
const MAX_MUTATED_CAPTURE_BYTES = 24 * 1024;

/** Hand-made HTTP/1 conversations: every framing the parser knows, in a few lines each. */
function handMadeHttp1(): Conversation[] {
  const req = (text: string): Step => ({ side: 'request', tsNs: 0n, data: Buffer.from(text, 'latin1') });
  const res = (text: string): Step => ({ side: 'response', tsNs: 0n, data: Buffer.from(text, 'latin1') });
  const timed = (steps: Step[]): Step[] => steps.map((s, i) => ({ ...s, tsNs: 1_000n * BigInt(i + 1) }));
  const get = (p: string, extra = '') => `GET ${p} HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: curl/8\r\n${extra}\r\n`;
  const cases: Array<[string, Step[]]> = [
    ['keep-alive', [req(get('/users/42')), res('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), req(get('/users/43?x=1')), res('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')]],
    ['chunked', [req(get('/c')), res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n')]],
    ['post-chunked', [req('POST /api/v1/items HTTP/1.1\r\nHost: [::1]:9000\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n'), res('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}')]],
    ['pipelined', [req(get('/a') + get('/b')), res('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb')]],
    ['continue', [req('POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n'), res('HTTP/1.1 100 Continue\r\n\r\n'), req('hello world'), res('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')]],
    ['head-204-304', [req('HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n'), res('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n'), req('DELETE /x/1 HTTP/1.1\r\nHost: h\r\n\r\n'), res('HTTP/1.1 204 No Content\r\n\r\n'), req(get('/c', 'If-None-Match: "a"\r\n')), res('HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n')]],
    ['http10-until-close', [req('GET / HTTP/1.0\r\n\r\n'), res('HTTP/1.0 200 OK\r\nServer: x\r\n\r\npart one '), res('part two')]],
    ['upgrade', [req(get('/chat', 'Upgrade: websocket\r\nConnection: Upgrade\r\n')), res('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello')]],
    ['traceparent-5xx', [req(get('/fail', 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n')), res('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy')]],
  ];
  return cases.map(([name, steps]) => ({ name: `hand-made http1 ${name}`, protocol: 'http1', fromStart: true, steps: timed(steps) }));
}

/** The HTTP/2 and gRPC conversations recorded beside the parser. */
function http2Recordings(): Conversation[] {
  return recordingNames().map((name) => ({ name: `http2 testdata ${name}`, protocol: 'http2', fromStart: true, steps: loadRecording(name) }));
}

/**
 * Connections of a source's events as parser input: each direction in
 * stream order (holes and uncaptured bytes become gaps), the sides and
 * the protocol chosen by inference over the first bytes, as the tracker
 * chooses them. Connections no protocol claims are left out.
 */
export function conversationsOf(events: readonly SensorEvent[], source: string): Conversation[] {
  const opens = new Map<string, ConnOpenEvent>();
  const byConn = new Map<string, DataEvent[]>();
  for (const ev of events) {
    if (ev.type === 'open') opens.set(ev.conn, ev);
    if (ev.type !== 'data') continue;
    let list = byConn.get(ev.conn);
    if (!list) byConn.set(ev.conn, (list = []));
    list.push(ev);
  }
  // A connection's TLS plaintext, when there is some, replaces its socket bytes (as in the tracker).
  for (const [conn, list] of byConn) if (list.some((ev) => ev.tls)) byConn.set(conn, list.filter((ev) => ev.tls));
  const out: Conversation[] = [];
  for (const [conn, data] of byConn) {
    if (out.length >= MAX_CONVERSATIONS_PER_SOURCE) break;
    const open = opens.get(conn);
    const inOrder = streamSteps(data);
    const first = (dir: Direction) => Buffer.concat(inOrder.filter((s) => s.dir === dir && 'data' in s).slice(0, 8).map((s) => (s as { data: Uint8Array }).data)).subarray(0, 4096);
    const facts = { egress: first('egress'), ingress: first('ingress'), role: open?.role ?? 'unknown' } as const;
    const claimed = PROTOCOLS.map((p) => ({ p, v: p.infer(facts) })).find((x) => x.v.verdict === 'yes');
    if (!claimed) continue;
    const requestsOn: Direction = claimed.v.requestsOn ?? (open?.role === 'server' ? 'ingress' : 'egress');
    let bytes = 0;
    const steps: Step[] = [];
    for (const s of inOrder) {
      if (steps.length >= MAX_CONVERSATION_STEPS || bytes >= MAX_CONVERSATION_BYTES) break;
      const side: Side = s.dir === requestsOn ? 'request' : 'response';
      if ('gap' in s) steps.push({ side, tsNs: s.tsNs, gap: s.gap });
      else {
        steps.push({ side, tsNs: s.tsNs, data: s.data });
        bytes += s.data.length;
      }
    }
    out.push({ name: `${source} conn ${conn}`, protocol: claimed.p.name, fromStart: open !== undefined && open.origin !== 'existing', steps });
  }
  return out;
}

type DirStep = ({ data: Uint8Array } | { gap: number }) & { dir: Direction; tsNs: bigint };

/** Data events of one connection as in-order bytes and gaps per direction (overlaps dropped). */
function streamSteps(data: readonly DataEvent[]): DirStep[] {
  const next: Record<Direction, number> = { egress: -1, ingress: -1 };
  const out: DirStep[] = [];
  for (const ev of data) {
    const dir = ev.direction;
    if (next[dir] < 0) next[dir] = ev.pos;
    if (ev.pos > next[dir]) out.push({ dir, tsNs: ev.tsNs, gap: ev.pos - next[dir] });
    const skip = Math.max(0, next[dir] - ev.pos);
    if (skip < ev.payload.length) out.push({ dir, tsNs: ev.tsNs, data: ev.payload.subarray(skip) });
    const captured = ev.pos + ev.payload.length;
    const end = ev.pos + ev.len;
    if (end > Math.max(captured, next[dir])) out.push({ dir, tsNs: ev.tsNs, gap: end - Math.max(captured, next[dir]) });
    next[dir] = Math.max(next[dir], end);
  }
  return out;
}

async function recordingSeeds(): Promise<{ conversations: Conversation[]; recordings: Corpus['recordings'] }> {
  const conversations: Conversation[] = [];
  const recordings: Array<{ name: string; lines: string[] }> = [];
  for (const file of readdirSync(RECORDINGS).filter((f) => f.endsWith('.hprec')).sort()) {
    const full = path.join(RECORDINGS, file);
    const events: SensorEvent[] = [];
    for await (const batch of readRecording(full)) events.push(...batch);
    conversations.push(...conversationsOf(events, `recording ${file}`));
    recordings.push({ name: file, lines: readFileSync(full, 'utf8').split('\n').filter((l) => l !== '') });
  }
  return { conversations, recordings };
}

/** The shared captures whose MANIFEST row names a protocol we parse. */
function httpCaptureNames(): string[] {
  const rows = readFileSync(path.join(SHARED_CAPTURES, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1);
  return rows
    .map((r) => r.split('\t'))
    .filter((cols) => cols[0] && /(^|,)(http|http2|grpc)(,|$)/.test(cols[4] ?? ''))
    .map((cols) => cols[0]!)
    .filter((name) => existsSync(path.join(SHARED_CAPTURES, name)))
    .sort();
}

function keylogOf(name: string): KeyLog | undefined {
  const file = path.join(SHARED_CAPTURES, name.replace(/\.pcap(ng)?$/, '.keylog'));
  return existsSync(file) ? readKeyLog(file) : undefined;
}

async function captureSeeds(): Promise<{ conversations: Conversation[]; captures: CaptureFile[] }> {
  const conversations: Conversation[] = [];
  const captures: CaptureFile[] = [];
  for (const name of httpCaptureNames()) {
    const file = path.join(SHARED_CAPTURES, name);
    const keylog = keylogOf(name);
    const events: SensorEvent[] = [];
    // Each connection is cut to its first bytes: stop reading once every seed has enough.
    let read = 0;
    for await (const batch of readDecryptedCapture(file, { comm: 'fuzz', ...(keylog ? { keylog } : {}) })) {
      events.push(...batch);
      read += batch.length;
      if (read > 4000) break;
    }
    conversations.push(...conversationsOf(events, `capture ${name}`));
    if (statSync(file).size <= MAX_MUTATED_CAPTURE_BYTES) captures.push({ name, bytes: readFileSync(file), ...(keylog ? { keylog } : {}) });
  }
  return { conversations, captures };
}

let loaded: Promise<Corpus> | undefined;

/** The corpus, loaded once per process (reading the captures takes a moment). */
export function loadCorpus(): Promise<Corpus> {
  loaded ??= (async () => {
    const missing = sharedCapturesMissing();
    const fromRecordings = await recordingSeeds();
    const fromCaptures = missing === undefined ? await captureSeeds() : { conversations: [], captures: [] };
    return {
      conversations: [...handMadeHttp1(), ...http2Recordings(), ...fromRecordings.conversations, ...fromCaptures.conversations],
      captures: fromCaptures.captures,
      recordings: fromRecordings.recordings,
      ...(missing !== undefined ? { missing } : {}),
    };
  })();
  return loaded;
}

/** The conversations a protocol's parser is given as valid input. */
export function conversationsFor(corpus: Corpus, protocol: string): Conversation[] {
  return corpus.conversations.filter((c) => c.protocol === protocol);
}
