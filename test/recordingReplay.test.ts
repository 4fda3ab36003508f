/**
 * Recordings of real traffic (test/recordings/) through the pipeline,
 * unprivileged, against golden spans. Ids come from a fixed key so the
 * goldens are stable; UPDATE_GOLDEN=1 rewrites them (review the diff).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { readRecording } from '../src/recording/recordingReader.ts';
import { replaySpanBuilder } from '../src/cli/replay.ts';
import { IdGenerator } from '../src/spans/ids.ts';
import { spanToJson, type Span } from '../src/spans/span.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'recordings');

async function replay(name: string): Promise<{ spans: Span[]; stats: ReturnType<Pipeline['stats']> }> {
  const spans: Span[] = [];
  const pipeline = new Pipeline(
    { write: (s) => void spans.push(...s), close: async () => {} },
    { spanBuilder: replaySpanBuilder('recording-host', new IdGenerator(Buffer.alloc(24, 7))) },
  );
  for await (const batch of readRecording(path.join(dir, `${name}.hprec`))) pipeline.accept(batch);
  await pipeline.close();
  return { spans, stats: pipeline.stats() };
}

describe('replaying recordings of real traffic', () => {
  it.each(['nginx-curl', 'node-http2-multiplex'])('%s gives the golden spans', async (name) => {
    const { spans, stats } = await replay(name);
    const text = `${spans.map(spanToJson).join('\n')}\n${JSON.stringify({ parsers: stats.parsers, gaps: stats.tracker.gaps })}\n`;
    const golden = path.join(dir, `${name}.spans.json`);
    if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });

  it('nginx-curl: every exchange from both ends, nested, honouring the traceparent', async () => {
    const { spans } = await replay('nginx-curl');
    const servers = spans.filter((s) => s.kind === 2);
    const clients = spans.filter((s) => s.kind === 3);
    expect(servers.map((s) => [s.name, s.attributes['http.response.status_code']])).toEqual([
      ['GET /page.html', 200], ['GET /api/users/{id}', 200], ['GET /boom', 502], ['HEAD /api/x', 200],
    ]);
    expect(servers[0]!.attributes['http.response.body.size']).toBe(50000);
    for (const s of servers) expect(s.parentSpanId).toBe(clients.find((c) => c.name === s.name)!.spanId);
    const head = clients.find((c) => c.name === 'HEAD /api/x')!;
    expect(head.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(head.parentSpanId).toBe('b7ad6b7169203331');
    expect(spans.every((s) => s.resource['host.name'] === 'recording-host')).toBe(true);
  });
});
