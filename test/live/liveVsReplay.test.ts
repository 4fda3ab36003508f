/**
 * One pipeline, two sources: the same real traffic (nginx and a node
 * HTTP/2 server, driven by curl) seen live by the BPF sensor and captured
 * by tcpdump on loopback, then replayed from the pcap. The exchanges must
 * be the same from both sources, from the server's and the client's side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { readCapture } from '../../src/source/pcap/index.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { freePort, node24, run, startServer, type Server } from '../support/peers.ts';

const skipReason = bpfUnavailableReason();
const dir = mkdtempSync(path.join(tmpdir(), 'hp-live-replay-'));

/** What must agree: kind, name, status, sizes. */
const keyOf = (s: Span) =>
  [s.kind, s.name, s.attributes['http.response.status_code'], s.attributes['http.request.body.size'], s.attributes['http.response.body.size'], s.attributes['network.protocol.version']].join(' ');

async function replay(file: string, perspective: 'server' | 'client'): Promise<Span[]> {
  const spans: Span[] = [];
  const pipeline = new Pipeline({ write: (s) => void spans.push(...s), close: async () => {} });
  for await (const batch of readCapture(file, { perspective })) pipeline.accept(batch);
  await pipeline.close();
  return spans;
}

describe.skipIf(skipReason)('live capture and pcap replay of the same traffic', () => {
  let nginx: Server;
  let h2: Server;
  let ports: [number, number];

  beforeAll(async () => {
    ports = [await freePort(), await freePort()];
    writeFileSync(path.join(dir, 'page.html'), 'p'.repeat(30_000));
    writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${ports[0]}; root ${dir}; location /api/ { return 201 "made\\n"; } } }`);
    nginx = await startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], ports[0]);
    h2 = await startServer(node24, ['-e', `require('http2').createServer().on('stream', (s, h) => { s.respond({ ':status': h[':path'] === '/gone' ? 410 : 200 }); s.end('h2 body'); }).listen(${ports[1]}, '127.0.0.1')`], ports[1]);
  });
  afterAll(async () => {
    await nginx?.stop();
    await h2?.stop();
  });

  it('gives the same exchanges from both sources, server and client side', async () => {
    const pcap = path.join(dir, 'traffic.pcap');
    const tcpdump = spawn('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-w', pcap, `tcp port ${ports[0]} or tcp port ${ports[1]}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    tcpdump.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
      tcpdump.stderr.on('data', () => { if (err.includes('listening on')) { clearTimeout(t); resolve(); } });
    });
    const live = new LiveSpans({ ports });
    try {
      const base = `http://127.0.0.1:${ports[0]}`;
      const r1 = await run('curl', ['-sS', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', `${base}/page.html`, `${base}/missing`, `${base}/api/items/1`]);
      const r2 = await run('curl', ['-sS', '-o', '/dev/null', '--data-binary', 'x'.repeat(2000), `${base}/api/items`]);
      const r3 = await run('curl', ['-sS', '-o', '/dev/null', '--http2-prior-knowledge', `http://127.0.0.1:${ports[1]}/h2/7`]);
      const r4 = await run('curl', ['-sS', '-o', '/dev/null', '--http2-prior-knowledge', `http://127.0.0.1:${ports[1]}/gone`]);
      for (const r of [r1, r2, r3, r4]) expect(r.code, r.stderr).toBe(0);
      await live.until((s) => s.length >= 12, '6 exchanges from both ends');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await live.close();
      tcpdump.kill('SIGINT');
      await once(tcpdump, 'exit');
    }
    const liveKeys = (kind: number) => live.spans.filter((s) => s.kind === kind).map(keyOf).sort();
    expect(liveKeys(2)).toHaveLength(6);
    expect((await replay(pcap, 'server')).map(keyOf).sort()).toEqual(liveKeys(2));
    expect((await replay(pcap, 'client')).map(keyOf).sort()).toEqual(liveKeys(3));
  });
});
