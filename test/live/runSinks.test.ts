/**
 * `hydrophone run` as an operator runs it, with every sink at once: curl
 * talks to nginx, the sensor prints its spans on stdout and sends them to a
 * real OpenTelemetry Collector (OTLP/gRPC, mTLS, basic auth) and a real
 * Kafka broker (mTLS); the same spans arrive in all three. SIGTERM flushes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { freePort, run, startServer, type Server } from '../support/peers.ts';
import { otelCollectorUnavailableReason, startOtelCollector, type OtelCollector } from '../support/otelCollector.ts';
import { kafkaUnavailableReason, startKafkaBroker, type KafkaBroker } from '../support/kafkaBroker.ts';
import { otlpProtoUnavailableReason } from '../support/otlpProto.ts';
import { readTopicSpans } from '../support/kafkaTopic.ts';
import { makeTestPki, type TestPki } from '../support/testPki.ts';

const skipReason = bpfUnavailableReason() ?? otelCollectorUnavailableReason() ?? kafkaUnavailableReason() ?? otlpProtoUnavailableReason();
if (skipReason) process.stderr.write(`[hydrophone] skipping hydrophone run with OTLP and Kafka sinks: ${skipReason}\n`);

// One collector and one broker for the whole file: each takes seconds to start.
let collectorStarted: Promise<OtelCollector> | undefined;
let brokerStarted: Promise<KafkaBroker> | undefined;
const sharedCollector = () => (collectorStarted ??= startOtelCollector());
const sharedBroker = () => (brokerStarted ??= startKafkaBroker());
afterAll(async () => {
  await Promise.all([collectorStarted?.then((c) => c.stop()), brokerStarted?.then((b) => b.stop())]);
});

/** Values planted in the traffic of the end-to-end test; none may appear in anything the sensor emits. */
const SECRETS = {
  authorization: 'planted-bearer-5f3c9a1e',
  cookie: 'planted-cookie-77d0b2c4',
  apiKey: 'planted-apikey-0c1d2e3f',
  proxy: 'cGxhbnRlZC1wcm94eS05OQ',
  query: 'planted-query-token-a9b8',
  /** In a header the allow-list names but --sensitive-header marks sensitive. */
  allowListedSensitive: 'planted-allowlisted-6e2d',
};

interface PrintedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

