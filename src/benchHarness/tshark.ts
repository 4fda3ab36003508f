/**
 * tshark (Wireshark's CLI) on the same capture, as the second opinion:
 * its HTTP/1.1 request/response pairs, HTTP/2 streams and gRPC calls,
 * reduced to the keys of agreement.ts, and how long it took.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { emptyObserved, pathOfUri, type Observed } from './agreement.ts';

export class TsharkError extends Error {
  readonly code = 'HP_TSHARK';
}

async function tshark(args: string[]): Promise<string> {
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const [code] = (await Promise.race([
    once(child, 'exit'),
    once(child, 'error').then(([e]) => { throw new TsharkError(`tshark could not run (${(e as Error).message}): install it with 'apt-get install tshark'`); }),
  ])) as [number | null];
  if (code !== 0) throw new TsharkError(`tshark ${args.join(' ')} failed (exit ${code}): ${err.split('\n').filter((l) => !/Running as user/.test(l)).join(' ').slice(0, 300)}`);
  return Buffer.concat(out).toString('utf8');
}

/**
 * tshark's `-T json` output, a packet at a time: a looped capture's JSON
 * runs to gigabytes, past the longest string V8 can make. tshark prints
 * the array pretty, each packet's object opening with "  {" and closing
 * with "  }" at two spaces of indentation.
 */
async function tsharkJsonPackets(args: string[], onPacket: (pkt: { _source: { layers: Json } }) => void): Promise<void> {
  const child = spawn('tshark', [...args, '-T', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const failed = once(child, 'error').then(([e]) => { throw new TsharkError(`tshark could not run (${(e as Error).message}): install it with 'apt-get install tshark'`); });
  const exited = once(child, 'exit');
  let lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    if (line === '  {') lines = [line];
    else if (lines.length > 0) {
      lines.push(line);
      if (line === '  }' || line === '  },') {
        lines[lines.length - 1] = '  }';
        onPacket(JSON.parse(lines.join('\n')) as { _source: { layers: Json } });
        lines = [];
      }
    }
  }
  const [code] = (await Promise.race([exited, failed])) as [number | null];
  if (code !== 0) throw new TsharkError(`tshark ${args.join(' ')} failed (exit ${code}): ${err.split('\n').filter((l) => !/Running as user/.test(l)).join(' ').slice(0, 300)}`);
}

/**
 * tshark's time for one pass that dissects HTTP and HTTP/2 and prints a
 * field per exchange frame: the least it needs to do what we do.
 */
export async function tsharkSeconds(file: string, decodeAs: readonly string[], extra: readonly string[] = []): Promise<number> {
  const t0 = process.hrtime.bigint();
  await tshark(['-r', file, ...extra, ...decodeAs.flatMap((x) => ['-d', x]), '-Y', 'http || http2', '-T', 'fields', '-e', 'frame.number']);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

type Json = Record<string, unknown>;
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every HTTP/2 frame of a packet as tshark's JSON shows it (one or several). */
function h2Frames(layers: Json): Json[] {
  return asList(layers.http2 as Json | Json[]).flatMap((h) => asList(h['http2.stream'] as Json | Json[]));
}

function headersOf(frame: Json): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of asList(frame['http2.header'] as Json | Json[])) {
    const name = h['http2.header.name'];
    if (typeof name === 'string') out.set(name, String(h['http2.header.value'] ?? ''));
  }
  return out;
}

/** `extra`: more tshark options, e.g. ['-o', 'tls.keylog_file:F'] to decrypt TLS. */
export async function tsharkObserved(file: string, decodeAs: readonly string[], extra: readonly string[] = []): Promise<{ observed: Observed; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const d = [...extra, ...decodeAs.flatMap((x) => ['-d', x])];
  const observed = emptyObserved();

  // HTTP/1.x: requests by frame number, responses name their request's frame.
  const fields = await tshark(['-r', file, ...d, '-Y', 'http.request || http.response', '-T', 'fields', '-E', 'separator=\t',
    '-e', 'frame.number', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.request_in', '-e', 'http.response.code']);
  const requests = new Map<string, { method: string; uri: string }>();
  for (const line of fields.split('\n')) {
    const [frame, methods, uris, requestIn, codes] = line.split('\t');
    if (!frame) continue;
    const m = (methods ?? '').split(',');
    const u = (uris ?? '').split(',');
    if (m[0]) requests.set(frame, { method: m[0], uri: u[0] ?? '' });
    const reqFrames = (requestIn ?? '').split(',').filter(Boolean);
    const statuses = (codes ?? '').split(',').filter(Boolean);
    statuses.forEach((status, i) => {
      const req = requests.get(reqFrames[i] ?? reqFrames[0] ?? '');
      if (req && status !== '100') observed.http1.push(`${req.method} ${pathOfUri(req.uri)} ${status}`);
    });
  }

  // HTTP/2 and gRPC: HEADERS frames joined per (TCP stream, HTTP/2 stream).
  const streams = new Map<string, { path?: string; status?: string; grpcStatus?: string; grpc: boolean }>();
  await tsharkJsonPackets(['-r', file, ...d, '-Y', 'http2.type == 1', '--no-duplicate-keys', '-J', 'tcp http2'], (pkt) => {
    const layers = pkt._source.layers;
    const tcpStream = String((layers.tcp as Json | undefined)?.['tcp.stream'] ?? '?');
    for (const frame of h2Frames(layers)) {
      if (frame['http2.type'] !== '1') continue;
      const key = `${tcpStream}/${frame['http2.streamid']}`;
      const s = streams.get(key) ?? { grpc: false };
      const h = headersOf(frame);
      if (h.has(':path')) s.path = pathOfUri(h.get(':path')!);
      if (h.has(':status') && h.get(':status') !== '100') s.status = h.get(':status');
      if (h.get('content-type')?.startsWith('application/grpc')) s.grpc = true;
      if (h.has('grpc-status')) s.grpcStatus = h.get('grpc-status');
      streams.set(key, s);
    }
  });
  for (const s of streams.values()) {
    if (s.path === undefined) continue; // a stream tshark saw no request for
    if (s.grpc) {
      if (s.grpcStatus !== undefined) observed.grpc.push(`${s.path.slice(1)} ${s.grpcStatus}`);
    } else if (s.status !== undefined) observed.http2.push(`${s.path} ${s.status}`);
  }
  return { observed, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
