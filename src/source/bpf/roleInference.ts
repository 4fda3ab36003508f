/**
 * Role of a connection that was already open when the sensor started (no
 * connect or accept seen): a connection whose local port is a listening
 * port of the host was accepted (server); anything else was connected
 * (client).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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
 *
 * A connection reported as already open may reach us after its process
 * exited (events arrive a few milliseconds late). Such a process existed
 * when the sensor started, so snapshot() records every process's namespace
 * and that namespace's listeners at start, and roleOf() falls back to it.
 * A port listening at start still counts after its listener closed: the
 * connection was accepted before the sensor started, and a program may
 * close its listener before the first bytes of that connection reach us.
 */
export class RoleInference {
  private readonly byNetns = new Map<string, { ports: Set<number>; readAt: number }>();
  private readonly netnsAtStart = new Map<number, string>();
  private readonly listenersAtStart = new Map<string, Set<number>>();
  private readonly procRoot: string;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(procRoot = '/proc', maxAgeMs = 1000, now: () => number = Date.now) {
    this.procRoot = procRoot;
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  /** Records every process's network namespace and its listeners, now. */
  snapshot(): void {
    let pids: string[];
    try {
      pids = readdirSync(this.procRoot).filter((d) => /^\d+$/.test(d));
    } catch {
      return;
    }
    for (const d of pids) {
      const pid = Number(d);
      const netns = this.netnsOf(pid);
      if (!netns) continue;
      this.netnsAtStart.set(pid, netns);
      if (this.byNetns.has(netns)) continue;
      const ports = this.listeningPorts(pid);
      this.byNetns.set(netns, { ports, readAt: this.now() });
      this.listenersAtStart.set(netns, ports);
    }
  }

  roleOf(pid: number, localPort: number): Role {
    const live = this.netnsOf(pid);
    const netns = live ?? this.netnsAtStart.get(pid);
    if (!netns) return 'unknown'; // gone, and not there at start either
    let entry = this.byNetns.get(netns);
    if (live && (!entry || this.now() - entry.readAt > this.maxAgeMs)) {
      entry = { ports: this.listeningPorts(pid), readAt: this.now() };
      // Bounded: namespaces come and go with pods.
      if (this.byNetns.size >= 4096) this.byNetns.clear();
      this.byNetns.set(netns, entry);
    }
    if (!entry) return 'unknown';
    return entry.ports.has(localPort) || this.listenersAtStart.get(netns)?.has(localPort) ? 'server' : 'client';
  }

  private netnsOf(pid: number): string | undefined {
    try {
      return readlinkSync(`${this.procRoot}/${pid}/ns/net`);
    } catch {
      return undefined;
    }
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
