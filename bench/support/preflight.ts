/**
 * What a benchmark needs before it can measure anything: root, the built
 * addon and BPF object, and a kernel that runs BPF programs. Missing any,
 * it says which and how to fix it, and exits non-zero: a benchmark that
 * cannot attach has no figure to report.
 */
import { existsSync } from 'node:fs';
import { loadAddon, probesObjectPath, sensorObjectPath, addonPath } from '../../src/native/addon.ts';
import { BpfSource, type BpfSourceOptions } from '../../src/source/bpf/bpfSource.ts';

/** A failure with a message for the user, printed without a stack. */
export class BenchError extends Error {}

export function fail(bench: string, message: string): never {
  process.stderr.write(`${bench}: ${message}\n`);
  process.exit(1);
}

/** Exits with a message unless live BPF can run here. */
export function requireBpf(bench: string): void {
  if (process.getuid?.() !== 0) fail(bench, `must run as root (the sensor loads BPF programs): sudo npm run ${bench}`);
  if (!existsSync(addonPath) || !existsSync(sensorObjectPath)) {
    fail(bench, 'the addon or the BPF object is not built: run sh scripts/build.sh');
  }
  let error: string | undefined;
  try {
    const rb = loadAddon().probeAttach({ objectPath: probesObjectPath, program: 'probe_ringbuf' });
    if (!rb.attached) error = rb.error?.split('\n')[0] ?? 'unknown error';
  } catch (err) {
    error = (err as Error).message;
  }
  if (error) fail(bench, `BPF is unavailable: ${error}`);
}

/** A BpfSource, or a BenchError saying why the sensor cannot load or attach here. */
export function openSource(options: BpfSourceOptions): BpfSource {
  try {
    return new BpfSource(options);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new BenchError(`the sensor cannot start${e.code ? ` (${e.code})` : ''}: ${e.message}`);
  }
}

/** The last handler of a benchmark's main(): a clear message and a non-zero exit. */
export function failWith(bench: string): (err: unknown) => never {
  return (err) => fail(bench, err instanceof BenchError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err));
}

/**
 * Resolves once JavaScript has decoded every record the kernel put in the
 * ring buffer (the kernel's `events` counter), so that one measurement's
 * tail is not drained during the next; throws after timeoutMs.
 */
export async function drained(source: BpfSource, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (BigInt(source.deliveryStats().records) < source.kernelCounters().events) {
    if (performance.now() > deadline) {
      throw new BenchError(`the sensor did not deliver its ring buffer within ${timeoutMs / 1000} s (${what}): records decoded ${source.deliveryStats().records}, kernel events ${source.kernelCounters().events}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
