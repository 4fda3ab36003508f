/** Command-line options shared by the commands that run the live sensor (capture, run). */
import type { BpfSourceOptions } from '../source/bpf/bpfSource.ts';
import { choice, intList, intOption } from './options.ts';
import { UsageError } from './usageError.ts';

export const LIVE_OPTIONS = {
  pid: { type: 'string', multiple: true },
  port: { type: 'string', multiple: true },
  duration: { type: 'string' },
  'capture-bytes': { type: 'string' },
  'ring-buffer-mb': { type: 'string' },
  attach: { type: 'string' },
  unix: { type: 'boolean' },
  'ssl-bio': { type: 'boolean' },
  'go-headers': { type: 'string' },
} as const;

export const LIVE_HELP = `  --pid P              only these processes (repeat, or P1,P2)
  --port N             only connections with this port at either end (repeat)
  --duration S         stop after S seconds
  --capture-bytes N    payload bytes kept per syscall (default 16384, max 65536)
  --ring-buffer-mb N   kernel ring buffer size, a power of two (default 16)
  --attach KIND        auto | kprobe | tracepoint (default auto)
  --unix               also trace Unix stream sockets
  --ssl-bio            also OpenSSL's SSL BIO (openssl s_server -www): uprobes on
                       libcrypto's BIO_read/BIO_write, which cost every OpenSSL
                       call a few us more (README, "Cost of the TLS probes")
  --go-headers WHICH   Go HTTP/2 header probes: all (grpc-go and net/http,
                       default), grpc (grpc-go only: net/http's cost a uprobe
                       hit per header field), off`;

export interface LiveValues {
  pid?: string[];
  port?: string[];
  duration?: string;
  'capture-bytes'?: string;
  'ring-buffer-mb'?: string;
  attach?: string;
  unix?: boolean;
  'ssl-bio'?: boolean;
  'go-headers'?: string;
}

export function liveSourceOptions(v: LiveValues): { source: BpfSourceOptions; durationS?: number } {
  const ringMb = intOption('ring-buffer-mb', v['ring-buffer-mb'], 1, 1024) ?? 16;
  if ((ringMb & (ringMb - 1)) !== 0) throw new UsageError(`--ring-buffer-mb must be a power of two, got ${ringMb}`);
  return {
    durationS: intOption('duration', v.duration, 1, 365 * 24 * 3600),
    source: {
      attach: choice('attach', v.attach, ['auto', 'kprobe', 'tracepoint'] as const) ?? 'auto',
      pids: intList('pid', v.pid, 1, 2 ** 31),
      ports: intList('port', v.port, 1, 65535),
      captureBytes: intOption('capture-bytes', v['capture-bytes'], 0, 65536),
      ringBufferBytes: ringMb * 1024 * 1024,
      unix: v.unix ?? false,
      sslBio: v['ssl-bio'] ?? false,
      goHeaders: choice('go-headers', v['go-headers'], ['all', 'grpc', 'off'] as const) ?? 'all',
    },
  };
}

/** Resolves on SIGINT, SIGTERM or after the duration. */
export function untilStopped(durationS?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationS) setTimeout(stop, durationS * 1000);
  });
}
