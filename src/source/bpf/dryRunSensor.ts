/**
 * A stand-in for the addon that records the uprobes the TLS attacher would
 * place and attaches nothing: what `hydrophone doctor --tls` runs the real
 * attacher against (no root, nothing loaded), and what tests check the
 * attacher's choices with.
 */
import type { UprobeSensor } from './tlsAttach.ts';
import type { UprobeOptions } from '../../native/addon.ts';

export class DryRunSensor implements UprobeSensor {
  readonly uprobes: UprobeOptions[] = [];

  attachUprobe(options: UprobeOptions): number {
    this.uprobes.push(options);
    return this.uprobes.length;
  }
  detachUprobe(): boolean {
    return true;
  }
  setGoTlsBinary(): void {}
  setGoH2Binary(): void {}
}
