/** Facts about the running kernel and our privileges that decide what the sensor can do. */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

export interface KernelFacts {
  release: string;
  btf: boolean;
  /** none | integrity | confidentiality | unknown (no securityfs) */
  lockdown: string;
  /** Effective capabilities that matter to the sensor. */
  capabilities: Record<string, boolean>;
  unprivilegedBpfDisabled: string;
}

const CAPS: Record<string, number> = {
  CAP_NET_ADMIN: 12, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21, CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38, CAP_BPF: 39,
};

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** Parses the CapEff line of /proc/self/status into the capabilities above. */
export function parseCapabilities(status: string): Record<string, boolean> {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  const eff = BigInt(`0x${hex}`);
  return Object.fromEntries(Object.entries(CAPS).map(([name, bit]) => [name, (eff >> BigInt(bit)) & 1n ? true : false]));
}

export function kernelFacts(): KernelFacts {
  // securityfs is often not mounted; the boot command line then says it.
  const lockdownRaw = readOr('/sys/kernel/security/lockdown', '') ||
    `[${/(?:^|\s)lockdown=(\w+)/.exec(readOr('/proc/cmdline', ''))?.[1] ?? 'unknown'}]`;
  return {
    release: release(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    lockdown: /\[(\w+)\]/.exec(lockdownRaw)?.[1] ?? 'unknown',
    capabilities: parseCapabilities(readOr('/proc/self/status', '')),
    unprivilegedBpfDisabled: readOr('/proc/sys/kernel/unprivileged_bpf_disabled', 'unknown'),
  };
}
