/**
 * The attacher's Go side with a recording stand-in for the addon (no BPF,
 * no root): real Go processes are found through /proc/<pid>/exe, their
 * layout is written before any probe, return probes come before entries,
 * cookies say binary, direction and return offset, a refused probe undoes
 * the whole binary, and a Go binary that cannot be traced is reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, copyFile, chmod, rm, writeFile } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Enums } from './eventLayout.ts';
import { TlsAttacher, goTlsUnsupportedReason, type UprobeSensor } from './tlsAttach.ts';
import type { GoH2BinaryLayout, GoTlsBinaryLayout, UprobeOptions } from '../../native/addon.ts';
import { GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE, inspectGoH2, inspectGoTls, inspectNetHttpH2 } from '../golang/index.ts';
import { freePort, startServer, type Server } from '../../../test/support/peers.ts';
import { goPeerBinaries, httpsServerArgs, type GoPeerBinaries } from '../../../test/support/goPeers.ts';
import { preparedPeerPaths } from '../../../test/support/grpcPeers.ts';
import { withElf } from './elfFile.ts';
import { findBoringSslFunctions } from './boringsslFunctions.ts';
import { findOpensslFunctions } from './opensslFunctions.ts';
import { openSsl11 } from '../../../test/support/openssl11.ts';

type Call =
  | { op: 'layout'; index: number; layout: GoTlsBinaryLayout | null }
  | { op: 'h2layout'; index: number; layout: GoH2BinaryLayout | null }
  | { op: 'attach'; id: number; options: UprobeOptions }
  | { op: 'detach'; id: number };

class RecordingSensor implements UprobeSensor {
  readonly calls: Call[] = [];
  private next = 1;
  /** attachUprobe throws from this call on (1-based), to test the undo. */
  failFrom = Infinity;
  /** attachUprobe throws for these programs. */
  refused = new Set<string>();

  attachUprobe(options: UprobeOptions): number {
    if (this.next >= this.failFrom || this.refused.has(options.program)) throw new Error('uprobe refused: EINVAL\nmore detail');
    const id = this.next++;
    this.calls.push({ op: 'attach', id, options });
    return id;
  }
  detachUprobe(id: number): boolean {
    this.calls.push({ op: 'detach', id });
    return true;
  }
  setGoTlsBinary(index: number, layout: GoTlsBinaryLayout | null): void {
    this.calls.push({ op: 'layout', index, layout });
  }
  setGoH2Binary(index: number, layout: GoH2BinaryLayout | null): void {
    this.calls.push({ op: 'h2layout', index, layout });
  }
  attaches(): Array<UprobeOptions & { id: number }> {
    return this.calls.flatMap((c) => (c.op === 'attach' ? [{ ...c.options, id: c.id }] : []));
  }
}

const h2Cookie = (index: number, probe: number) => BigInt(index) | (BigInt(probe) << BigInt(Enums.HP_H2_COOKIE_PROBE_SHIFT));
const cookie = (index: number, dir: number, offset = 0) =>
  BigInt(index) | (BigInt(dir) << BigInt(Enums.HP_GO_TLS_COOKIE_DIR_SHIFT)) | (BigInt(offset) << BigInt(Enums.HP_GO_TLS_COOKIE_OFF_SHIFT));

