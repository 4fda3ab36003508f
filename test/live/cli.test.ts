/**
 * The CLI as a user runs it: `doctor`, `capture` to stdout and to a
 * recording, the recording read back without privileges, and the errors a
 * user without privileges or with a bad option gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, chmodSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { SHARED_CAPTURES, sharedCapturesMissing } from '../support/sharedCaptures.ts';
import { freePort, run, startServer, type Server } from '../support/peers.ts';

const cli = path.join(projectRoot, 'bin/hydrophone');
const skipReason = bpfUnavailableReason();
const work = mkdtempSync(path.join(tmpdir(), 'hp-cli-'));
chmodSync(work, 0o777);

function hydrophone(args: string[], opts: { uid?: number } = {}) {
  const r = spawnSync(cli, args, { encoding: 'utf8', uid: opts.uid, gid: opts.uid, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI without privileges', () => {
  it.each([
    [['capture', '--port', 'http'], /--port must be a whole number from 1 to 65535, got 'http'/],
    [['capture', '--ring-buffer-mb', '3'], /--ring-buffer-mb must be a power of two, got 3/],
    [['capture', '--attach', 'fentry'], /--attach must be one of auto, kprobe, tracepoint, got 'fentry'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['bench'], /bench needs at least one capture file/],
    [['portal'], /portal needs the CA key's passphrase \(the key is stored encrypted\): give --ca-passphrase-file FILE or set \$HYDROPHONE_PORTAL_CA_PASSPHRASE/],
    [['replay', '--perspective', 'middle', 'x.pcap'], /--perspective must be one of server, client, got 'middle'/],
    [['replay'], /replay takes one file, got 0/],
  ])('hydrophone %j fails with a clear usage error', (args, message) => {
    const r = hydrophone(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.skipIf(sharedCapturesMissing())('replays a pcap into spans: server or client perspective', () => {
    const file = path.join(SHARED_CAPTURES, 'zeek-http-pipelined-requests.pcap');
    for (const [perspective, kind] of [['server', 2], ['client', 3]] as const) {
      const r = hydrophone(['replay', file, '--perspective', perspective]);
      expect(r.code, r.stderr).toBe(0);
      const spans = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: number; name: string; attributes: Record<string, unknown> });
      expect(spans.map((s) => s.kind)).toEqual([kind, kind, kind, kind, kind]);
      expect(spans[0]).toMatchObject({ name: 'GET /style/enhanced.css', attributes: { 'http.response.status_code': 200 } });
    }
  });

  it.skipIf(sharedCapturesMissing())('stops at a truncated capture with the offset, after the spans before it', () => {
    const whole = readFileSync(path.join(SHARED_CAPTURES, 'zeek-http-pipelined-requests.pcap'));
    const cut = path.join(work, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const r = hydrophone(['replay', cut]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cut\.pcap: offset \d+: .*\[HP_CAPTURE_INVALID\]/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(1);
  });

  it('reads a recording that is not one with an error naming the file and line', () => {
    const r = hydrophone(['capture', '--in', '/etc/hostname']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/etc\/hostname: line 1 is not a recording header/);
  });
});

describe.skipIf(skipReason)('CLI with BPF', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = await startServer('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], port, { cwd: work });
  });
  afterAll(async () => server?.stop());

  it('doctor --json reports the kernel and the attachment it would choose', () => {
    const r = hydrophone(['doctor', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['btf', 'ringbuf', 'uprobes', 'kprobe', 'fentry', 'tracepoint']) expect(typeof d[k]).toBe('boolean');
    expect(d.btf).toBe(true);
    expect(d.ringbuf).toBe(true);
    expect(d.attach).toBe(d.kprobe ? 'kprobe' : 'tracepoint');
    expect(String(d.attachReason)).not.toBe('');
  });

  it('capture --json --out prints JSON Lines and writes a recording that replays unprivileged to the same lines', async () => {
    const rec = path.join(work, 'curl.hprec');
    const child = spawn(cli, ['capture', '--json', '--port', String(port), '--duration', '4', '--out', rec], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Wait until the sensor says it is capturing, then make traffic.
    await new Promise<void>((resolve) => child.stderr.on('data', () => { if (stderr.includes('capturing with')) resolve(); }));
    const curl = await run('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
    expect(curl.code).toBe(0);
    const [code] = await once(child, 'exit');
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/capturing with (kprobes|syscall tracepoints)/);

    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ofCurl = lines.filter((l) => l.pid === curl.pid);
    expect(ofCurl.map((l) => l.type)).toEqual(expect.arrayContaining(['connect', 'data', 'close']));
    const request = ofCurl.find((l) => l.type === 'data' && l.direction === 'egress')!;
    expect(request).toMatchObject({ comm: 'curl', role: 'client', pos: 0, remote: `127.0.0.1:${port}` });
    expect(Buffer.from(String(request.payload), 'base64').toString()).toMatch(/^GET \/ HTTP\/1\.1/);
    for (const k of ['type', 'pid', 'comm', 'conn', 'role', 'direction', 'pos', 'len', 'captured', 'payload', 'local', 'remote', 'ts']) {
      expect(request, k).toHaveProperty(k);
    }
    expect(lines.some((l) => l.type === 'accept' && l.local === `127.0.0.1:${port}`)).toBe(true);

    const header = JSON.parse(readFileSync(rec, 'utf8').split('\n')[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({ format: 'hydrophone-recording', version: 1, abi: 1 });
    // Recordings hold payloads, so they are written owner-only; hand it over.
    expect(statSync(rec).mode & 0o777).toBe(0o600);
    chmodSync(rec, 0o644);
    const replay = hydrophone(['capture', '--in', rec, '--json'], { uid: 65534 });
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toBe(stdout);

    // The same recording through the parsers: the exchange as two spans.
    const spans = hydrophone(['replay', rec], { uid: 65534 });
    expect(spans.code, spans.stderr).toBe(0);
    const parsed = spans.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: number; name: string; spanId: string; parentSpanId: string; resource: Record<string, unknown> });
    const client = parsed.find((s) => s.kind === 3 && s.resource['process.pid'] === curl.pid);
    const server = parsed.find((s) => s.kind === 2 && s.parentSpanId === client?.spanId);
    expect(client?.name).toBe('GET /');
    expect(server?.name).toBe('GET /');
    expect(spans.stderr).toMatch(/hydrophone: \d+ spans from \d+ events/);
  });
});
