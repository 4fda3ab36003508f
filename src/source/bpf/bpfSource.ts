/**
 * The live source: loads and attaches the BPF sensor through the addon,
 * decodes its batches into the event model, and adds what only user space
 * knows: the role of connections that predate the sensor, and loss events
 * (from the kernel's counters and from holes in a connection's positions).
 */
import type { EventSink, SensorEvent, DataEvent, LostEvent, ConnOpenEvent, Direction } from '../events.ts';
import type { AttachKind, NativeAddon, NativeSensor, DeliveryStats } from '../../native/addon.ts';
import { loadAddon, sensorObjectPath } from '../../native/addon.ts';
import { chooseAttach, type AttachRequest } from './attachChoice.ts';
import { decodeBatch, type DecodeStats } from './decoder.ts';
import { monotonicToWallClock } from './clock.ts';
import { RoleInference } from './roleInference.ts';
import { CounterNames, Enums } from './eventLayout.ts';
import { TlsAttacher, goTlsUnsupportedReason, type GoHeaderProbes, type TlsBinary, type TlsSkipped } from './tlsAttach.ts';

export interface BpfSourceOptions {
  attach?: AttachRequest;
  /** Payload bytes captured per syscall (default 16 KiB, at most 64 KiB). */
  captureBytes?: number;
  /** Kernel ring buffer size; a power of two (default 16 MiB). */
  ringBufferBytes?: number;
  /** Only these processes (thread group ids). */
  pids?: readonly number[];
  /** Only connections with one of these ports at either end. */
  ports?: readonly number[];
  /** Only processes in these cgroup v2 ids. */
  cgroups?: readonly bigint[];
  /** Also trace Unix stream sockets. */
  unix?: boolean;
  /** Wake user space once this many bytes wait (default 64 KiB; 0: every record). */
  wakeupBytes?: number;
  /** How often kernel loss counters are read (ms). */
  counterIntervalMs?: number;
  /** TLS plaintext through uprobes on TLS libraries (default true). */
  tls?: boolean;
  /** With tls: HTTP/2 header blocks of Go programs through uprobes on grpc-go's transport and net/http's bundle (default 'all'). */
  goHeaders?: GoHeaderProbes;
  /**
   * With tls: OpenSSL's SSL BIO (openssl s_server -www) through uprobes on
   * libcrypto's BIO_read/BIO_write(_ex) (default false: they add a trap
   * pair to every BIO call, SSL_read's own socket reads included; see
   * README, "Cost of the TLS probes").
   */
  sslBio?: boolean;
  /** Lines worth a user's attention after start (TLS binaries attached or not). */
  log?: (line: string) => void;
}

export type KernelCounters = Record<(typeof CounterNames)[number], bigint>;

/** Connections whose next expected position is remembered; beyond it the oldest is forgotten. */
const MAX_TRACKED_POSITIONS = 65536;

export function validateCaptureBytes(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > Enums.HP_CAPTURE_MAX) {
    throw new RangeError(`captureBytes must be an integer from 0 to ${Enums.HP_CAPTURE_MAX}, got ${n}`);
  }
  return n;
}

export class BpfSource {
  readonly attach: AttachKind;
  readonly attachReason: string;
  private readonly sensor: NativeSensor;
  private readonly roles = new RoleInference();
  private readonly toWallClock = monotonicToWallClock();
  /** Next expected position per connection: socket egress, ingress, then TLS plaintext egress, ingress. */
  private readonly nextPos = new Map<string, [number, number, number, number]>();
  private readonly tlsAttacher: TlsAttacher | undefined;
  private readonly decodeStats: DecodeStats = { records: 0, malformed: 0 };
  private counterTimer: NodeJS.Timeout | undefined;
  private lastRingbufLost = 0n;
  private counterIntervalMs = 1000;
  private closed = false;

  constructor(options: BpfSourceOptions = {}, addon: NativeAddon = loadAddon()) {
    const choice = chooseAttach(addon, options.attach ?? 'auto');
    // Before attaching: the connections that will show up as already open
    // belong to processes alive now.
    this.roles.snapshot();
    this.attach = choice.attach;
    this.attachReason = choice.reason;
    const goTlsUnsupported = goTlsUnsupportedReason();
    this.sensor = new addon.Sensor({
      objectPath: sensorObjectPath,
      attach: choice.attach,
      ringBufferBytes: options.ringBufferBytes ?? 16 * 1024 * 1024,
      goTls: goTlsUnsupported === undefined,
    });
    try {
      this.configure(options);
      if (options.tls ?? true) {
        this.tlsAttacher = new TlsAttacher(this.sensor, options.log, '/proc', goTlsUnsupported, options.goHeaders ?? 'all', options.sslBio ?? false);
        this.tlsAttacher.scan();
      }
    } catch (err) {
      this.sensor.close();
      throw err;
    }
  }

  /** Binaries with TLS uprobes, and those that carry a TLS library but could not be probed. */
  tls(): { attached: readonly TlsBinary[]; skipped: readonly TlsSkipped[]; removed: number; summary: string } {
    return {
      attached: this.tlsAttacher?.attached() ?? [],
      skipped: this.tlsAttacher?.skipped() ?? [],
      removed: this.tlsAttacher?.removed ?? 0,
      summary: this.tlsAttacher?.summary() ?? 'TLS uprobes off',
    };
  }

