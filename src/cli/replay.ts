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
import { choice } from './options.ts';
import { isPacketCapture, readDecryptedCapture, readKeyLog, type TlsStats } from '../source/pcap/index.ts';
import { reportPipeline } from './summary.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';
import { IdGenerator } from '../spans/ids.ts';
import { ProcessTable } from '../enrichment/processTable.ts';
import { WorkloadResolver } from '../enrichment/workloadResolver.ts';
import { ATTRIBUTE_HELP, attributeCaptureFromFlags, attributeFlags } from './attributeOptions.ts';

const HELP = `usage: hydrophone replay <file.pcap|file.pcapng|recording> [--perspective server|client] [--keylog FILE] [capture options]

Spans, as JSON Lines, from a packet capture or a recording made by
'hydrophone capture --out', through the same pipeline as live traffic.
No privileges needed.

  --perspective P   for captures: whose spans, the server's (default) or
                    the client's (kind SERVER or CLIENT)
  --keylog FILE     TLS secrets (SSLKEYLOGFILE format) to decrypt HTTPS in a
                    capture; without it TLS connections are counted and skipped
  --routes MODE     collapse (default) or raw: see 'hydrophone run --help'

What spans carry besides the fixed attributes, as 'hydrophone run' takes it
(flags only here, no file or environment):
${ATTRIBUTE_HELP}`;

function firstBytes(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(16);
    const n = readSync(fd, b, 0, b.length, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * A recording's pids are history: no /proc lookups (a live process may
 * have the same pid now), and the host is the recording's.
 */
export function replaySpanBuilder(host: string, ids = new IdGenerator()): SpanBuilder {
  return new SpanBuilder(ids, new WorkloadResolver(new ProcessTable({ procRoot: null }), host));
}

function reportTls(tls: TlsStats): void {
  if (tls.connections === 0) return;
  const why = Object.entries(tls.reasons).map(([r, n]) => `${n}: ${r}`).join('; ');
  process.stderr.write(`hydrophone: ${tls.connections} TLS connections: ${tls.decrypted} decrypted, ${tls.skipped} skipped${why ? ` (${why})` : ''}\n`);
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
  const { values, positionals } = parseArgs({
    args: argv,
    options: { perspective: { type: 'string' }, keylog: { type: 'string' }, routes: { type: 'string' }, ...attributeFlags(), help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`replay takes one file, got ${positionals.length}\n\n${HELP}`);
  const file = positionals[0]!;
  const perspective = choice('perspective', values.perspective, ['server', 'client'] as const) ?? 'server';
  const capture = isPacketCapture(firstBytes(file));
  const sink = new JsonLinesSink();
  const spanBuilder = replaySpanBuilder(capture ? 'capture' : readHeaderHost(file));
  spanBuilder.routes = choice('routes', values.routes, ['collapse', 'raw'] as const) ?? 'collapse';
  const attributeCapture = attributeCaptureFromFlags(values);
  if (attributeCapture) process.stderr.write(`hydrophone: ${attributeCapture.describe()}\n`);
  const pipeline = new Pipeline(sink, { spanBuilder, ...(attributeCapture ? { capture: attributeCapture } : {}) });
  const keylog = values.keylog !== undefined ? readKeyLog(values.keylog) : undefined;
  if (keylog && !capture) throw new UsageError('--keylog applies to packet captures; a recording holds what the sensor saw');
  try {
    if (capture) {
      const source = readDecryptedCapture(file, { perspective, comm: 'pcap', keylog });
      for (;;) {
        const r = await source.next();
        if (r.done) {
          reportTls(r.value.tls);
          break;
        }
        pipeline.accept(r.value);
      }
    } else {
      for await (const batch of readRecording(file)) pipeline.accept(batch);
    }
  } finally {
    // What was read before a bad line still becomes spans.
    await pipeline.close();
    reportPipeline(pipeline, sink.dropped);
  }
  return 0;
}
