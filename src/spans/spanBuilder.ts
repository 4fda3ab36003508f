/**
 * Exchanges to spans. Kind from the traced process's role; network
 * attributes from the connection; the W3C traceparent on the request is
 * honoured; and when both ends of a connection are traced on this host,
 * the server span becomes the child of the client span, so the two
 * appear as one trace.
 */
import { hostname } from 'node:os';
import type { ConnContext } from '../reassembly/connectionTracker.ts';
import type { Exchange } from '../protocols/contract.ts';
import type { ConnOpenEvent, Endpoint } from '../source/events.ts';
import { IdGenerator, parseTraceparent } from './ids.ts';
import { WorkloadResolver } from '../enrichment/workloadResolver.ts';
import { ProcessTable } from '../enrichment/processTable.ts';
import { SpanKind, StatusCode, type AttributeValue, type Span } from './span.ts';

const endpointKey = (e: Endpoint) => `${e.address}|${e.port}`;

/** Client connections of this host by their (local, remote) ends, so a server can find its peer. */
class PeerIndex {
  private readonly clients = new Map<string, string>();

  add(open: ConnOpenEvent): void {
    if (open.role !== 'client' || !open.local.port) return;
    if (this.clients.size >= 65536) this.clients.delete(this.clients.keys().next().value!);
    this.clients.set(`${endpointKey(open.local)}>${endpointKey(open.remote)}`, open.conn);
  }

  /** Lookup keys of server connections, made once per connection rather than per span. */
  private readonly serverKeys = new WeakMap<ConnOpenEvent, string>();
  /** The last connection looked up and its key: a connection's exchanges come in runs (no WeakMap lookup for them). */
  private lastServer: ConnOpenEvent | undefined;
  private lastKey = '';

  /** The traced client connection whose far end is this server connection. */
  clientOf(server: ConnOpenEvent): string | undefined {
    if (server !== this.lastServer) {
      let key = this.serverKeys.get(server);
      if (key === undefined) {
        key = `${endpointKey(server.remote)}>${endpointKey(server.local)}`;
        this.serverKeys.set(server, key);
      }
      this.lastServer = server;
      this.lastKey = key;
    }
    return this.clients.get(this.lastKey);
  }
}

export class SpanBuilder {
  private readonly ids: IdGenerator;
  private readonly peers = new PeerIndex();
  private readonly workloads: WorkloadResolver;
  /** Exchanges without a pair key so far: their ids need a key of their own. */
  private unpaired = 0;

  /** 'collapse' (default): ids in paths become {id}, {uuid}...; 'raw': the path as it is (high cardinality). */
  routes: 'collapse' | 'raw' = 'collapse';

  constructor(ids = new IdGenerator(), workloads = new WorkloadResolver(new ProcessTable(), hostname())) {
    this.ids = ids;
    this.workloads = workloads;
  }

  /** A process exited: its pid may be reused by another process. */
  processExited(pid: number): void {
    this.workloads.processExited(pid);
  }

  /**
   * Connections must be announced as they open, so servers can find their
   * clients. They are not forgotten at close: a server's last exchange may
   * complete after its client closed; a reused port overwrites the entry,
   * and the index is bounded.
   */
  connectionOpened(open: ConnOpenEvent): void {
    this.peers.add(open);
    this.workloads.observe(open.pid, open.comm);
  }

  build(conn: ConnContext, ex: Exchange): Span {
    const { open } = conn;
    const server = conn.role === 'server';
    const tp = parseTraceparent(ex.traceparent);
    // The client span's identity is known to both ends: its connection and pair key.
    // Without a pair key both ends agree on, the span stands alone (never paired wrongly).
    const peerClient = ex.pairKey === undefined ? undefined : server ? this.peers.clientOf(open) : open.conn;
    // Keys `${conn}/${pair}`, given to the id generator in parts (no string per span).
    const ownPair = ex.pairKey ?? `#${++this.unpaired}`;
    const spanId = this.ids.spanIdOf(server ? 's:' : 'c:', open.conn, ownPair);
    const traceId = tp?.traceId ?? (peerClient ? this.ids.traceIdOf(peerClient, ex.pairKey!) : this.ids.traceIdOf(open.conn, ownPair));
    let parentSpanId = tp?.parentId ?? '';
    if (server && peerClient) parentSpanId = this.ids.spanIdOf('c:', peerClient, ex.pairKey!);

    const attributes: Record<string, AttributeValue> = { ...ex.attributes };
    if (conn.tls && attributes['url.scheme'] === 'http') attributes['url.scheme'] = 'https';
    let name = ex.name;
    const route = attributes['http.route'];
    const path = attributes['url.path'];
    if (this.routes === 'raw' && typeof route === 'string' && typeof path === 'string' && name.endsWith(route)) {
      attributes['http.route'] = path;
      name = name.slice(0, name.length - route.length) + path;
    }
    if (open.family !== 'unix' && open.remote.address) {
      attributes['network.transport'] = 'tcp';
      attributes['network.type'] = open.family;
      attributes['network.peer.address'] = open.remote.address;
      attributes['network.peer.port'] = open.remote.port;
      if (server) {
        attributes['client.address'] = open.remote.address;
        attributes['client.port'] = open.remote.port;
        attributes['server.port'] ??= open.local.port;
      } else {
        const peer = this.workloads.peerOf(open.remote.address);
        // The Host or :authority the client used comes first; then the Service it reached.
        attributes['server.address'] ??= peer?.serverAddress ?? open.remote.address;
        attributes['server.port'] ??= open.remote.port;
        if (peer?.peerService) attributes['peer.service'] = peer.peerService;
      }
    }
    const error = server ? ex.error.server : ex.error.client;
    return {
      traceId,
      spanId,
      parentSpanId,
      name,
      kind: server ? SpanKind.SERVER : SpanKind.CLIENT,
      startTimeUnixNano: ex.startNs,
      endTimeUnixNano: ex.endNs,
      attributes,
      status: error ? { code: StatusCode.ERROR, ...(ex.error.message ? { message: ex.error.message } : {}) } : { code: StatusCode.UNSET },
      resource: this.workloads.resourceOf(open.pid, open.comm),
    };
  }
}