describe('TlsAttacher on Go executables', () => {
  let peers: GoPeerBinaries;
  let server: Server;
  let noDwarf: Server;

  beforeAll(async () => {
    peers = await goPeerBinaries();
    const [a, b] = [await freePort(), await freePort()];
    server = await startServer(peers.go, httpsServerArgs(a), a);
    noDwarf = await startServer(peers.noDwarf, httpsServerArgs(b), b);
  });
  afterAll(async () => {
    await server?.stop();
    await noDwarf?.stop();
  });

  it('writes the layout, then probes every return, then the two entries, then grpc-go\'s three header functions and net/http\'s (starts last), with their cookies', () => {
    const sensor = new RecordingSensor();
    const lines: string[] = [];
    const attacher = new TlsAttacher(sensor, (l) => lines.push(l));
    try {
      attacher.onExec(server.pid);
      const expected = inspectGoTls(peers.go);
      if (expected.kind !== 'traceable') throw new Error('the Go peer should be traceable');
      const b = expected.binary;
      expect(sensor.calls[0]).toEqual({
        op: 'layout', index: 0,
        layout: { readAddr: b.read.addr, writeAddr: b.write.addr, itabTcp: b.itabTcp, itabUnix: b.itabUnix, connOff: 0, fdOff: 0, sysfdOff: 16, pie: false, readSpills: true },
      });
      const returns = [
        ...b.read.returns.map((o) => ({ program: 'hp_up_go_tls_ret', binaryPath: `/proc/${server.pid}/exe`, offset: o, cookie: cookie(0, Enums.HP_DIR_INGRESS, o - b.read.offset) })),
        ...b.write.returns.map((o) => ({ program: 'hp_up_go_tls_ret', binaryPath: `/proc/${server.pid}/exe`, offset: o, cookie: cookie(0, Enums.HP_DIR_EGRESS, o - b.write.offset) })),
      ];
      const entries = [
        { program: 'hp_up_go_tls', binaryPath: `/proc/${server.pid}/exe`, offset: b.read.offset, cookie: cookie(0, Enums.HP_DIR_INGRESS) },
        { program: 'hp_up_go_tls', binaryPath: `/proc/${server.pid}/exe`, offset: b.write.offset, cookie: cookie(0, Enums.HP_DIR_EGRESS) },
      ];
      const h2 = inspectGoH2(peers.go);
      if (h2.kind !== 'traceable') throw new Error(`the Go peer's grpc-go should be traceable: ${JSON.stringify(h2)}`);
      const h = h2.binary;
      const nh2 = inspectNetHttpH2(peers.go);
      if (nh2.kind !== 'traceable' || !nh2.binary.server || !nh2.binary.client) throw new Error(`the Go peer's net/http should be traceable: ${JSON.stringify(nh2)}`);
      const n = nh2.binary;
      const [ns, nc, no] = [n.server!, n.client!, n.offsets];
      expect(sensor.calls.find((c) => c.op === 'h2layout')).toEqual({
        op: 'h2layout', index: 0,
        layout: {
          clientReadAddr: h.clientRead.addr, serverReadAddr: h.serverRead.addr, writeAddr: h.write.addr, itabTls: h.itabTls, itabSyscallConn: h.itabSyscallConn,
          clientConnOff: h.offsets.clientConn, serverConnOff: h.offsets.serverConn, loopyConnOff: h.offsets.loopyConn, syscallConnOff: h.offsets.syscallConn,
          metaFrameOff: h.offsets.metaFrame, metaFieldsOff: h.offsets.metaFields, metaTruncatedOff: h.offsets.metaTruncated,
          streamIdOff: h.offsets.streamId, frameFlagsOff: h.offsets.frameFlags, fieldSize: h.offsets.fieldSize,
          fieldNameOff: h.offsets.fieldName, fieldValueOff: h.offsets.fieldValue, fieldSensitiveOff: h.offsets.fieldSensitive, pie: false,
          nhServerReadAddr: ns.read.addr, nhClientReadAddr: nc.read.addr, nhServerWriteAddr: ns.write.addr, nhClientWriteAddr: nc.write.addr,
          nhItabServerCtx: ns.itabServerCtx, nhServerConnOff: no.serverConn, nhReadLoopCcOff: no.readLoopCc, nhClientConnOff: no.clientConn,
          nhResStreamIdOff: no.resStreamId, nhResEndStreamOff: no.resEndStream, nhMetaFrameOff: no.metaFrame, nhMetaFieldsOff: no.metaFields,
          nhMetaTruncatedOff: no.metaTruncated, nhStreamIdOff: no.streamId, nhFrameFlagsOff: no.frameFlags, nhFieldSize: no.fieldSize,
          nhFieldNameOff: no.fieldName, nhFieldValueOff: no.fieldValue, nhFieldSensitiveOff: no.fieldSensitive,
        },
      });
      const headers = [
        { program: 'hp_up_go_h2', binaryPath: `/proc/${server.pid}/exe`, offset: h.clientRead.offset, cookie: h2Cookie(0, Enums.HP_H2_GRPC_CLIENT_READ) },
        { program: 'hp_up_go_h2', binaryPath: `/proc/${server.pid}/exe`, offset: h.serverRead.offset, cookie: h2Cookie(0, Enums.HP_H2_GRPC_SERVER_READ) },
        { program: 'hp_up_go_h2', binaryPath: `/proc/${server.pid}/exe`, offset: h.write.offset, cookie: h2Cookie(0, Enums.HP_H2_GRPC_WRITE) },
        ...([
          [n.field, 'hp_up_go_h2_field', Enums.HP_H2_NETHTTP_FIELD],
          [ns.write, 'hp_up_go_h2', Enums.HP_H2_NETHTTP_SERVER_WRITE],
          [nc.write, 'hp_up_go_h2', Enums.HP_H2_NETHTTP_CLIENT_WRITE],
          [ns.read, 'hp_up_go_h2', Enums.HP_H2_NETHTTP_SERVER_READ],
          [nc.read, 'hp_up_go_h2', Enums.HP_H2_NETHTTP_CLIENT_READ],
          [ns.start, 'hp_up_go_h2_start', Enums.HP_H2_NETHTTP_SERVER_START],
          [nc.starts[0]!, 'hp_up_go_h2_start', Enums.HP_H2_NETHTTP_CLIENT_START],
          [nc.starts[1]!, 'hp_up_go_h2_start', Enums.HP_H2_NETHTTP_CLIENT_START],
        ] as const).map(([f, program, probe]) => ({ program, binaryPath: `/proc/${server.pid}/exe`, offset: f.offset, cookie: h2Cookie(0, probe) })),
      ];
      expect(sensor.attaches().map(({ id: _id, ...o }) => o)).toEqual([...returns, ...entries, ...headers]);
      expect(attacher.attached()).toEqual([{
        path: peers.go, openedAs: `/proc/${server.pid}/exe`, kind: 'go', goVersion: b.goVersion,
        functions: ['crypto/tls.(*Conn).Read', 'crypto/tls.(*Conn).Write'], links: sensor.attaches().map((a) => a.id),
        headerFunctions: [GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE, n.field.name, ns.write.name, nc.write.name, ns.read.name, nc.read.name, ns.start.name, ...nc.starts.map((f) => f.name)],
        headerStacks: ['grpc-go', 'net/http'],
      }]);
      expect(lines).toEqual([`TLS: uprobes on Go ${b.goVersion} crypto/tls (Read: ${b.read.returns.length} returns, Write: ${b.write.returns.length}) and grpc-go, net/http HTTP/2 headers in ${peers.go} (pid ${server.pid})`]);
      // The same file again (another process, or a rescan): nothing more.
      attacher.onExec(server.pid);
      expect(sensor.attaches()).toHaveLength(returns.length + entries.length + headers.length);

      attacher.detach();
      expect(sensor.calls.filter((c) => c.op === 'detach')).toHaveLength(returns.length + entries.length + headers.length);
      expect(sensor.calls.slice(-2)).toEqual([{ op: 'layout', index: 0, layout: null }, { op: 'h2layout', index: 0, layout: null }]);
    } finally {
      attacher.close();
    }
  });

  it('undoes a binary whose probes are refused part-way, and says why', () => {
    const sensor = new RecordingSensor();
    sensor.failFrom = 3;
    const attacher = new TlsAttacher(sensor);
    try {
      attacher.onExec(server.pid);
      expect(attacher.attached()).toEqual([]);
      expect(sensor.calls.filter((c) => c.op === 'detach').map((c) => c.id)).toEqual([1, 2]);
      expect(sensor.calls.at(-1)).toEqual({ op: 'layout', index: 0, layout: null });
      expect(attacher.skipped()).toEqual([{ path: `${peers.go} (pid ${server.pid})`, reason: expect.stringMatching(/^Go go1\.\d+.*: uprobes refused: uprobe refused: EINVAL$/) }]);
    } finally {
      attacher.close();
    }
  });

  it('undoes the header probes alone when they are refused: crypto/tls stays, the reasons are reported', () => {
    const tlsProbes = (() => {
      const t = inspectGoTls(peers.go);
      return t.kind === 'traceable' ? t.binary.read.returns.length + t.binary.write.returns.length + 2 : 0;
    })();
    const sensor = new RecordingSensor();
    sensor.failFrom = tlsProbes + 2; // the second header probe
    const attacher = new TlsAttacher(sensor);
    try {
      attacher.onExec(server.pid);
      expect(attacher.attached()).toHaveLength(1);
      expect(attacher.attached()[0]!.links).toHaveLength(tlsProbes);
      expect(attacher.attached()[0]!.headerFunctions).toBeUndefined();
      expect(sensor.calls.filter((c) => c.op === 'detach').map((c) => c.id)).toEqual([tlsProbes + 1]);
      expect(sensor.calls.at(-1)).toEqual({ op: 'h2layout', index: 0, layout: null });
      expect(attacher.skipped()).toEqual(['grpc-go', 'net/http'].map((stack) => ({
        path: `${peers.go} (pid ${server.pid})`,
        reason: expect.stringMatching(new RegExp(`^Go go1\\.\\d+.*: crypto/tls traced, HTTP/2 headers not: ${stack}: uprobes refused: uprobe refused: EINVAL$`)),
      })));
    } finally {
      attacher.close();
    }
  });

  it('keeps grpc-go\'s header probes when net/http\'s are refused, and undoes net/http\'s whole', () => {
    const sensor = new RecordingSensor();
    sensor.refused.add('hp_up_go_h2_start'); // net/http's last probes
    const attacher = new TlsAttacher(sensor);
    try {
      attacher.onExec(server.pid);
      expect(attacher.attached()[0]!.headerFunctions).toEqual([GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE]);
      expect(attacher.attached()[0]!.headerStacks).toEqual(['grpc-go']);
      const attached = sensor.attaches().map((a) => a.id);
      const detached = sensor.calls.flatMap((c) => (c.op === 'detach' ? [c.id] : []));
      // net/http's field, two writes and two reads went in, then came out.
      expect(detached).toEqual(attached.slice(-5));
      expect(attacher.attached()[0]!.links).toEqual(attached.slice(0, -5));
      expect(attacher.skipped()).toEqual([{
        path: `${peers.go} (pid ${server.pid})`,
        reason: expect.stringMatching(/^Go go1\.\d+.*: crypto\/tls traced, HTTP\/2 headers not: net\/http: uprobes refused: uprobe refused: EINVAL$/),
      }]);
    } finally {
      attacher.close();
    }
  });

  it.each<['grpc' | 'off', string[], string[]]>([
    ['grpc', [GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE], ['grpc-go']],
    ['off', [], []],
  ])('with goHeaders %s, probes only those header functions (and says nothing of net/http)', (mode, functions, stacks) => {
    const sensor = new RecordingSensor();
    const attacher = new TlsAttacher(sensor, () => {}, '/proc', undefined, mode);
    try {
      attacher.onExec(server.pid);
      const b = attacher.attached()[0]!;
      expect(b.headerFunctions ?? []).toEqual(functions);
      expect(b.headerStacks ?? []).toEqual(stacks);
      expect(sensor.attaches().some((a) => a.program.startsWith('hp_up_go_h2_'))).toBe(false); // net/http's own programs
      expect(attacher.skipped()).toEqual([]);
    } finally {
      attacher.close();
    }
  });

  it('on a kernel without uprobe cookies, reports a traceable Go binary instead of probing it', () => {
    const sensor = new RecordingSensor();
    const attacher = new TlsAttacher(sensor, () => {}, '/proc', goTlsUnsupportedReason('5.10.0-21-amd64'));
    try {
      attacher.onExec(server.pid);
      expect(sensor.calls).toEqual([]);
      expect(attacher.skipped()).toEqual([{
        path: `${peers.go} (pid ${server.pid})`,
        reason: expect.stringMatching(/^Go go1\.\d+\S*: Go TLS probes need Linux 5\.15\+ \(uprobe cookies\); this kernel is 5\.10\.0-21-amd64$/),
      }]);
    } finally {
      attacher.close();
    }
  });

  it('reports a Go binary without DWARF, and probes nothing in it', () => {
    const sensor = new RecordingSensor();
    const lines: string[] = [];
    const attacher = new TlsAttacher(sensor, (l) => lines.push(l));
    try {
      attacher.onExec(noDwarf.pid);
      expect(sensor.calls).toEqual([]);
      const where = `${peers.noDwarf} (pid ${noDwarf.pid})`;
      expect(attacher.skipped()).toEqual([{ path: where, reason: expect.stringMatching(/^Go go1\.\d+[^:]*: no DWARF \(linked with -w or -s\)/) }]);
      expect(lines).toEqual([`TLS: not traced: ${where}: ${attacher.skipped()[0]!.reason}`]);
      expect(attacher.summary()).toBe('TLS uprobes on 0 binaries; 1 not traced (see above)');
    } finally {
      attacher.close();
    }
  });
});

