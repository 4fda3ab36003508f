/**
 * The attacher's SSL BIO side with a recording stand-in for the addon (no
 * BPF, no root): real processes are found through /proc. libcrypto gets
 * the BIO probes only with sslBio on and only in a process that maps libssl
 * too (openssl s_server; not Python's hashlib, which maps libcrypto alone);
 * return probes come before entries; each cookie carries the layout of the
 * file's OpenSSL version, the direction and the _ex flag; a kernel without
 * uprobe cookies gets a reason instead of probes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Enums } from './eventLayout.ts';
import { TlsAttacher } from './tlsAttach.ts';
import { DryRunSensor } from './dryRunSensor.ts';
import { SSL_BIO_LAYOUTS, sslBioCookie } from './sslBio.ts';
import { findFunctions } from './elfSymbols.ts';
import { freePort, startServer, type Server } from '../../../test/support/peers.ts';

/** The file a process maps whose name matches. */
function mapped(pid: number, name: RegExp): string {
  const file = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').map((l) => l.slice(l.indexOf('/'))).find((f) => name.test(path.basename(f)));
  if (!file) throw new Error(`pid ${pid} maps no ${name}`);
  return file;
}

/** onExec, then the rescans of its libraries (the first after 20 ms). */
async function afterExec(attacher: TlsAttacher, pid: number): Promise<void> {
  attacher.onExec(pid);
  await new Promise((r) => setTimeout(r, 300));
}

describe('TlsAttacher: SSL BIO probes on libcrypto', () => {
  let dir: string;
  let sServer: Server;
  let python: Server;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-ssl-bio-attach-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c')], { stdio: 'ignore' });
    const [a, b] = [await freePort(), await freePort()];
    sServer = await startServer('openssl', ['s_server', '-accept', `127.0.0.1:${a}`, '-cert', 'c', '-key', 'k', '-www', '-quiet'], a, { cwd: dir });
    // libcrypto without libssl: hashlib, and a plain listener so startServer sees it up.
    python = await startServer('python3', ['-c', `import hashlib, socket, time; s = socket.socket(); s.bind(('127.0.0.1', ${b})); s.listen(); time.sleep(120)`], b);
  });
  afterAll(async () => {
    await sServer?.stop();
    await python?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('probes libcrypto of a process that maps libssl: returns first, then entries, with the OpenSSL 3 layout in each cookie', async () => {
    const sensor = new DryRunSensor();
    const lines: string[] = [];
    const attacher = new TlsAttacher(sensor, (l) => lines.push(l), '/proc', undefined, 'all', true);
    try {
      await afterExec(attacher, sServer.pid);
      const libcrypto = mapped(sServer.pid, /^libcrypto\.so\.3$/);
      const openedAs = path.join(`/proc/${sServer.pid}/root`, libcrypto);
      const found = findFunctions(openedAs, ['BIO_read', 'BIO_write', 'BIO_read_ex', 'BIO_write_ex']);
      if (!found.ok) throw new Error(found.error);
      const off = (name: string) => found.value.offsets.get(name)!;
      const layout = SSL_BIO_LAYOUTS.openssl3;
      const fns = [
        ['BIO_read', Enums.HP_DIR_INGRESS, false], ['BIO_write', Enums.HP_DIR_EGRESS, false],
        ['BIO_read_ex', Enums.HP_DIR_INGRESS, true], ['BIO_write_ex', Enums.HP_DIR_EGRESS, true],
      ] as const;
      const bio = sensor.uprobes.filter((a) => a.program.endsWith('_ssl_bio'));
      expect(bio).toEqual([
        ...fns.map(([name, dir, ex]) => ({ program: 'hp_urp_ssl_bio', binaryPath: openedAs, offset: off(name), retprobe: true, cookie: sslBioCookie(layout, dir, ex) })),
        ...fns.map(([name, dir, ex]) => ({ program: 'hp_up_ssl_bio', binaryPath: openedAs, offset: off(name), cookie: sslBioCookie(layout, dir, ex) })),
      ]);
      expect(attacher.attached().find((b) => b.kind === 'libcrypto')).toMatchObject({ path: libcrypto, openedAs, functions: fns.map(([n]) => n) });
      expect(lines).toContain(`TLS: SSL BIO uprobes on BIO_read, BIO_write, BIO_read_ex, BIO_write_ex in ${libcrypto} (pid ${sServer.pid}) (OpenSSL 3 layout)`);
      expect(attacher.summary()).toContain(`${libcrypto} (SSL BIO)`);
      // libssl's SSL_* probes as before.
      expect(attacher.attached().some((b) => b.kind === 'libssl')).toBe(true);
    } finally {
      attacher.close();
    }
  });

  it('leaves libcrypto alone in a process without libssl (no SSL BIO can exist there)', async () => {
    const sensor = new DryRunSensor();
    const attacher = new TlsAttacher(sensor, () => {}, '/proc', undefined, 'all', true);
    try {
      mapped(python.pid, /^libcrypto\.so\.3$/); // the premise: Python's hashlib maps it
      await afterExec(attacher, python.pid);
      expect(sensor.uprobes.filter((a) => a.program.endsWith('_ssl_bio'))).toEqual([]);
      expect(attacher.attached().filter((b) => b.kind === 'libcrypto')).toEqual([]);
    } finally {
      attacher.close();
    }
  });

  it('places none without sslBio (the default)', async () => {
    const sensor = new DryRunSensor();
    const attacher = new TlsAttacher(sensor, () => {}, '/proc');
    try {
      await afterExec(attacher, sServer.pid);
      expect(sensor.uprobes.some((a) => a.program.endsWith('_ssl_bio'))).toBe(false);
      expect(attacher.attached().some((b) => b.kind === 'libssl')).toBe(true);
    } finally {
      attacher.close();
    }
  });

  it('on a kernel without uprobe cookies, says so instead of probing', async () => {
    const sensor = new DryRunSensor();
    const attacher = new TlsAttacher(sensor, () => {}, '/proc', 'Go TLS probes need Linux 5.15+ (uprobe cookies); this kernel is 5.10.0', 'all', true);
    try {
      await afterExec(attacher, sServer.pid);
      expect(sensor.uprobes.some((a) => a.program.endsWith('_ssl_bio'))).toBe(false);
      expect(attacher.skipped()).toContainEqual({
        path: `${mapped(sServer.pid, /^libcrypto\.so\.3$/)} (pid ${sServer.pid})`,
        reason: 'SSL BIO: SSL BIO probes need Linux 5.15+ (uprobe cookies); this kernel is 5.10.0',
      });
    } finally {
      attacher.close();
    }
  });
});