describe.skipIf(skipReason)('hydrophone run with stdout, OTLP and Kafka sinks', () => {
  let nginx: Server;
  let port: number;
  let dir: string;
  let collector: OtelCollector;
  let broker: KafkaBroker;
  const topic = 'hydrophone-spans-e2e';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-run-sinks-'));
    port = await freePort();
    writeFileSync(path.join(dir, 'index.html'), '<h1>hello</h1>\n');
    writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${dir}; location /api/ { return 200 "ok\\n"; } } }`);
    [nginx, collector, broker] = await Promise.all([
      startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], port),
      sharedCollector(),
      sharedBroker(),
    ]);
    await broker.createTopic(topic, 3);
    for (const [name, text] of [
      ['otlp-ca.pem', collector.caPem], ['otlp-cert.pem', collector.clientCertPem], ['otlp-key.pem', collector.clientKeyPem], ['otlp-password', collector.password],
      ['kafka-ca.pem', broker.caPem], ['kafka-cert.pem', broker.clientCertPem], ['kafka-key.pem', broker.clientKeyPem],
    ] as const) writeFileSync(path.join(dir, name), text, { mode: 0o600 });
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers the same spans to stdout, the collector and the topic, and flushes on SIGTERM', async () => {
    const f = (name: string) => path.join(dir, name);
    const healthPort = await freePort();
    const sensor = spawn(path.join(projectRoot, 'bin/hydrophone'), [
      'run', '--port', String(port), '--kubernetes', 'off',
      '--sink', 'stdout,otlp,kafka',
      '--otlp-endpoint', collector.endpoint, '--otlp-ca', f('otlp-ca.pem'), '--otlp-cert', f('otlp-cert.pem'), '--otlp-key', f('otlp-key.pem'),
      '--otlp-auth', 'basic', '--otlp-user', collector.user, '--otlp-secret-file', f('otlp-password'),
      '--kafka-brokers', broker.bootstrap, '--kafka-topic', topic, '--kafka-ca', f('kafka-ca.pem'), '--kafka-cert', f('kafka-cert.pem'), '--kafka-key', f('kafka-key.pem'),
      '--sensor-id', 'e2e-sensor',
      // Headers and the query asked for, sensitive ones among them: only the harmless header and the redacted query may come out.
      '--request-header', 'X-Request-Id,Authorization,X-Planted-Secret,x-api-key', '--response-header', 'Content-Type,set-cookie',
      '--sensitive-header', 'x-planted-secret', '--url-query', 'redacted', '--query-param', 'page',
      '--health-port', String(healthPort), '--health-address', '127.0.0.1',
      // A long batch timeout: the spans still go out, because SIGTERM flushes.
      '--batch-timeout-ms', '60000',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let metricsText = '';
    sensor.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    sensor.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(() => /running with/.test(stderr), 30_000, () => stderr);
      expect(stderr).toMatch(/spans to stdout: JSON Lines and OTLP\/gRPC to 127\.0\.0\.1:\d+, mTLS as CN=.*basic auth, gzip and Kafka/);
      expect(stderr).not.toContain(collector.password);
      const base = `http://127.0.0.1:${port}`;
      // Secrets planted where real traffic carries them: none may come out anywhere.
      for (const p of ['/index.html', `/api/orders/7?token=${SECRETS.query}&page=2`, '/missing']) {
        const r = await run('curl', ['-sS', '-o', '/dev/null',
          '-H', `Authorization: Bearer ${SECRETS.authorization}`, '-H', `Cookie: session=${SECRETS.cookie}`,
          '-H', `X-Api-Key: ${SECRETS.apiKey}`, '-H', `Proxy-Authorization: Basic ${SECRETS.proxy}`,
          '-H', `X-Planted-Secret: ${SECRETS.allowListedSensitive}`, '-H', `X-Request-Id: harmless${p.split('?')[0]}`, `${base}${p}`]);
        expect(r.code, r.stderr).toBe(0);
      }
      await waitFor(() => stdout.trim().split('\n').filter(Boolean).length >= 6, 15_000, () => stderr);

      // The endpoints an operator's kubelet and Prometheus use.
      const get = async (p: string) => {
        const r = await fetch(`http://127.0.0.1:${healthPort}${p}`);
        return { status: r.status, body: await r.text() };
      };
      expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });
      const metrics = (await get('/metrics')).body;
      metricsText = metrics;
      const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect(value('hydrophone_spans_built_total')).toBe(6);
      expect(value('hydrophone_sink_spans_received_total{sink="otlp"}')).toBe(6);
      expect(value('hydrophone_sink_spans_received_total{sink="kafka"}')).toBe(6);
      expect(value('hydrophone_sink_spans_exported_total{sink="stdout"}')).toBe(6);
      expect(value('hydrophone_sink_queue_spans{sink="otlp"}')).toBe(6); // the 60 s batch timeout holds them
      expect(value('hydrophone_sink_queue_capacity_spans{sink="kafka"}')).toBe(100_000);
      expect(value('hydrophone_connections_tracked')).toBeGreaterThanOrEqual(0);
      expect(metrics).toMatch(/^hydrophone_kernel_events_total\{cpu="0"\} \d+$/m);
      expect(metrics).toMatch(/^hydrophone_parser_errors_total\{protocol="http1",kind="invalid_bytes"\} 0$/m);
      expect(metrics).toMatch(/^hydrophone_process_resident_memory_bytes \d+$/m);
      expect(metrics).toMatch(/^hydrophone_tls_binaries_probed \d+$/m);
      expect(metrics).not.toContain(collector.password);
    } finally {
      sensor.kill('SIGTERM');
    }
    const [code] = await once(sensor, 'exit');
    expect(code, stderr).toBe(0);
    const printed = stdout.trim().split('\n').map((l) => JSON.parse(l) as PrintedSpan);
    expect(printed).toHaveLength(6);
    // Structured logs: every line on stderr is one JSON object with a level and a message.
    for (const line of stderr.trim().split('\n')) expect(JSON.parse(line), line).toMatchObject({ level: expect.any(String), msg: expect.any(String), name: 'hydrophone' });
    expect(stderr).toMatch(/otlp: 6 sent, 0 retries, 0 dropped/);
    expect(stderr).toMatch(/kafka: 6 sent, 0 retries, 0 dropped/);
    // The allow-list at work: the harmless header on every span, client and server; the query redacted but for page.
    expect(stderr).toMatch(/captured attributes: request headers: x-request-id; response headers: content-type;.*url\.query: redacted except page; sensitive, never captured although allow-listed: authorization, set-cookie, x-api-key, x-planted-secret/);
    const captured = (a: Record<string, unknown>) => Object.fromEntries(Object.entries(a).filter(([k]) => k.includes('.header.') || k === 'url.query'));
    expect(printed.map((s) => [s.kind, s.attributes['url.path'], captured(s.attributes)]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      [2, '/api/orders/7', { 'http.request.header.x-request-id': ['harmless/api/orders/7'], 'url.query': 'token=REDACTED&page=2', 'http.response.header.content-type': ['text/plain'] }],
      [2, '/index.html', { 'http.request.header.x-request-id': ['harmless/index.html'], 'http.response.header.content-type': ['text/html'] }],
      [2, '/missing', { 'http.request.header.x-request-id': ['harmless/missing'], 'http.response.header.content-type': ['text/html'] }],
      [3, '/api/orders/7', { 'http.request.header.x-request-id': ['harmless/api/orders/7'], 'url.query': 'token=REDACTED&page=2', 'http.response.header.content-type': ['text/plain'] }],
      [3, '/index.html', { 'http.request.header.x-request-id': ['harmless/index.html'], 'http.response.header.content-type': ['text/html'] }],
      [3, '/missing', { 'http.request.header.x-request-id': ['harmless/missing'], 'http.response.header.content-type': ['text/html'] }],
    ]);

    const normal = (s: { traceId: string; spanId: string; parentSpanId: string; name: string; kind: number; startTimeUnixNano: string | bigint; endTimeUnixNano: string | bigint; attributes: Record<string, unknown>; resource: Record<string, unknown> }) => ({
      traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId, name: s.name, kind: s.kind,
      start: String(s.startTimeUnixNano), end: String(s.endTimeUnixNano), attributes: s.attributes, resource: s.resource,
    });
    const bySpanId = <T extends { spanId: string }>(xs: T[]) => [...xs].sort((a, b) => a.spanId.localeCompare(b.spanId));
    const expected = bySpanId(printed).map(normal);

    const collected = await collector.waitForSpans(6, 10_000);
    expect(bySpanId(collected).map(normal)).toEqual(expected);

    const fromKafka = await readTopicSpans(broker, topic, 6);
    expect(bySpanId(fromKafka.map((m) => m.span)).map(normal)).toEqual(expected);
    for (const m of fromKafka) {
      expect(m.key).toBe(m.span.traceId);
      expect(m.headers['sensor-id']).toBe('e2e-sensor');
    }

    // Privacy by default: everything the sensor emitted, greped for the planted secrets.
    const emitted = { stdout, stderr, metrics: metricsText, collector: readFileSync(collector.spansFile, 'utf8'), kafka: JSON.stringify(fromKafka, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) };
    for (const [where, text] of Object.entries(emitted)) {
      for (const [what, secret] of Object.entries(SECRETS)) expect(text.includes(secret), `${what} secret in ${where}`).toBe(false);
    }
  }, 120_000);
});

