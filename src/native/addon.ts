/**
 * The only importer of the native addon (native/build/Release/hydrophone.node).
 * Its shape is declared here once; abi() is checked against the TypeScript
 * event layout by a test, the rest by the tests that drive a real sensor.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const addonPath = path.join(projectRoot, 'native/build/Release/hydrophone.node');
/** Compiled BPF objects (scripts/build.sh). */
export const sensorObjectPath = path.join(projectRoot, 'build/bpf/sensor.bpf.o');
export const probesObjectPath = path.join(projectRoot, 'build/bpf/probes.bpf.o');

export type AttachKind = 'tracepoint' | 'kprobe';

export interface NativeAbi {
  version: number;
  sizes: Record<string, number>;
  offsets: Record<string, number>;
  enums: Record<string, number>;
}

export interface SensorOptions {
  objectPath: string;
  attach: AttachKind;
  ringBufferBytes: number;
  /** Load (run the verifier) without attaching anything. */
  loadOnly?: boolean;
  /** Load the Go crypto/tls programs (default true; they need kernel 5.15+ for uprobe cookies). */
  goTls?: boolean;
  maxBatchBytes?: number;
  maxInFlightBatches?: number;
  pollTimeoutMs?: number;
  verbose?: boolean;
}

export interface SensorConfig {
  selfTgid: number;
  flags: number;
  captureBytes: number;
  wakeupBytes: number;
}

export interface ProgramInfo {
  name: string;
  section: string;
  loaded: boolean;
  attached: boolean;
  id: number;
}

export interface DeliveryStats {
  batches: number;
  records: number;
  bytes: number;
  waitsForJs: number;
  inFlight: number;
  /** Non-zero when the poll thread stopped on an error (its errno). */
  pollErrno: number;
}

export interface UprobeOptions {
  program: string;
  binaryPath: string;
  offset?: number;
  functionName?: string;
  retprobe?: boolean;
  /** What bpf_get_attach_cookie() returns in the program. */
  cookie?: bigint | number;
}

/** struct hp_go_tls_binary (bpf/abi.h): link-time addresses and the offsets from tls.Conn to the fd. */
export interface GoTlsBinaryLayout {
  readAddr: number;
  writeAddr: number;
  itabTcp: number;
  /** 0 when the binary has no *net.UnixConn itab. */
  itabUnix: number;
  connOff: number;
  fdOff: number;
  sysfdOff: number;
  pie: boolean;
  /** Read keeps its receiver and buffer in their spill slots (a return can recover an unseen entry). */
  readSpills: boolean;
}

/** struct hp_go_h2_binary (bpf/abi.h): grpc-go's and net/http's header functions and the offsets their probes read. */
export interface GoH2BinaryLayout {
  clientReadAddr: number;
  serverReadAddr: number;
  writeAddr: number;
  itabTls: number;
  /** 0 when the binary has no grpc-go credentials.syscallConn itab. */
  itabSyscallConn: number;
  clientConnOff: number;
  serverConnOff: number;
  loopyConnOff: number;
  syscallConnOff: number;
  metaFrameOff: number;
  metaFieldsOff: number;
  metaTruncatedOff: number;
  streamIdOff: number;
  frameFlagsOff: number;
  fieldSize: number;
  fieldNameOff: number;
  fieldValueOff: number;
  fieldSensitiveOff: number;
  pie: boolean;
  /** net/http's bundled HTTP/2: its functions (0: not probed) and the bundle's own offsets. */
  nhServerReadAddr: number;
  nhClientReadAddr: number;
  nhServerWriteAddr: number;
  nhClientWriteAddr: number;
  nhItabServerCtx: number;
  nhServerConnOff: number;
  nhReadLoopCcOff: number;
  nhClientConnOff: number;
  nhResStreamIdOff: number;
  nhResEndStreamOff: number;
  nhMetaFrameOff: number;
  nhMetaFieldsOff: number;
  nhMetaTruncatedOff: number;
  nhStreamIdOff: number;
  nhFrameFlagsOff: number;
  nhFieldSize: number;
  nhFieldNameOff: number;
  nhFieldValueOff: number;
  nhFieldSensitiveOff: number;
}

export interface NativeSensor {
  setConfig(config: SensorConfig): void;
  setAllowList(kind: 'pid' | 'port' | 'cgroup', values: Array<number | bigint>): void;
  /** A returned promise keeps the batch in flight until it settles (back-pressure). */
  start(onBatch: (batch: Buffer, records: number) => void | Promise<unknown>): void;
  counters(): { perCpu: bigint[][]; total: bigint[] };
  stats(): DeliveryStats;
  programs(): ProgramInfo[];
  maps(): Array<{ name: string; id: number }>;
  /**
   * Attaches a uprobe program (section "uprobe"/"uretprobe") to a binary for
   * every process that maps it, at a file offset or at a function libbpf
   * resolves. Returns a link id; throws a coded Error when refused.
   */
  attachUprobe(options: UprobeOptions): number;
  /** Removes one link made by attachUprobe; false if it was not attached. */
  detachUprobe(id: number): boolean;
  /** Writes (or, with null, clears) one Go binary's entry of hp_go_tls_bins (struct hp_go_tls_binary). */
  setGoTlsBinary(index: number, layout: GoTlsBinaryLayout | null): void;
  setGoH2Binary(index: number, layout: GoH2BinaryLayout | null): void;
  close(): void;
}

export interface ProbeResult {
  loaded: boolean;
  attached: boolean;
  error?: string;
  errno?: number;
  code?: string;
}

export interface NativeAddon {
  abi(): NativeAbi;
  libbpfVersion(): string;
  Sensor: new (options: SensorOptions) => NativeSensor;
  probeAttach(options: {
    objectPath: string;
    program: string;
    uprobe?: { binaryPath: string; functionName: string };
    verbose?: boolean;
  }): ProbeResult;
}

/** Error for a missing build, with the command that makes it. */
export class AddonMissingError extends Error {
  readonly code = 'HP_ADDON_MISSING';
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  for (const file of [addonPath, sensorObjectPath]) {
    if (!existsSync(file)) {
      throw new AddonMissingError(`${path.relative(projectRoot, file)} is not built: run 'sh scripts/bootstrap.sh' in ${projectRoot}`);
    }
  }
  cached = createRequire(import.meta.url)(addonPath) as NativeAddon;
  return cached;
}
