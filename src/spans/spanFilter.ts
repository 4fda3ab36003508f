/**
 * What an operator chose not to see, dropped before the sinks: namespaces
 * (kept or excluded), pods by label (kept or excluded), processes by
 * executable name, protocols. The port and pid filters act earlier, in the
 * kernel; these need the span's resource and protocol, which only exist
 * once the span is built. Every span filtered out is counted.
 *
 * Pod labels are not on spans: they are looked up by the span's
 * k8s.pod.uid in the Kubernetes metadata, which keeps only the label keys
 * these filters name (labelKeysOf).
 */
import type { Span } from './span.ts';
import { meets, parseLabelRequirements, type LabelRequirement, type Labels } from './labelSelector.ts';

export const FILTER_PROTOCOLS = ['http1', 'http2', 'grpc'] as const;
export type FilterProtocol = (typeof FILTER_PROTOCOLS)[number];

export interface SpanFilterRule {
  /** Keep only spans of pods in these namespaces (empty: all). Spans of processes outside pods have no namespace and are dropped when this is set. */
  readonly namespaces: readonly string[];
  /** Drop spans of pods in these namespaces (e.g. kube-system). */
  readonly excludeNamespaces: readonly string[];
  /** Keep only spans of these executables (process.executable.name; empty: all). */
  readonly processes: readonly string[];
  /** Keep only these protocols (empty: all). */
  readonly protocols: readonly FilterProtocol[];
  /**
   * Keep only spans of pods whose labels meet every one of these
   * requirements (ANDed, like `kubectl -l a=b,c`; empty: all). Spans of
   * processes outside pods, or of pods the metadata does not know (yet),
   * are dropped when this is set: their labels are not known to match.
   */
  readonly podLabels?: readonly string[];
  /** Drop spans of pods whose labels meet any one of these requirements (ORed); spans of processes outside pods are kept. */
  readonly excludePodLabels?: readonly string[];
}

/** The labels of a pod on this node by its uid (only the keys the filters name), or undefined when no pod with that uid is known. */
export type PodLabelLookup = (podUid: string) => Labels | undefined;

/** The protocol of a span, from the attributes the parsers set. */
export function protocolOf(s: Span): FilterProtocol | undefined {
  if (s.attributes['rpc.system'] === 'grpc') return 'grpc';
  if (s.attributes['network.protocol.name'] !== 'http') return undefined;
  return s.attributes['network.protocol.version'] === '2' ? 'http2' : 'http1';
}

export class SpanFilter {
  private readonly namespaces: ReadonlySet<string>;
  private readonly excluded: ReadonlySet<string>;
  private readonly processes: ReadonlySet<string>;
  private readonly protocols: ReadonlySet<string>;
  private readonly podLabels: readonly LabelRequirement[];
  private readonly excludedLabels: readonly LabelRequirement[];
  private readonly labelsOfPod: PodLabelLookup;
  filtered = 0;

  /** `labelsOfPod`: where pod labels come from; without it no pod is known (host mode). */
  constructor(rule: SpanFilterRule, labelsOfPod: PodLabelLookup = () => undefined) {
    this.namespaces = new Set(rule.namespaces);
    this.excluded = new Set(rule.excludeNamespaces);
    this.processes = new Set(rule.processes);
    this.protocols = new Set(rule.protocols);
    this.podLabels = parseLabelRequirements(rule.podLabels ?? []);
    this.excludedLabels = parseLabelRequirements(rule.excludePodLabels ?? []);
    this.labelsOfPod = labelsOfPod;
  }

  /** Whether any rule is set; a filter that keeps everything is left out of the pipeline. */
  get active(): boolean {
    return this.namespaces.size + this.excluded.size + this.processes.size + this.protocols.size + this.podLabels.length + this.excludedLabels.length > 0;
  }

  keeps(s: Span): boolean {
    const ns = s.resource['k8s.namespace.name'];
    if (this.namespaces.size && !(typeof ns === 'string' && this.namespaces.has(ns))) return false;
    if (this.excluded.size && typeof ns === 'string' && this.excluded.has(ns)) return false;
    if (this.processes.size && !this.processes.has(String(s.resource['process.executable.name']))) return false;
    if (this.protocols.size) {
      const p = protocolOf(s);
      if (p === undefined || !this.protocols.has(p)) return false;
    }
    if (this.podLabels.length + this.excludedLabels.length > 0) {
      const uid = s.resource['k8s.pod.uid'];
      const labels = typeof uid === 'string' ? this.labelsOfPod(uid) : undefined;
      if (this.podLabels.length && !(labels && this.podLabels.every((r) => meets(r, labels)))) return false;
      if (labels && this.excludedLabels.some((r) => meets(r, labels))) return false;
    }
    return true;
  }

  filter(spans: readonly Span[]): Span[] {
    const out = spans.filter((s) => this.keeps(s));
    this.filtered += spans.length - out.length;
    return out;
  }
}