  private configure(o: BpfSourceOptions): void {
    let flags = 0;
    if (o.pids?.length) {
      flags |= Enums.HP_CONFIG_PID_ALLOW;
      this.sensor.setAllowList('pid', [...o.pids]);
    }
    if (o.ports?.length) {
      flags |= Enums.HP_CONFIG_PORT_ALLOW;
      this.sensor.setAllowList('port', [...o.ports]);
    }
    if (o.cgroups?.length) {
      flags |= Enums.HP_CONFIG_CGROUP_ALLOW;
      this.sensor.setAllowList('cgroup', [...o.cgroups]);
    }
    if (o.unix) flags |= Enums.HP_CONFIG_UNIX;
    this.sensor.setConfig({
      selfTgid: process.pid,
      flags,
      captureBytes: validateCaptureBytes(o.captureBytes ?? Enums.HP_CAPTURE_DEFAULT),
      wakeupBytes: o.wakeupBytes ?? 64 * 1024,
    });
    this.counterIntervalMs = o.counterIntervalMs ?? 1000;
  }

  /** Starts delivery; `sink` receives every batch's events in order. */
  start(sink: EventSink): void {
    this.sensor.start((batch) => {
      const events: SensorEvent[] = [];
      const decoded: SensorEvent[] = [];
      decodeBatch(batch, this.toWallClock, decoded, this.decodeStats);
      for (const ev of decoded) this.complete(ev, events);
      if (events.length) sink(events);
    });
    this.counterTimer = setInterval(() => {
      const lost = this.reportRingbufLoss();
      if (lost) sink([lost]);
    }, this.counterIntervalMs);
    this.counterTimer.unref();
  }

  private complete(ev: SensorEvent, out: SensorEvent[]): void {
    switch (ev.type) {
      case 'open':
        out.push(ev.role === 'unknown' ? this.inferRole(ev) : ev);
        this.trackPositions(ev.conn);
        return;
      case 'data':
        this.checkGap(ev, out);
        out.push(ev);
        return;
      case 'close':
        this.nextPos.delete(ev.conn);
        out.push(ev);
        return;
      case 'exec':
        this.tlsAttacher?.onExec(ev.pid);
        out.push(ev);
        return;
      case 'exit':
        this.tlsAttacher?.onExit();
        out.push(ev);
        return;
      default:
        out.push(ev);
    }
  }

  private inferRole(ev: ConnOpenEvent): ConnOpenEvent {
    return { ...ev, role: this.roles.roleOf(ev.pid, ev.local.port) };
  }

  private trackPositions(conn: string): void {
    if (this.nextPos.size >= MAX_TRACKED_POSITIONS) {
      const oldest = this.nextPos.keys().next().value;
      if (oldest !== undefined) this.nextPos.delete(oldest);
    }
    this.nextPos.set(conn, [0, 0, 0, 0]);
  }

  /** A data event that starts past where the previous one ended is a hole. */
  private checkGap(ev: DataEvent, out: SensorEvent[]): void {
    const next = this.nextPos.get(ev.conn);
    // TLS plaintext has positions of its own (bpf/abi.h, HP_DATA_TLS).
    const d = (ev.direction === 'egress' ? 0 : 1) + (ev.tls ? 2 : 0);
    if (!next) {
      // Open event lost (ring buffer full): track from here on.
      this.trackPositions(ev.conn);
      this.nextPos.get(ev.conn)![d] = ev.pos + ev.len;
      return;
    }
    if (ev.pos > next[d]!) out.push(this.gap(ev.conn, ev.direction, ev.pos - next[d]!, ev.tsNs));
    next[d] = Math.max(next[d]!, ev.pos + ev.len);
  }

  private gap(conn: string, direction: Direction, bytes: number, tsNs: bigint): LostEvent {
    return { type: 'lost', reason: 'gap', conn, direction, bytes, tsNs };
  }

  private reportRingbufLoss(): LostEvent | undefined {
    if (this.closed) return undefined;
    const lost = this.kernelCounters().ringbufLost;
    const delta = lost - this.lastRingbufLost;
    this.lastRingbufLost = lost;
    if (delta <= 0n) return undefined;
    return { type: 'lost', reason: 'ringbuf', records: Number(delta), tsNs: BigInt(Date.now()) * 1_000_000n };
  }

  kernelCounters(): KernelCounters {
    const { total } = this.sensor.counters();
    return Object.fromEntries(CounterNames.map((n, i) => [n, total[i] ?? 0n])) as KernelCounters;
  }

  /** The kernel counters per CPU (columns in CounterNames order), for the metrics endpoint. */
  kernelCountersPerCpu(): bigint[][] {
    return this.sensor.counters().perCpu;
  }

  deliveryStats(): DeliveryStats & DecodeStats {
    return { ...this.sensor.stats(), ...this.decodeStats };
  }

  programs() {
    return this.sensor.programs();
  }

  maps() {
    return this.sensor.maps();
  }

  /** Detaches every probe and frees every map; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.counterTimer) clearInterval(this.counterTimer);
    this.tlsAttacher?.close();
    this.sensor.close();
  }
}
