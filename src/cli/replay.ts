/**
 * `hydrophone replay <file>`: a recording (from `capture --out`) through the
 * same pipeline as live traffic, as JSON Lines spans. No privileges needed.
 */
import { parseArgs } from 'node:util';
import { openSync, readSync, closeSync } from 'node:fs';
import { Pipeline } from '../pipeline/pipeline.ts';
import { JsonLinesSink } from '../sinks/stdoutSink.ts';
import { readRecording } from '../recording/recordingReader.ts';
import { UsageError } from './usageError.ts';
import { reportPipeline } from './summary.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import { IdGenerator } from '../spans/ids.ts';
import { ProcessNames } from '../enrichment/processNames.ts';

const HELP = `usage: hydrophone replay <recording>

Spans, as JSON Lines, from a recording made by 'hydrophone capture --out'.
(pcap and pcapng replay come with the bench issue.)`;

const PCAP_MAGICS = ['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1', '0a0d0d0a'];

function magicOf(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    return b.toString('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * A recording's pids are history: no /proc lookups (a live process may
 * have the same pid now), and the host is the recording's.
 */
export function replaySpanBuilder(host: string, ids = new IdGenerator()): SpanBuilder {
  return new SpanBuilder(ids, new ProcessNames(null), host);
}

/** The host named in a recording's header (the reader validates the rest). */
function readHeaderHost(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4096);
    const n = readSync(fd, b, 0, b.length, 0);
    const line = b.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
    return (JSON.parse(line) as { host?: string }).host ?? 'unknown';
  } catch {
    return 'unknown';
  } finally {
    closeSync(fd);
  }
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`replay takes one file, got ${positionals.length}\n\n${HELP}`);
  const file = positionals[0]!;
  if (PCAP_MAGICS.includes(magicOf(file))) {
    throw new UsageError(`${file} is a packet capture: pcap/pcapng replay is not built yet (the bench issue); recordings from 'hydrophone capture --out' replay today`);
  }
  const sink = new JsonLinesSink();
  const pipeline = new Pipeline(sink, { spanBuilder: replaySpanBuilder(readHeaderHost(file)) });
  try {
    for await (const batch of readRecording(file)) pipeline.accept(batch);
  } finally {
    // What was read before a bad line still becomes spans.
    await pipeline.close();
    reportPipeline(pipeline, sink.dropped);
  }
  return 0;
}
