import { describe, expect, it } from 'vitest';
import { parseCapabilities } from './kernelFacts.ts';

describe('parseCapabilities', () => {
  it.each([
    ['root (all caps)', 'CapEff:\t000001ffffffffff', true, true],
    ['no caps', 'CapEff:\t0000000000000000', false, false],
    ['BPF and PERFMON only', `CapEff:\t${((1n << 39n) | (1n << 38n)).toString(16).padStart(16, '0')}`, true, false],
  ])('%s', (_name, status, bpf, sysAdmin) => {
    const caps = parseCapabilities(`Name:\tx\n${status}\n`);
    expect(caps.CAP_BPF).toBe(bpf);
    expect(caps.CAP_PERFMON).toBe(bpf);
    expect(caps.CAP_SYS_ADMIN).toBe(sysAdmin);
  });
});
