/**
 * Whether live BPF tests can run here. When they cannot, the reason is
 * printed and the suite is skipped, never passed silently.
 */
import { existsSync } from 'node:fs';
import { addonPath, sensorObjectPath, loadAddon } from '../../src/native/addon.ts';

let cached: string | undefined | null = null;

/** undefined when BPF works; otherwise why the live tests must skip. */
export function bpfUnavailableReason(): string | undefined {
  if (cached !== null) return cached;
  cached = compute();
  if (cached) process.stderr.write(`\n[hydrophone] SKIPPING live BPF tests: ${cached}\n`);
  return cached;
}

function compute(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (run the tests as root: sudo npm test)';
  if (!existsSync(addonPath) || !existsSync(sensorObjectPath)) return 'the addon or BPF object is not built (run sh scripts/bootstrap.sh)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux missing)';
  const addon = loadAddon();
  const rb = addon.probeAttach({ objectPath: sensorObjectPath.replace('sensor.bpf.o', 'probes.bpf.o'), program: 'probe_ringbuf' });
  if (!rb.attached) return `the kernel refuses BPF programs: ${rb.error?.split('\n')[0] ?? 'unknown error'}`;
  return undefined;
}
