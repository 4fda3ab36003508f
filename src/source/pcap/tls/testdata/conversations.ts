/** Test support: loads the recorded conversations and replays them through a decryptor. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlaintextChunk, TlsDecryptor } from '../tlsDecryptor.ts';

export type From = 'client' | 'server';

export interface Segment {
  from: From;
  tsNs: bigint;
  bytes: Buffer;
}

export interface Sent {
  length: number;
  sha256: string;
  head: string;
}

export interface NodeCase {
  name: string;
  what: string;
  version: string;
  cipher: string;
  keylog: string[];
  connections: { segments: Segment[]; sent: Record<From, Sent> }[];
}

interface RawSegment { from: From; tsNs: string; base64: string }

function segments(raw: RawSegment[]): Segment[] {
  return raw.map((s) => ({ from: s.from, tsNs: BigInt(s.tsNs), bytes: Buffer.from(s.base64, 'base64') }));
}

export function nodeCases(): NodeCase[] {
  const json = JSON.parse(readFileSync(join(import.meta.dirname, 'nodeTlsConversations.json'), 'utf8')) as {
    cases: (Omit<NodeCase, 'connections'> & { connections: { segments: RawSegment[]; sent: Record<From, Sent> }[] })[];
  };
  return json.cases.map((c) => ({ ...c, connections: c.connections.map((x) => ({ sent: x.sent, segments: segments(x.segments) })) }));
}

export function nodeCase(name: string): NodeCase {
  const c = nodeCases().find((x) => x.name === name);
  if (c === undefined) throw new Error(`no case ${name}`);
  return c;
}

/** Shared captures live outside the repository (../shared/captures); the testdata JSON holds stream 0's payload. */
export const SHARED_CAPTURES = join(import.meta.dirname, '../../../../../../shared/captures');

export function captureStream(name: string): { segments: Segment[]; keylogText: string } {
  const json = JSON.parse(readFileSync(join(import.meta.dirname, `${name}.json`), 'utf8')) as { keylog: string; segments: RawSegment[] };
  return { segments: segments(json.segments), keylogText: readFileSync(join(SHARED_CAPTURES, json.keylog), 'utf8') };
}

export interface Replayed {
  chunks: PlaintextChunk[];
  text: Record<From, Buffer>;
}

export function replay(decryptor: TlsDecryptor, segs: readonly Segment[]): Replayed {
  const chunks: PlaintextChunk[] = [];
  for (const s of segs) chunks.push(...decryptor.push(s.from, s.bytes, s.tsNs));
  return { chunks, text: plaintextOf(chunks) };
}

export function plaintextOf(chunks: readonly PlaintextChunk[]): Record<From, Buffer> {
  const of = (from: From): Buffer => Buffer.concat(chunks.filter((c) => c.from === from).map((c) => c.bytes));
  return { client: of('client'), server: of('server') };
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
