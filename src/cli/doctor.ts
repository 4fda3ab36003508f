/**
 * `hydrophone doctor`: what this kernel allows, measured by loading and
 * attaching tiny programs, and the attachment the sensor would choose.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { kernelFacts } from '../kernel/kernelFacts.ts';
import { loadAddon, probesObjectPath, type ProbeResult } from '../native/addon.ts';
import { tracefsMounted } from '../source/bpf/tracefs.ts';
import { tlsReport, tlsReportLines } from './tlsReport.ts';

const PROBES = {
  kprobe: 'probe_kprobe',
  fentry: 'probe_fentry',
  tracepoint: 'probe_tracepoint',
  rawTracepoint: 'probe_raw_tracepoint',
  tpBtf: 'probe_tp_btf',
  ringbuf: 'probe_ringbuf',
} as const;

/** libc as this process maps it: every host has it, so uprobes are tried there. */
function libcPath(): string | undefined {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  return /\s(\/\S*libc\.so[.\d]*)$/m.exec(maps)?.[1];
}

function firstLine(s: string | undefined): string {
  return s?.split('\n')[0] ?? '';
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, tls: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`usage: hydrophone doctor [--json] [--tls FILE ...]

Kernel facts, which BPF attachment kinds work here, and the sensor's choice.

  --tls FILE   instead: what the sensor would probe for TLS in this binary
               (a library, an executable, a Python extension...) and how it
               finds the functions, or why it cannot; repeat for more files.
               Needs no root: nothing is loaded.
`);
    return 0;
  }
  if (values.tls?.length) {
    const reports = tlsReport(values.tls);
    process.stdout.write(values.json ? `${JSON.stringify(reports, null, 2)}\n` : `${tlsReportLines(reports).join('\n')}\n`);
    return 0;
  }
  const facts = kernelFacts();
  const addon = loadAddon();
  const tracefs = tracefsMounted();
  const results: Record<string, ProbeResult> = {};
  for (const [kind, program] of Object.entries(PROBES)) {
    if (kind === 'tracepoint' && !tracefs) {
      results[kind] = { loaded: false, attached: false, error: 'tracefs is not mounted (the sensor mounts it at start when it needs it)' };
      continue;
    }
    results[kind] = addon.probeAttach({ objectPath: probesObjectPath, program });
  }
  const libc = libcPath();
  results.uprobe = libc
    ? addon.probeAttach({ objectPath: probesObjectPath, program: 'probe_uprobe', uprobe: { binaryPath: libc, functionName: 'getpid' } })
    : { loaded: false, attached: false, error: 'libc not found in /proc/self/maps' };

  const works = (k: string) => results[k]?.attached === true;
  // The sensor's own rule (attachChoice.ts): kprobes, else syscall tracepoints.
  const attach = works('kprobe') ? 'kprobe' : 'tracepoint';
  const reason = works('kprobe')
    ? 'kprobes attach on this kernel'
    : `kprobes do not attach here (${firstLine(results.kprobe?.error) || 'refused'}); syscall tracepoints${tracefs ? '' : ' after mounting tracefs'}`;
  const report = {
    kernel: facts.release,
    btf: facts.btf,
    lockdown: facts.lockdown,
    capabilities: facts.capabilities,
    unprivilegedBpfDisabled: facts.unprivilegedBpfDisabled,
    tracefs,
    attach,
    attachReason: reason,
    kprobe: works('kprobe'),
    fentry: works('fentry'),
    tracepoint: works('tracepoint'),
    rawTracepoint: works('rawTracepoint'),
    tpBtf: works('tpBtf'),
    ringbuf: works('ringbuf'),
    uprobes: works('uprobe'),
    probes: results,
    notes: works('fentry') ? ['fentry works here, but the sensor has no fentry programs yet: it uses kprobes'] : [],
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `kernel        ${facts.release} (BTF ${facts.btf ? 'yes' : 'NO'}, lockdown ${facts.lockdown})`,
    `capabilities  ${Object.entries(facts.capabilities).map(([c, on]) => `${c.replace('CAP_', '')}${on ? '' : ' (missing)'}`).join(', ')}`,
    `tracefs       ${tracefs ? 'mounted' : 'not mounted'}`,
    ...Object.entries(results).map(([k, r]) => `${k.padEnd(13)} ${r.attached ? 'works' : r.loaded ? `loads, does not attach: ${firstLine(r.error)}` : `no: ${firstLine(r.error)}`}`),
    `choice        ${attach}: ${reason}`,
    ...report.notes,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