describe.skipIf(skipReason)('hydrophone run refuses backends it cannot trust, at start', () => {
  let collector: OtelCollector;
  let broker: KafkaBroker;
  let dir: string;
  let pki: TestPki;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-run-refuse-'));
    [collector, broker, pki] = await Promise.all([sharedCollector(), sharedBroker(), makeTestPki(path.join(dir, 'pki'))]);
    for (const [name, text] of [['otlp-ca.pem', collector.caPem], ['otlp-cert.pem', collector.clientCertPem], ['otlp-key.pem', collector.clientKeyPem],
      ['kafka-ca.pem', broker.caPem], ['foreign-cert.pem', broker.foreignClient.certPem], ['foreign-key.pem', broker.foreignClient.keyPem]] as const) {
      writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    }
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const hydrophone = (args: string[]) => spawnSync(path.join(projectRoot, 'bin/hydrophone'), ['run', '--kubernetes', 'off', '--duration', '1', '--health-port', '0', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('a CA that does not sign the collector\'s certificate: exit 2 naming --otlp-ca', () => {
    const f = (n: string) => path.join(dir, n);
    const r = hydrophone(['--sink', 'otlp', '--otlp-endpoint', collector.endpoint, '--otlp-ca', pki.caFile, '--otlp-cert', f('otlp-cert.pem'), '--otlp-key', f('otlp-key.pem')]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/otlp: .*: set otlp\.caFile \(--otlp-ca\) to the CA that issued 127\.0\.0\.1:\d+'s certificate/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a client certificate the broker refuses: exit 2 naming --kafka-cert', () => {
    const f = (n: string) => path.join(dir, n);
    const r = hydrophone(['--sink', 'kafka', '--kafka-brokers', broker.bootstrap, '--kafka-ca', f('kafka-ca.pem'), '--kafka-cert', f('foreign-cert.pem'), '--kafka-key', f('foreign-key.pem')]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/kafka: .*: have the certificate in kafka\.certFile \(--kafka-cert\) issued by a CA the server at 127\.0\.0\.1:\d+ trusts/);
  });

  it('a collector that is down is not an error: it starts, queues, and counts what it could not send', () => {
    const f = (n: string) => path.join(dir, n);
    const r = hydrophone(['--sink', 'otlp', '--otlp-endpoint', '127.0.0.1:1', '--otlp-ca', f('otlp-ca.pem'), '--otlp-cert', f('otlp-cert.pem'), '--otlp-key', f('otlp-key.pem'), '--shutdown-deadline', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/otlp: .*127\.0\.0\.1:1.*; spans wait in the queue and are retried/);
    expect(r.stderr).toMatch(/otlp: \d+ sent, \d+ retries, \d+ dropped/);
  });
});

async function waitFor(cond: () => boolean, ms: number, context: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met in ${ms} ms; sensor stderr:\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
