import { describe, expect, it } from 'vitest';
import type { DataEvent } from '../source/events.ts';
import { collectInto, DirectionStream, type Delivery } from './directionStream.ts';

function data(pos: number, text: string, len = text.length, ts = BigInt(pos)): DataEvent {
  return {
    type: 'data', tsNs: ts, pid: 1, tid: 1, conn: 'c', direction: 'egress', pos, len, payload: Buffer.from(text),
    syscall: 'write', afterLoss: false, lengthOnly: false, tls: false,
  };
}

function show(out: Delivery[]): string[] {
  return out.map((d) => (d.kind === 'bytes' ? Buffer.from(d.bytes).toString() : `<gap ${d.length}>`));
}

describe('DirectionStream', () => {
  it.each<[string, DataEvent[], boolean, string[], number?]>([
    ['in order', [data(0, 'ab'), data(2, 'cd')], false, ['ab', 'cd']],
    ['capture limit: the rest is a gap of exact size', [data(0, 'ab', 10), data(10, 'next')], false, ['ab', '<gap 8>', 'next']],
    ['swapped neighbours are reordered', [data(2, 'cd'), data(0, 'ab')], false, ['ab', 'cd'], 0],
    ['a stream known to start at 0 reports a lost beginning', [data(3, 'def')], true, ['<gap 3>', 'def'], 0],
    ['a hole still open at flush is a gap', [data(0, 'ab'), data(5, 'fg')], true, ['ab', '<gap 3>', 'fg']],
    ['a hole is not a gap before flush', [data(0, 'ab'), data(5, 'fg')], false, ['ab']],
    ['duplicates are dropped, overlaps trimmed (first copy wins)', [data(0, 'abcd'), data(0, 'abcd'), data(2, 'XXef')], false, ['abcd', 'ef']],
    ['a stream seen from the middle starts where it is first seen', [data(100, 'mid'), data(103, 'dle')], false, ['mid', 'dle']],
  ])('%s', (_name, events, flush, expected, start) => {
    const s = new DirectionStream(start);
    const out: Delivery[] = [];
    const sink = collectInto(out);
    for (const e of events) s.push(e, sink);
    if (flush) s.flush(sink);
    expect(show(out)).toEqual(expected);
  });

  it('counts gaps, and length-only events are not losses', () => {
    const s = new DirectionStream();
    const out: Delivery[] = [];
    s.push({ ...data(0, '', 4096), lengthOnly: true }, collectInto(out));
    s.push(data(4096, 'x', 100), collectInto(out));
    expect(show(out)).toEqual(['<gap 4096>', 'x', '<gap 99>']);
    expect([s.gaps, s.gapBytes]).toEqual([1, 99]);
  });
});
