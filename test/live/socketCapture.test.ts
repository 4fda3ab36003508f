/**
 * The BPF sensor against real processes: servers and clients on loopback,
 * every hooked syscall, fd reuse, connections older than the sensor, the
 * sensor's own traffic, and cleanup. Root and a BPF-capable kernel needed:
 * otherwise the suite is skipped with the reason printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnOpenEvent, DataEvent } from '../../src/source/events.ts';
import { loadAddon, sensorObjectPath } from '../../src/native/addon.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSensor } from '../support/liveSensor.ts';
import { freePort, node24, run, startServer, type Server } from '../support/peers.ts';
import { helperProgram } from '../support/helperPrograms.ts';

const skipReason = bpfUnavailableReason();

/** Both ends of one TCP connection as the sensor reported them. */
function pairOf(sensor: LiveSensor, clientPid: number, serverPid: number, port: number): { client: ConnOpenEvent; server: ConnOpenEvent } {
  const client = sensor.opens((e) => e.pid === clientPid && e.remote.port === port);
  const server = sensor.opens((e) => e.pid === serverPid && e.local.port === port && e.remote.port === client[0]?.local.port);
  expect(client, 'client side connect').toHaveLength(1);
  expect(server, 'server side accept').toHaveLength(1);
  return { client: client[0]!, server: server[0]! };
}

/** Data events of one direction cover [0, total) without holes or overlaps. */
function expectContiguous(events: DataEvent[]): number {
  let next = 0;
  for (const e of [...events].sort((a, b) => a.pos - b.pos)) {
    expect(e.pos, `event at ${e.pos} follows ${next}`).toBe(next);
    next += e.len;
  }
  return next;
}

