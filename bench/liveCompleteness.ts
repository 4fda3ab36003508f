/**
 * Live completeness: wrk at a fixed rate against nginx with the sensor
 * running; how many requests became correct spans, and whether every
 * missing one is accounted for by a counted loss.
 *
 *   node bench/liveCompleteness.ts [--rate 5000] [--seconds 30] [--json]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { BpfSource } from '../src/source/bpf/bpfSource.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';

const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' } } });
const RATE = Number(values.rate ?? 5000);
const SECONDS = Number(values.seconds ?? 30);
const CONNECTIONS = 50;

if (process.getuid?.() !== 0) {
  process.stderr.write('bench: needs root (it loads the BPF sensor)\n');
  process.exit(2);
}
for (const tool of ['wrk', '/usr/sbin/nginx']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    process.stderr.write(`bench: ${tool} is missing: run 'sh scripts/bootstrap.sh --test-peers'\n`);
    process.exit(2);
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'hp-complete-'));
const port = 20000 + Math.floor(Math.random() * 20000);
writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }`);
// Each connection waits delay() ms between requests: CONNECTIONS * 1000 / delay = rate.
writeFileSync(path.join(dir, 'rate.lua'), `function delay() return ${(CONNECTIONS * 1000) / RATE} end\n`);

const nginx = spawn('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));

let serverSpans = 0;
let clientSpans = 0;
let wrongSpans = 0;
const pipeline = new Pipeline({
  write(spans) {
    for (const s of spans) {
      if (s.kind === 2) serverSpans++;
      else clientSpans++;
      if (s.name !== 'GET /api/{id}' || s.attributes['http.response.status_code'] !== 200) wrongSpans++;
    }
  },
  close: async () => {},
});
const source = new BpfSource({ ports: [port] });
source.start((events) => pipeline.accept(events));

const cpu0 = process.cpuUsage();
// Asynchronously: the sensor's batches are handled on this event loop.
const wrk = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', path.join(dir, 'rate.lua'), `http://127.0.0.1:${port}/api/1`]);
let wrkOut = '';
wrk.stdout.on('data', (d: Buffer) => { wrkOut += d.toString(); });
await once(wrk, 'exit');
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setTimeout(r, 1000));
const counters = source.kernelCounters();
source.close();
await pipeline.close();
nginx.kill();

const requests = Number(/(\d+) requests in/.exec(wrkOut)?.[1] ?? NaN);
const stats = pipeline.stats();
const http1 = stats.parsers.http1 ?? { unansweredRequests: 0, droppedByGap: 0, orphanResponses: 0, invalidBytes: 0 };
const accounted = Number(counters.ringbufLost) + stats.tracker.gaps + http1.droppedByGap + http1.unansweredRequests;
const figures = {
  rate: RATE,
  seconds: SECONDS,
  requests,
  serverSpans,
  clientSpans,
  wrongSpans,
  completeness: +(Math.min(serverSpans, requests) / requests * 100).toFixed(3),
  missing: Math.max(0, requests - serverSpans),
  ringbufLost: Number(counters.ringbufLost),
  gaps: stats.tracker.gaps,
  droppedByGap: http1.droppedByGap,
  unanswered: http1.unansweredRequests,
  sensorCpuPercent: +(((cpu.user + cpu.system) / 1e6 / SECONDS) * 100).toFixed(1),
};
if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
else {
  process.stdout.write(`live completeness: wrk at ${RATE} req/s for ${SECONDS} s against nginx, sensor running
  requests (wrk)        ${requests} (${Math.round(requests / SECONDS)} req/s achieved)
  server spans          ${serverSpans}   client spans ${clientSpans}   wrong ${wrongSpans}
  completeness          ${figures.completeness}%   (target: >= 99.9%)
  missing               ${figures.missing}; accounted for by: ring buffer lost ${figures.ringbufLost} records, ${figures.gaps} gaps, ${figures.droppedByGap} dropped by gaps, ${figures.unanswered} unanswered
  sensor CPU            ${figures.sensorCpuPercent}% of one core
`);
}
if (figures.missing > accounted) {
  process.stderr.write(`bench: ${figures.missing - accounted} missing spans are not accounted for by any counter\n`);
  process.exitCode = 1;
}
