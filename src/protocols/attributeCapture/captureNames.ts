/**
 * The header names (or gRPC metadata keys) of one side of a message that
 * an operator allow-listed, matched without decoding, and the bounded
 * holder that keeps their values for one message. Only allow-listed names
 * are ever decoded: every other header value stays in the parser's bytes.
 */
import type { AttributeValue } from '../../spans/span.ts';

/** Values kept per message (all allow-listed names together); beyond it they are dropped and counted. */
export const MAX_CAPTURED_VALUES = 32;
/** Characters kept of one value; a longer one is cut there and counted. */
export const MAX_CAPTURED_VALUE_LENGTH = 1024;

/** What the bounds cut, for the whole pipeline (self-metrics and the closing summary). */
export interface CaptureStats {
  /** Values not kept: the message already held MAX_CAPTURED_VALUES. */
  valuesDropped: number;
  /** Values cut to MAX_CAPTURED_VALUE_LENGTH characters. */
  valuesTruncated: number;
}

/** One allow-listed name and the span attributes it feeds. */
export interface CaptureName {
  /** Lower case. */
  readonly name: string;
  /** `http.request.header.<name>` / `http.response.header.<name>`, when allow-listed as an HTTP header. */
  readonly httpKey: string | undefined;
  /** `rpc.grpc.request.metadata.<name>` / `rpc.grpc.response.metadata.<name>`, when allow-listed as gRPC metadata. */
  readonly grpcKey: string | undefined;
}

/** The values of allow-listed fields of one message, in the order they came. */
export class CapturedValues {
  /** Index into the CaptureNames of each value. */
  readonly which: number[] = [];
  readonly values: string[] = [];
  readonly names: CaptureNames;

  constructor(names: CaptureNames) {
    this.names = names;
  }

  /**
   * Adds the values as attributes: each name's values as one string array
   * (a repeated field gives several), under its HTTP or gRPC key.
   */
  addTo(attributes: Record<string, AttributeValue>, as: 'http' | 'grpc'): void {
    const entries = this.names.entries;
    for (let i = 0; i < this.values.length; i++) {
      const entry = entries[this.which[i]!]!;
      const key = as === 'http' ? entry.httpKey : entry.grpcKey;
      if (key === undefined) continue;
      const list = attributes[key];
      // The arrays are made here, so they may grow here.
      if (Array.isArray(list)) (list as string[]).push(this.values[i]!);
      else attributes[key] = [this.values[i]!];
    }
  }
}

export class CaptureNames {
  readonly entries: readonly CaptureName[];
  private readonly byName = new Map<string, number>();
  /** Names by length, as lower-case byte codes, for matching bytes without decoding (HTTP/1). */
  private readonly byLength: Array<Array<{ index: number; codes: Uint8Array }> | undefined> = [];
  private readonly stats: CaptureStats;

  constructor(entries: readonly CaptureName[], stats: CaptureStats) {
    this.entries = entries;
    this.stats = stats;
    entries.forEach((e, index) => {
      this.byName.set(e.name, index);
      (this.byLength[e.name.length] ??= []).push({ index, codes: Buffer.from(e.name, 'latin1') });
    });
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * The index of the allow-listed name that is bytes[from, to) in any case,
   * or -1.
   */
  matchBytes(bytes: Uint8Array, from: number, to: number): number {
    const candidates = this.byLength[to - from];
    if (candidates === undefined) return -1;
    next: for (const c of candidates) {
      const codes = c.codes;
      for (let i = 0; i < codes.length; i++) {
        let b = bytes[from + i]!;
        if (b >= 0x41 && b <= 0x5a) b |= 0x20;
        if (b !== codes[i]) continue next;
      }
      return c.index;
    }
    return -1;
  }

  /**
   * The index of an allow-listed name, or -1. HTTP/2 field names are lower
   * case on the wire (RFC 9113 8.2.1), so the common case is one lookup.
   */
  match(name: string): number {
    const i = this.byName.get(name);
    if (i !== undefined) return i;
    return name.length < this.byLength.length && /[A-Z]/.test(name) ? (this.byName.get(name.toLowerCase()) ?? -1) : -1;
  }

  /**
   * Keeps `value` for the name at `index` in `into` (made on first use),
   * within the bounds; returns the holder.
   */
  keep(into: CapturedValues | undefined, index: number, value: string): CapturedValues {
    const held = into ?? new CapturedValues(this);
    if (held.values.length >= MAX_CAPTURED_VALUES) {
      this.stats.valuesDropped++;
      return held;
    }
    if (value.length > MAX_CAPTURED_VALUE_LENGTH) {
      this.stats.valuesTruncated++;
      value = value.slice(0, MAX_CAPTURED_VALUE_LENGTH);
    }
    held.which.push(index);
    held.values.push(value);
    return held;
  }
}
