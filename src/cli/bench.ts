/**
 * `hydrophone bench <file>...`: captures through the sensor's own pipeline,
 * with throughput and memory figures, optionally beside tshark on the
 * same file with the agreement between the two. Each file is measured in a
 * child process of its own, so its peak RSS is its own.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { choice, intOption } from './options.ts';
import { UsageError } from './usageError.ts';
import { measure, type OurFigures } from '../benchHarness/measure.ts';
import { agreement, type Agreement, type Observed } from '../benchHarness/agreement.ts';
import { tsharkObserved, tsharkSeconds } from '../benchHarness/tshark.ts';
import { loopCapture } from '../benchHarness/loopCapture.ts';
import { decodeAsFromManifest } from '../benchHarness/decodeAs.ts';

const HELP = `usage: hydrophone bench <file.pcap|file.pcapng>... [options]

Replays each capture through the sensor's pipeline and prints packets,
bytes, spans, wall time, MB/s, packets/s, spans/s, peak RSS, gaps, drops.

  --repeat N          the capture N times over, in one file (steadier figures)
  --compare tshark    also run tshark on the same file: its time, our speed-up,
                      and the agreement of the exchanges both saw
  --decode-as X       tshark decode-as (tcp.port==N,proto); corpus files get
                      theirs from MANIFEST.tsv
  --perspective P     server (default) or client
  --keylog FILE       TLS secrets (SSLKEYLOGFILE) to decrypt HTTPS
  --json              one JSON object per file`;

interface Result extends OurFigures {
  repeat: number;
  tshark?: { seconds: number };
  speedup?: number;
  agreement?: Record<'http1' | 'http2' | 'grpc', Agreement> & { matched: number; onlyOurs: number; onlyTshark: number };
}

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** Measures one file in a child process; returns its figures (and keys when comparing). */
async function measureInChild(file: string, perspective: string, keys: boolean, keylog?: string): Promise<{ figures: OurFigures; observed?: Observed }> {
  const args = ['--one', file, '--perspective', perspective, ...(keys ? ['--keys'] : []), ...(keylog ? ['--keylog', keylog] : [])];
  // The same Node flags as this process (bin/hydrophone's heap settings).
  const child = spawn(process.execPath, [...process.execArgv, main, 'bench', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`measuring ${file} failed (exit ${code})`);
  return JSON.parse(Buffer.concat(out).toString('utf8')) as { figures: OurFigures; observed?: Observed };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function describe(r: Result): string {
  const lines = [
    `${path.basename(r.file)}${r.repeat > 1 ? ` x${r.repeat}` : ''}: ${fmt(r.packets)} packets, ${(r.bytes / 1e6).toFixed(1)} MB, ${fmt(r.spans)} spans in ${r.seconds.toFixed(3)} s: ` +
      `${r.mbPerSec} MB/s, ${fmt(r.packetsPerSec)} packets/s, ${fmt(r.spansPerSec)} spans/s; peak RSS ${r.peakRssMb} MB; ${r.gaps} gaps, ${r.drops} drops`,
  ];
  if (r.error) lines.push(`  stopped early: ${r.error}`);
  if (r.tshark) {
    lines.push(`  tshark ${r.tshark.seconds.toFixed(3)} s: we are ${r.speedup}x faster`);
    const a = r.agreement!;
    for (const proto of ['http1', 'http2', 'grpc'] as const) {
      const p = a[proto];
      if (!p.matched && !p.onlyOurs.length && !p.onlyTshark.length) continue;
      lines.push(`  ${proto}: ${p.matched} matched, ${p.onlyOurs.length} only ours, ${p.onlyTshark.length} only tshark`);
      const show = (label: string, xs: string[]) => {
        if (xs.length) lines.push(`    ${label}: ${[...new Set(xs)].slice(0, 5).map((k) => `${k} (x${xs.filter((x) => x === k).length})`).join(', ')}${new Set(xs).size > 5 ? ', ...' : ''}`);
      };
      show('only ours', p.onlyOurs);
      show('only tshark', p.onlyTshark);
    }
  }
  return lines.join('\n');
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      repeat: { type: 'string' },
      compare: { type: 'string' },
      'decode-as': { type: 'string', multiple: true },
      perspective: { type: 'string' },
      keylog: { type: 'string' },
      json: { type: 'boolean' },
      one: { type: 'string' },
      keys: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const perspective = choice('perspective', values.perspective, ['server', 'client'] as const) ?? 'server';
  if (values.one !== undefined) {
    // The child's side of measureInChild.
    process.stdout.write(JSON.stringify(await measure(values.one, perspective, values.keys ?? false, values.keylog)));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`bench needs at least one capture file\n\n${HELP}`);
  for (const f of positionals) if (!existsSync(f)) throw new UsageError(`${f}: no such file`);
  const repeat = intOption('repeat', values.repeat, 1, 100_000) ?? 1;
  const compare = choice('compare', values.compare, ['tshark'] as const);

  for (const original of positionals) {
    const looped = repeat > 1 ? loopCapture(original, repeat) : undefined;
    const file = looped?.file ?? original;
    try {
      const { figures, observed } = await measureInChild(file, perspective, compare !== undefined, values.keylog);
      const result: Result = { ...figures, file: original, repeat };
      if (compare) {
        const decodeAs = [...decodeAsFromManifest(original), ...(values['decode-as'] ?? [])];
        const tsharkOptions = values.keylog ? ['-o', `tls.keylog_file:${path.resolve(values.keylog)}`] : [];
        const seconds = await tsharkSeconds(file, decodeAs, tsharkOptions);
        const theirs = (await tsharkObserved(file, decodeAs, tsharkOptions)).observed;
        const per = {
          http1: agreement(observed!.http1, theirs.http1),
          http2: agreement(observed!.http2, theirs.http2),
          grpc: agreement(observed!.grpc, theirs.grpc),
        };
        const all = Object.values(per);
        result.tshark = { seconds: +seconds.toFixed(4) };
        result.speedup = +(seconds / figures.seconds).toFixed(1);
        result.agreement = {
          ...per,
          matched: all.reduce((n, a) => n + a.matched, 0),
          onlyOurs: all.reduce((n, a) => n + a.onlyOurs.length, 0),
          onlyTshark: all.reduce((n, a) => n + a.onlyTshark.length, 0),
        };
      }
      process.stdout.write(values.json ? `${JSON.stringify({ ...result, 'tshark.seconds': result.tshark?.seconds })}\n` : `${describe(result)}\n`);
    } finally {
      looped?.dispose();
    }
  }
  return 0;
}
