import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseListeningPorts, RoleInference } from './roleInference.ts';

// Real /proc/net/tcp lines: a listener on 0.0.0.0:80 (0x50), an established
// connection from local port 41234 (0xA112) to 80.
const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21745 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A112 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 20 4 30 10 -1
`;

describe('parseListeningPorts', () => {
  it('keeps only sockets in LISTEN state', () => {
    expect([...parseListeningPorts(PROC_NET_TCP)]).toEqual([80]);
  });
  it('survives garbage', () => {
    expect([...parseListeningPorts('nonsense\n\n  x y z')]).toEqual([]);
  });
});

describe('RoleInference', () => {
  it('is server for a listening local port of the process namespace, client otherwise, unknown when gone', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'hp-proc-'));
    mkdirSync(path.join(root, '42/net'), { recursive: true });
    mkdirSync(path.join(root, '42/ns'), { recursive: true });
    symlinkSync('net:[4026531992]', path.join(root, '42/ns/net'));
    writeFileSync(path.join(root, '42/net/tcp'), PROC_NET_TCP);
    const roles = new RoleInference(root);
    expect(roles.roleOf(42, 80)).toBe('server');
    expect(roles.roleOf(42, 41234)).toBe('client');
    expect(roles.roleOf(43, 80)).toBe('unknown');
  });

  it('remembers the namespaces of processes that existed at start, for when they exit before their events arrive', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'hp-proc-'));
    mkdirSync(path.join(root, '7/net'), { recursive: true });
    mkdirSync(path.join(root, '7/ns'), { recursive: true });
    symlinkSync('net:[1]', path.join(root, '7/ns/net'));
    writeFileSync(path.join(root, '7/net/tcp'), PROC_NET_TCP);
    const roles = new RoleInference(root);
    roles.snapshot();
    rmSync(path.join(root, '7'), { recursive: true });
    expect(roles.roleOf(7, 80)).toBe('server');
    expect(roles.roleOf(7, 41234)).toBe('client');
  });

  it('keeps a port that listened at start as a server port after its listener closed', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'hp-proc-'));
    mkdirSync(path.join(root, '9/net'), { recursive: true });
    mkdirSync(path.join(root, '9/ns'), { recursive: true });
    symlinkSync('net:[2]', path.join(root, '9/ns/net'));
    writeFileSync(path.join(root, '9/net/tcp'), PROC_NET_TCP);
    let now = 0;
    const roles = new RoleInference(root, 1000, () => now);
    roles.snapshot();
    // The listener closes; the connection's first bytes arrive after the cache expired.
    writeFileSync(path.join(root, '9/net/tcp'), PROC_NET_TCP.split('\n').filter((l) => !l.includes(' 0A ')).join('\n'));
    now = 5000;
    expect(roles.roleOf(9, 80)).toBe('server');
    expect(roles.roleOf(9, 41234)).toBe('client');
  });
});