describe.skipIf(skipReason)('live capture of socket traffic', () => {
  describe('python http.server and curl', () => {
    let server: Server;
    let port: number;
    let sensor: LiveSensor;

    beforeAll(async () => {
      port = await freePort();
      server = await startServer('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], port, { cwd: mkdtempSync(path.join(tmpdir(), 'hp-www-')) });
      sensor = new LiveSensor({ ports: [port] });
    });
    afterAll(async () => {
      sensor?.close();
      await server?.stop();
    });

    it('reports connect and accept with matching tuples and pids, identical bytes at matching positions, and close', async () => {
      const curl = await run('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
      expect(curl.code, curl.stderr).toBe(0);
      await sensor.until((evs) => evs.filter((e) => e.type === 'close').length >= 2, 'both close events');
      const { client, server: srv } = pairOf(sensor, curl.pid, server.pid, port);

      expect(client).toMatchObject({ comm: 'curl', role: 'client', origin: 'connect', family: 'ipv4', remote: { address: '127.0.0.1', port } });
      expect(srv).toMatchObject({ role: 'server', origin: 'accept', local: { address: '127.0.0.1', port }, remote: client.local });
      expect(srv.comm).toMatch(/python/);

      const request = sensor.stream(client.conn, 'egress');
      expect(request.bytes.toString()).toMatch(/^GET \/ HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
      expect(sensor.stream(srv.conn, 'ingress').bytes).toEqual(request.bytes);
      const response = sensor.stream(srv.conn, 'egress');
      expect(response.bytes.toString()).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
      expect(sensor.stream(client.conn, 'ingress').bytes).toEqual(response.bytes);
      for (const [conn, dir] of [[client.conn, 'egress'], [client.conn, 'ingress'], [srv.conn, 'egress'], [srv.conn, 'ingress']] as const) {
        expectContiguous(sensor.data(conn, dir));
      }

      const closes = sensor.events.filter((e) => e.type === 'close');
      expect(closes.find((e) => e.conn === client.conn)).toMatchObject({ egressBytes: request.total, ingressBytes: response.total });
      expect(closes.find((e) => e.conn === srv.conn)).toMatchObject({ egressBytes: response.total, ingressBytes: request.total });
    });

    it("never reports the sensor's own traffic", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      // The server's side of our request is traced; ours is not.
      await sensor.until((evs) => evs.filter((e) => e.type === 'open' && e.pid === server.pid).length >= 2, "the server's accept of our request");
      expect(sensor.events.filter((e) => 'pid' in e && e.pid === process.pid)).toEqual([]);
    });
  });

  describe('a 1 MiB response from a node HTTP server', () => {
    const body = 1024 * 1024;
    let server: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      const script = `require('http').createServer((q, s) => { s.setHeader('content-length', ${body}); s.end(Buffer.alloc(${body}, 120)); }).listen(${port}, '127.0.0.1')`;
      server = await startServer(node24, ['-e', script], port);
    });
    afterAll(async () => server?.stop());

    it.each([
      ['default 16 KiB', undefined, 16384],
      ['64 KiB', 65536, 65536],
    ])('is captured up to the %s limit per syscall with its full length reported', async (_name, captureBytes, limit) => {
      const sensor = new LiveSensor({ ports: [port], captureBytes });
      try {
        const curl = await run('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
        expect(curl.code, curl.stderr).toBe(0);
        await sensor.until((evs) => evs.filter((e) => e.type === 'close').length >= 2, 'both close events');
        const { client, server: srv } = pairOf(sensor, curl.pid, server.pid, port);
        const sent = sensor.data(srv.conn, 'egress');
        const total = expectContiguous(sent);
        const headers = sensor.stream(srv.conn, 'egress').bytes.toString('latin1').indexOf('\r\n\r\n') + 4;
        expect(total).toBe(headers + body);
        expect(sensor.events.find((e) => e.type === 'close' && e.conn === srv.conn)).toMatchObject({ egressBytes: headers + body });
        // Records carry at most 16 KiB. node writes headers and body with one
        // writev: that syscall's records capture exactly the limit, and its
        // last record covers the rest of the megabyte uncaptured.
        const ordered = [...sent].sort((a, b) => a.pos - b.pos);
        for (const e of ordered) expect(e.payload.length).toBeLessThanOrEqual(16384);
        const end = ordered.findIndex((e) => e.len > e.payload.length);
        expect(end).toBeGreaterThan(-1);
        const firstSyscall = ordered.slice(0, end + 1);
        expect(firstSyscall.every((e) => e.syscall === 'writev')).toBe(true);
        expect(firstSyscall.reduce((n, e) => n + e.payload.length, 0)).toBe(limit);
        expect(sensor.stream(srv.conn, 'egress').captured).toBeLessThan(total);
        // What was captured is the real body, byte for byte.
        for (const e of sent.filter((x) => x.pos >= headers)) expect(Buffer.from(e.payload).every((b) => b === 120)).toBe(true);
        expectContiguous(sensor.data(client.conn, 'ingress'));
        expect(sensor.events.filter((e) => e.type === 'lost')).toEqual([]);
      } finally {
        sensor.close();
      }
    });
  });

  describe('nginx (writev, sendfile) and curl', () => {
    let server: Server;
    let port: number;
    const fileSize = 200_000;

    beforeAll(async () => {
      port = await freePort();
      const dir = mkdtempSync(path.join(tmpdir(), 'hp-nginx-'));
      writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(fileSize, 7));
      writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 64; }
http { access_log off; sendfile on; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${dir}; } }`);
      server = await startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], port);
    });
    afterAll(async () => server?.stop());

    it('reports a sendfile body as length-only bytes on the server and the real bytes at the client', async () => {
      const sensor = new LiveSensor({ ports: [port] });
      try {
        const curl = await run('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${port}/big.bin`]);
        expect(curl.code, curl.stderr).toBe(0);
        await sensor.until((evs) => evs.filter((e) => e.type === 'close').length >= 2, 'both close events');
        const { client, server: srv } = pairOf(sensor, curl.pid, server.pid, port);
        expect(srv.comm).toBe('nginx');
        const sent = sensor.data(srv.conn, 'egress');
        const total = expectContiguous(sent);
        expect(sent.some((e) => e.syscall === 'sendfile' && e.lengthOnly && e.payload.length === 0)).toBe(true);
        expect(sensor.stream(srv.conn, 'egress').bytes.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(expectContiguous(sensor.data(client.conn, 'ingress'))).toBe(total);
        expect(sensor.stream(client.conn, 'ingress').bytes.toString('latin1')).toContain('\x07\x07\x07\x07');
      } finally {
        sensor.close();
      }
    });
  });

  describe('every hooked syscall, fd reuse (test/helpers/sockpeer.c)', () => {
    it('captures send/recv, writev/readv, sendmsg/recvmsg, sendmmsg/recvmmsg and sendfile, and never merges a reused fd', async () => {
      const peer = helperProgram('sockpeer');
      const sensor = new LiveSensor({});
      try {
        const res = await run(peer, []);
        expect(res.code, res.stderr).toBe(0);
        const steps = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { step: string; fd: number; peer_fd: number; bytes: number });
        const clientFd = steps[0]!.fd;
        await sensor.until((evs) => evs.filter((e) => e.type === 'close' && e.pid === res.pid).length >= 4, 'four close events');
        const opens = sensor.opens((e) => e.pid === res.pid);
        const clients = opens.filter((e) => e.role === 'client');
        const servers = opens.filter((e) => e.role === 'server');
        expect(clients.map((c) => c.fd)).toEqual([clientFd, clientFd]);
        expect(new Set(clients.map((c) => c.conn)).size).toBe(2);
        const [first, second] = clients as [ConnOpenEvent, ConnOpenEvent];
        const firstServer = servers.find((s) => s.remote.port === first.local.port)!;

        const egress = sensor.data(first.conn, 'egress');
        const by = (sys: string) => egress.filter((e) => e.syscall === sys).map((e) => Buffer.from(e.payload).toString());
        expect(by('sendto')).toEqual(['plain send']);
        expect(by('writev')).toEqual(['hello ', 'vector ', 'world']);
        expect(by('sendmsg')).toEqual(['message ', 'in two']);
        expect(by('sendmmsg')).toEqual(['first', 'second']);
        expect(egress.filter((e) => e.syscall === 'sendfile')).toMatchObject([{ len: 4096, lengthOnly: true }]);

        const ingress = sensor.data(firstServer.conn, 'ingress');
        const got = (sys: string) => ingress.filter((e) => e.syscall === sys).map((e) => Buffer.from(e.payload).toString());
        expect(got('recvfrom')).toEqual(['plain send']);
        expect(got('readv')).toEqual(['hell', 'o vector world']);
        expect(got('recvmsg')).toEqual(['message in two']);
        expect(got('recvmmsg')).toEqual(['firstsecond']);
        // Same bytes at the same positions on both ends.
        const received = sensor.stream(firstServer.conn, 'ingress').bytes;
        for (const e of egress) {
          if (!e.lengthOnly) expect(received.subarray(e.pos, e.pos + e.payload.length).toString()).toBe(Buffer.from(e.payload).toString());
        }
        expect(expectContiguous(egress)).toBe(expectContiguous(ingress));

        // The reused fd is a new connection, starting at position 0.
        expect(sensor.data(second.conn, 'egress').map((e) => [e.pos, Buffer.from(e.payload).toString()])).toEqual([[0, 'second connection']]);
        const firstClose = sensor.events.findIndex((e) => e.type === 'close' && e.conn === first.conn);
        const secondOpen = sensor.events.findIndex((e) => e.type === 'open' && e.conn === second.conn);
        expect(firstClose).toBeGreaterThan(-1);
        expect(firstClose).toBeLessThan(secondOpen);
      } finally {
        sensor.close();
      }
    });

    it('traces a connection opened before the sensor started, with inferred roles', async () => {
      const peer = helperProgram('sockpeer');
      let sensor: LiveSensor | undefined;
      try {
        const res = await run(peer, ['-s'], {
          waitFor: '"connected"',
          input: 'go\n',
          beforeInput: async () => {
            sensor = new LiveSensor({});
          },
        });
        expect(res.code, res.stderr).toBe(0);
        const connected = JSON.parse(res.stdout.split('\n')[0]!) as { fd: number; peer_fd: number };
        await sensor!.until((evs) => evs.filter((e) => e.type === 'close' && e.pid === res.pid).length >= 4, 'four close events');
        const existing = sensor!.opens((e) => e.pid === res.pid && e.origin === 'existing');
        expect(existing.map((e) => [e.fd, e.role]).sort()).toEqual([[connected.fd, 'client'], [connected.peer_fd, 'server']].sort());
        const client = existing.find((e) => e.role === 'client')!;
        expect(sensor!.data(client.conn, 'egress').find((e) => e.syscall === 'sendto')?.payload).toEqual(Buffer.from('plain send'));
      } finally {
        sensor?.close();
      }
    });
  });

  describe('lifecycle', () => {
    it('leaves no program or map behind after close (checked with bpftool)', () => {
      const sensor = new LiveSensor({});
      const progIds = sensor.source.programs().filter((p) => p.loaded).map((p) => p.id);
      const mapIds = sensor.source.maps().map((m) => m.id);
      expect(progIds.length).toBeGreaterThan(20);
      const live = () => ({
        progs: (JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json']).toString()) as Array<{ id: number }>).map((p) => p.id),
        maps: (JSON.parse(execFileSync('bpftool', ['map', 'show', '--json']).toString()) as Array<{ id: number }>).map((m) => m.id),
      });
      const before = live();
      expect(progIds.every((id) => before.progs.includes(id))).toBe(true);
      expect(mapIds.every((id) => before.maps.includes(id))).toBe(true);
      sensor.close();
      const after = live();
      expect(progIds.filter((id) => after.progs.includes(id))).toEqual([]);
      expect(mapIds.filter((id) => after.maps.includes(id))).toEqual([]);
    });

    it('loads every kprobe program through the verifier (the production path; kprobes may not attach here)', () => {
      const addon = loadAddon();
      const sensor = new addon.Sensor({ objectPath: sensorObjectPath, attach: 'kprobe', ringBufferBytes: 1 << 20, loadOnly: true });
      try {
        const kprobes = sensor.programs().filter((p) => /^k(ret)?syscall\//.test(p.section));
        // 15 entry probes and 14 return probes (close needs no return).
        expect(kprobes.length).toBe(29);
        expect(kprobes.filter((p) => !p.loaded)).toEqual([]);
        expect(sensor.programs().filter((p) => p.section.startsWith('tracepoint/') && p.loaded)).toEqual([]);
      } finally {
        sensor.close();
      }
    });
  });
});
