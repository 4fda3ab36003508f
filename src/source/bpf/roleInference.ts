/**
 * Role of a connection that was already open when the sensor started (no
 * connect or accept seen): a connection whose local port is a listening
 * port of the host was accepted (server); anything else was connected
 * (client).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { Role } from '../events.ts';

const TCP_LISTEN = '0A';

/** Parses /proc/net/tcp-format text into the set of listening local ports. */
export function parseListeningPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[3] !== TCP_LISTEN) continue;
    const port = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
    if (Number.isFinite(port)) ports.add(port);
  }
  return ports;
}

/**
 * Listening ports are per network namespace: each pod has its own, so they
 * are read through /proc/<pid>/net, cached per namespace for maxAgeMs.
 */
export class RoleInference {
  private readonly byNetns = new Map<string, { ports: Set<number>; readAt: number }>();

  private readonly procRoot: string;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(procRoot = '/proc', maxAgeMs = 1000, now: () => number = Date.now) {
    this.procRoot = procRoot;
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  roleOf(pid: number, localPort: number): Role {
    let netns: string;
    try {
      netns = readlinkSync(`${this.procRoot}/${pid}/ns/net`);
    } catch {
      return 'unknown'; // the process is gone: nothing to infer from
    }
    let entry = this.byNetns.get(netns);
    if (!entry || this.now() - entry.readAt > this.maxAgeMs) {
      entry = { ports: this.listeningPorts(pid), readAt: this.now() };
      // Bounded: namespaces come and go with pods.
      if (this.byNetns.size >= 1024) this.byNetns.clear();
      this.byNetns.set(netns, entry);
    }
    return entry.ports.has(localPort) ? 'server' : 'client';
  }

  private listeningPorts(pid: number): Set<number> {
    const ports = new Set<number>();
    for (const f of ['tcp', 'tcp6']) {
      try {
        for (const p of parseListeningPorts(readFileSync(`${this.procRoot}/${pid}/net/${f}`, 'utf8'))) ports.add(p);
      } catch {
        // No IPv6 in that namespace (or the process just exited).
      }
    }
    return ports;
  }
}