describe('TlsAttacher removes probes when no process uses the binary any more', () => {
  it('keeps them while one user is left, removes them with the last, probes a new copy anew', async () => {
    const peers = await goPeerBinaries();
    const dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-sweep-'));
    const copy = path.join(dir, 'echo-peer');
    await copyFile(peers.go, copy);
    await chmod(copy, 0o755);
    const sensor = new RecordingSensor();
    const lines: string[] = [];
    const attacher = new TlsAttacher(sensor, (l) => lines.push(l));
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const a = await startServer(copy, httpsServerArgs(p1), p1);
    const b = await startServer(copy, httpsServerArgs(p2), p2);
    try {
      attacher.onExec(a.pid);
      attacher.onExec(b.pid);
      const links = attacher.attached()[0]!.links;
      expect(attacher.attached()).toHaveLength(1);

      await a.stop();
      expect(attacher.sweep()).toBe(0);
      expect(sensor.calls.filter((c) => c.op === 'detach')).toEqual([]);

      await b.stop();
      await rm(copy); // the rollout replaced it
      expect(attacher.sweep()).toBe(1);
      expect(sensor.calls.filter((c) => c.op === 'detach').map((c) => (c as { id: number }).id)).toEqual(links);
      expect(sensor.calls.slice(-2)).toEqual([{ op: 'layout', index: 0, layout: null }, { op: 'h2layout', index: 0, layout: null }]);
      expect(attacher.attached()).toEqual([]);
      expect(lines.at(-1)).toBe(`TLS: uprobes removed from ${copy}: no process uses it any more`);

      // The new version of the file (a new inode) is probed when it runs, in the freed slot.
      await copyFile(peers.go, copy);
      await chmod(copy, 0o755);
      const c = await startServer(copy, httpsServerArgs(p3), p3);
      try {
        attacher.onExec(c.pid);
        expect(attacher.attached()).toHaveLength(1);
        expect(sensor.calls.filter((x) => x.op === 'layout').at(-1)).toMatchObject({ index: 0, layout: expect.any(Object) });
      } finally {
        await c.stop();
      }
    } finally {
      await a.stop();
      await b.stop();
      attacher.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps libssl found in a library directory while the file is there', () => {
    const sensor = new RecordingSensor();
    const attacher = new TlsAttacher(sensor);
    try {
      attacher.scan();
      const libs = attacher.attached().filter((x) => x.kind === 'libssl');
      expect(libs.length).toBeGreaterThan(0);
      attacher.sweep();
      expect(attacher.attached().filter((x) => x.kind === 'libssl')).toEqual(libs);
    } finally {
      attacher.close();
    }
  });
});

describe('goTlsUnsupportedReason', () => {
  it.each([
    ['6.18.0', undefined],
    ['5.15.0-91-generic', undefined],
    ['5.14.21', 'Go TLS probes need Linux 5.15+ (uprobe cookies); this kernel is 5.14.21'],
    ['4.19.0', 'Go TLS probes need Linux 5.15+ (uprobe cookies); this kernel is 4.19.0'],
    ['unknown', undefined],
  ])('%s', (kernel, expected) => {
    expect(goTlsUnsupportedReason(kernel)).toBe(expected);
  });
});

describe('TlsAttacher on binaries that carry a TLS library without its symbols', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hp-tls-stripped-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `cmd` until `ready` is on its stdout, then calls onExec for it and waits out the library rescans. */
  async function attachTo(cmd: string, args: string[], ready: string): Promise<{ attacher: TlsAttacher; sensor: RecordingSensor; lines: string[]; stop: () => void; pid: number }> {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes(ready) && resolve());
      child.once('exit', (code) => reject(new Error(`${cmd} exited ${code} before it was ready`)));
    });
    const sensor = new RecordingSensor();
    const lines: string[] = [];
    const attacher = new TlsAttacher(sensor, (l) => lines.push(l));
    attacher.onExec(child.pid!);
    await new Promise((resolve) => setTimeout(resolve, 400)); // the rescans at 20 and 250 ms
    return { attacher, sensor, lines, pid: child.pid!, stop: () => { attacher.close(); child.kill(); } };
  }

  const STATIC_PROGRAM = '#include <openssl/ssl.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(void) {\n  SSL_CTX *c = SSL_CTX_new(TLS_method());\n  SSL *s = SSL_new(c);\n  printf("ready %d\\n", SSL_write(s, "x", 1)); fflush(stdout);\n  pause();\n  return 0;\n}\n';

  it('a stripped executable with OpenSSL 3 linked in: its four functions probed where their code puts them, and logged', async () => {
    const src = path.join(dir, 'static.c');
    const exe = path.join(dir, 'static-openssl');
    await writeFile(src, STATIC_PROGRAM);
    execFileSync('cc', [src, '-static', '-s', '-o', exe, '-lssl', '-lcrypto', '-lpthread'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const run = await attachTo(exe, [], 'ready');
    try {
      expect(run.attacher.skipped()).toEqual([]);
      expect(run.attacher.attached()).toMatchObject([{ path: exe, kind: 'executable', functions: ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex'], foundBy: 'stripped OpenSSL 3, functions found by the names their errors record' }]);
      const found = withElf(exe, (f) => {
        const r = findOpensslFunctions(f);
        return r.ok ? Object.fromEntries([...r.value.addresses].map(([n, a]) => [n, f.fileOffset(a)])) : {};
      });
      const at = found.ok ? found.value : {};
      expect(run.sensor.attaches().map((a) => [a.program, a.offset, a.retprobe ?? false])).toEqual([
        ['hp_up_ssl_write', at.SSL_write, false], ['hp_urp_ssl', at.SSL_write, true], ['hp_up_ssl_read', at.SSL_read, false], ['hp_urp_ssl', at.SSL_read, true],
        ['hp_up_ssl_write_ex', at.SSL_write_ex, false], ['hp_urp_ssl_ex', at.SSL_write_ex, true], ['hp_up_ssl_read_ex', at.SSL_read_ex, false], ['hp_urp_ssl_ex', at.SSL_read_ex, true],
      ]);
      expect(run.lines.some((l) => l.includes(exe) && l.includes('(stripped OpenSSL 3, functions found by the names their errors record)'))).toBe(true);
      expect(run.attacher.summary()).toContain(`${exe} (stripped OpenSSL, by error-site names)`);
    } finally {
      run.stop();
    }
  });

  it('a stripped executable with OpenSSL 1.1 linked in: named as not traced, with the reason, nothing probed', async () => {
    const ssl11 = await openSsl11();
    const src = path.join(dir, 'static11.c');
    const exe = path.join(dir, 'static-openssl11');
    await writeFile(src, STATIC_PROGRAM);
    execFileSync('cc', ['-static', '-s', `-I${path.join(ssl11.prefix, 'include')}`, '-o', exe, src,
      path.join(ssl11.prefix, 'lib/libssl.a'), path.join(ssl11.prefix, 'lib/libcrypto.a'), '-lpthread', '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const run = await attachTo(exe, [], 'ready');
    try {
      expect(run.attacher.skipped()).toEqual([{
        path: `${exe} (pid ${run.pid})`,
        reason: 'carries OpenSSL 1 but no SSL_read/SSL_write symbol (stripped): its TLS traffic is not traced',
      }]);
      expect(run.sensor.attaches()).toEqual([]);
    } finally {
      run.stop();
    }
  }, 900_000);

  it('grpcio\'s wheel (stripped BoringSSL): SSL_write and SSL_read probed where their fingerprints put them, and logged', async () => {
    const python = (await preparedPeerPaths()).get('python')!;
    const run = await attachTo(python, ['-c', 'import grpc, sys; print("ready", flush=True); sys.stdin.read()'], 'ready');
    try {
      const grpcio = run.attacher.attached().find((b) => b.path.includes('/grpc/_cython/cygrpc'));
      expect(grpcio).toMatchObject({ kind: 'library', functions: ['SSL_write', 'SSL_read'], foundBy: expect.stringMatching(/^stripped BoringSSL, functions found by their error sites/) });
      const found = withElf(grpcio!.openedAs, (f) => {
        const r = findBoringSslFunctions(f);
        return r.ok ? [f.fileOffset(r.value.SSL_write), f.fileOffset(r.value.SSL_read)] : [];
      });
      const at = run.sensor.attaches().filter((a) => a.binaryPath === grpcio!.openedAs).map((a) => [a.program, a.offset, a.retprobe ?? false]);
      const [write, read] = found.ok ? found.value : [];
      expect(at).toEqual([['hp_up_ssl_write', write, false], ['hp_urp_ssl', write, true], ['hp_up_ssl_read', read, false], ['hp_urp_ssl', read, true]]);
      expect(run.lines.some((l) => l.includes('cygrpc') && l.includes('(stripped BoringSSL, functions found by their error sites'))).toBe(true);
    } finally {
      run.stop();
    }
  });
});
