/**
 * The soak benchmark (issue 8): `hydrophone run` as a node would run it,
 * for --minutes (default 10), while wrk drives nginx at a steady rate and
 * the sensor's only sink, a real OpenTelemetry Collector, is frozen
 * (SIGSTOP) half of the time, in --stall-s periods. Every 10 s it samples
 * the sensor's RSS and its /metrics; at the end it checks that the spans
 * lost are exactly the spans the sensor counted as dropped:
 *
 *   built = sent + dropped                   (the sensor's own accounting)
 *   dropped - maybeDelivered <= lost <= dropped, lost = built - distinct spans the collector holds
 *   duplicates at the collector <= spans resent after a timed-out attempt
 * A frozen collector holds requests whose deadline passed: whether they
 * arrive is unknown to any client (at-least-once), and the sensor counts
 * those spans apart rather than pretend either way.
 *
 *   sudo node bench/soak.ts [--minutes M] [--rate R] [--stall-s S] [--queue-spans N] [--json]
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/native/addon.ts';
import { freePort, startServer } from '../test/support/peers.ts';
import { bpfUnavailableReason } from '../test/support/privileges.ts';
import { otelCollectorUnavailableReason, startOtelCollector } from '../test/support/otelCollector.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, rate: { type: 'string' }, 'stall-s': { type: 'string' }, 'queue-spans': { type: 'string' }, json: { type: 'boolean' } },
});
const MINUTES = Number(values.minutes ?? 10);
const RATE = Number(values.rate ?? 500); // requests per second (each is a client and a server span)
const STALL_S = Number(values['stall-s'] ?? 30);
const QUEUE = Number(values['queue-spans'] ?? 20_000);
const why = bpfUnavailableReason() ?? otelCollectorUnavailableReason();
if (why) {
  console.error(`soak: ${why}`);
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), 'hp-soak-'));
const nginxPort = await freePort();
writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 256; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${nginxPort}; location / { return 200 "ok\\n"; } } }`);
// wrk has no rate option: each connection waits between requests (Lua delay()).
const CONNECTIONS = 4;
writeFileSync(path.join(dir, 'pace.lua'), `function delay() return ${Math.max(1, Math.round((CONNECTIONS * 1000) / RATE))} end\n`);
const nginx = await startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], nginxPort);
const collector = await startOtelCollector();
for (const [name, text] of [['ca', collector.caPem], ['cert', collector.clientCertPem], ['key', collector.clientKeyPem], ['password', collector.password]] as const) {
  writeFileSync(path.join(dir, name), text, { mode: 0o600 });
}
const healthPort = await freePort();
const sensor = spawn(path.join(projectRoot, 'bin/hydrophone'), [
  'run', '--port', String(nginxPort), '--kubernetes', 'off', '--sink', 'otlp', '--log-format', 'text',
  '--otlp-endpoint', collector.endpoint, '--otlp-ca', path.join(dir, 'ca'), '--otlp-cert', path.join(dir, 'cert'), '--otlp-key', path.join(dir, 'key'),
  '--otlp-auth', 'basic', '--otlp-user', collector.user, '--otlp-secret-file', path.join(dir, 'password'), '--otlp-timeout', '2',
  '--queue-spans', String(QUEUE), '--health-port', String(healthPort), '--health-address', '127.0.0.1', '--shutdown-deadline', '20',
], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
sensor.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-200_000)));

const metrics = async (): Promise<Map<string, number>> => {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
};
const rssMb = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${sensor.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

try {
  for (let i = 0; ; i++) {
    if (/running with/.test(log)) break;
    if (i > 600 || sensor.exitCode !== null) throw new Error(`the sensor did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const wrk = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${MINUTES * 60}s`, '-s', path.join(dir, 'pace.lua'), `http://127.0.0.1:${nginxPort}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let wrkOut = '';
  wrk.stdout.on('data', (d: Buffer) => (wrkOut += d.toString()));
  const wrkDone = new Promise((r) => wrk.once('exit', r));
  const t0 = Date.now();
  const samples: Array<Record<string, number | string>> = [];
  let stalled = false;
  let nextToggle = STALL_S * 1000;
  const pid = collector.pid()!;
  console.error(`soak: ${MINUTES} min, ~${RATE} requests/s by wrk against nginx, collector frozen every other ${STALL_S} s, queue cap ${QUEUE} spans`);
  console.error('    s  rss MB  collector  built   exported  queued  dropped(queue_full)  retries');
  while (Date.now() - t0 < MINUTES * 60_000) {
    await new Promise((r) => setTimeout(r, 10_000));
    const elapsed = Date.now() - t0;
    while (elapsed >= nextToggle) {
      stalled = !stalled;
      process.kill(pid, stalled ? 'SIGSTOP' : 'SIGCONT');
      nextToggle += STALL_S * 1000;
    }
    const m = await metrics();
    const row = {
      s: Math.round(elapsed / 1000), rssMb: rssMb(), collector: stalled ? 'frozen' : 'up',
      built: m.get('hydrophone_spans_built_total') ?? 0,
      exported: m.get('hydrophone_sink_spans_exported_total{sink="otlp"}') ?? 0,
      queued: m.get('hydrophone_sink_queue_spans{sink="otlp"}') ?? 0,
      dropped: m.get('hydrophone_sink_spans_dropped_total{sink="otlp",reason="queue_full"}') ?? 0,
      retries: m.get('hydrophone_sink_retries_total{sink="otlp"}') ?? 0,
    };
    samples.push(row);
    console.error(`${String(row.s).padStart(5)} ${String(row.rssMb).padStart(7)}  ${row.collector.padEnd(9)} ${String(row.built).padStart(7)} ${String(row.exported).padStart(9)} ${String(row.queued).padStart(7)} ${String(row.dropped).padStart(20)} ${String(row.retries).padStart(8)}`);
  }
  if (stalled) process.kill(pid, 'SIGCONT');
  await wrkDone;
  const final = await metrics();
  const sensorDone = new Promise((r) => sensor.once('exit', r));
  sensor.kill('SIGTERM');
  await sensorDone;
  const built = final.get('hydrophone_spans_built_total') ?? 0;
  const summary = /otlp: (\d+) sent, (\d+) retries, (\d+) dropped(?: \((\d+) queue full, (\d+) refused, (\d+) expired, (\d+) at shutdown\))?/.exec(log);
  if (!summary) throw new Error(`no sink summary in the sensor's log:\n${log.slice(-5000)}`);
  const [sent, dropped] = [Number(summary[1]), Number(summary[3])];
  const builtTotal = Number(/(\d+) spans from \d+ events/.exec(log)?.[1] ?? NaN);
  // Spans built after the last scrape reached the sink too: the sink's own total is the truth.
  const collected = await collector.readSpans();
  const arrived = collected.length;
  const unique = new Set(collected.map((c) => c.spanId)).size;
  const maybeDelivered = final.get('hydrophone_sink_spans_dropped_maybe_delivered_total{sink="otlp"}') ?? 0;
  const possiblyDuplicated = final.get('hydrophone_sink_spans_possibly_duplicated_total{sink="otlp"}') ?? 0;
  const rss = samples.map((x) => Number(x.rssMb));
  const result = {
    minutes: MINUTES, rate: RATE, stallSeconds: STALL_S, queueCap: QUEUE,
    wrk: /(\d+) requests in/.exec(wrkOut)?.[1], builtAtLastScrape: built, sent, dropped, arrived,
    rssMb: { first: rss[0], max: Math.max(...rss), last: rss.at(-1) },
    builtTotal, unique, duplicates: arrived - unique, maybeDelivered, possiblyDuplicated,
    // Spans lost = built - unique arrivals: at most the drops counted, at least those whose last attempt surely failed.
    lost: builtTotal - unique,
    lostEqualsDropped: builtTotal === sent + dropped && builtTotal - unique <= dropped && builtTotal - unique >= dropped - maybeDelivered && arrived - unique <= possiblyDuplicated,
  };
  console.error(`\nwrk: ${result.wrk} requests; the sensor sent ${sent} spans and counted ${dropped} dropped; the collector holds ${arrived}`);
  console.error(`RSS: first sample ${result.rssMb.first} MB, max ${result.rssMb.max} MB, last ${result.rssMb.last} MB`);
  console.error(`accounting: ${builtTotal} built = ${sent} sent + ${dropped} counted as dropped; the collector holds ${unique} distinct spans (${arrived - unique} twice)`);
  console.error(`  lost ${result.lost} (built - distinct arrived); counted dropped ${dropped}, of which ${maybeDelivered} timed out after sending (may have arrived); ${possiblyDuplicated} resent after a timeout (may arrive twice)`);
  console.error(result.lostEqualsDropped ? '  consistent: every loss is counted, and every span over the count is one whose delivery the sensor could not know' : '  MISMATCH');
  if (values.json) console.log(JSON.stringify({ ...result, samples }));
} finally {
  if (sensor.exitCode === null) sensor.kill('SIGKILL');
  await collector.stop();
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
