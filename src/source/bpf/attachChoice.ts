/**
 * Which way the socket probes attach on this kernel. kprobes first (every
 * distribution kernel has them, and they need no tracefs), syscall
 * tracepoints otherwise. fentry is detected by `doctor` but the sensor has
 * no fentry programs yet: it is never chosen.
 */
import type { AttachKind, NativeAddon, ProbeResult } from '../../native/addon.ts';
import { probesObjectPath } from '../../native/addon.ts';
import { ensureTracefs } from './tracefs.ts';

export type AttachRequest = 'auto' | AttachKind;

export interface AttachChoice {
  attach: AttachKind;
  /** One sentence for the log and `doctor`. */
  reason: string;
}

export function probe(addon: NativeAddon, program: string): ProbeResult {
  return addon.probeAttach({ objectPath: probesObjectPath, program });
}

function describe(r: ProbeResult): string {
  if (r.attached) return 'works';
  // The first line says why; the libbpf log after it is for `doctor --json`.
  const why = r.error?.split('\n')[0];
  return `${r.loaded ? 'load but do not attach' : 'do not load'}${why ? ` (${why})` : ''}`;
}

/** A refusal for lack of privileges is the user's to fix, whatever the kind. */
function throwIfNotPermitted(r: ProbeResult): void {
  if (r.code === 'HP_BPF_PERMISSION' && !r.loaded && process.getuid?.() !== 0) {
    throw Object.assign(new Error(r.error?.split('\n')[0] ?? 'BPF not permitted: run as root or grant CAP_BPF and CAP_PERFMON'), { code: r.code });
  }
}

export function chooseAttach(addon: NativeAddon, request: AttachRequest): AttachChoice {
  if (request === 'tracepoint') {
    const mounted = ensureTracefs();
    return { attach: 'tracepoint', reason: `syscall tracepoints, as configured (tracefs ${mounted})` };
  }
  const kprobe = probe(addon, 'probe_kprobe');
  throwIfNotPermitted(kprobe);
  if (kprobe.attached) return { attach: 'kprobe', reason: 'kprobes on the syscall entry points: this kernel has kprobes' };
  if (request === 'kprobe') {
    throw Object.assign(new Error(`attach 'kprobe' was requested but kprobes ${describe(kprobe)}; use attach 'auto' or 'tracepoint'`), { code: 'HP_ATTACH_UNAVAILABLE' });
  }
  const mounted = ensureTracefs();
  const tp = probe(addon, 'probe_tracepoint');
  if (tp.attached) {
    return { attach: 'tracepoint', reason: `syscall tracepoints: kprobes ${describe(kprobe)} (tracefs ${mounted})` };
  }
  throw Object.assign(
    new Error(`no way to attach the socket probes on this kernel: kprobes ${describe(kprobe)}; syscall tracepoints ${describe(tp)}. Run 'hydrophone doctor' for details`),
    { code: 'HP_ATTACH_UNAVAILABLE' },
  );
}
