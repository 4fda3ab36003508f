import { describe, expect, it } from 'vitest';
import { applyJsonPatch, parseJsonPatch, type JsonPatchOp } from './jsonPatch.ts';

const doc = () => ({ spec: { containers: [{ name: 'sensor', caps: ['BPF'] }], 'a/b': 1, 'c~d': 2 } });

describe('JSON Patch (RFC 6902 subset)', () => {
  it.each<[string, JsonPatchOp[], unknown]>([
    ['add appends with -', [{ op: 'add', path: '/spec/containers/0/caps/-', value: 'SYS_ADMIN' }], ['BPF', 'SYS_ADMIN']],
    ['add inserts at an index', [{ op: 'add', path: '/spec/containers/0/caps/0', value: 'X' }], ['X', 'BPF']],
    ['replace an array item', [{ op: 'replace', path: '/spec/containers/0/caps/0', value: 'PERFMON' }], ['PERFMON']],
    ['remove an array item', [{ op: 'remove', path: '/spec/containers/0/caps/0' }], []],
    ['test then add', [{ op: 'test', path: '/spec/containers/0/name', value: 'sensor' }, { op: 'add', path: '/spec/containers/0/caps/-', value: 'Y' }], ['BPF', 'Y']],
  ])('%s', (_, ops, caps) => {
    expect(applyJsonPatch(doc(), ops).spec.containers[0]!.caps).toEqual(caps);
  });

  it('adds and replaces object members, unescaping ~1 and ~0', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'replace', path: '/spec/a~1b', value: 10 },
      { op: 'remove', path: '/spec/c~0d' },
      { op: 'add', path: '/spec/new', value: { x: [1] } },
    ]);
    expect(out.spec).toEqual({ containers: [{ name: 'sensor', caps: ['BPF'] }], 'a/b': 10, new: { x: [1] } });
  });

  it('never changes its input, and copies values in', () => {
    const input = doc();
    const value = { deep: true };
    const out = applyJsonPatch(input, [{ op: 'add', path: '/spec/v', value }]) as ReturnType<typeof doc> & { spec: { v: unknown } };
    expect(input).toEqual(doc());
    value.deep = false;
    expect(out.spec.v).toEqual({ deep: true });
  });

  it.each<[string, JsonPatchOp[], RegExp]>([
    ['a failed test', [{ op: 'test', path: '/spec/containers/0/name', value: 'other' }], /test \/spec\/containers\/0\/name: expected "other", found "sensor"/],
    ['replace of a missing member', [{ op: 'replace', path: '/spec/missing', value: 1 }], /nothing there/],
    ['remove of a missing member', [{ op: 'remove', path: '/spec/missing' }], /nothing there/],
    ['a missing parent', [{ op: 'add', path: '/spec/nope/x', value: 1 }], /\/spec\/nope does not exist/],
    ['an index out of range', [{ op: 'replace', path: '/spec/containers/3', value: 1 }], /index 3 is out of range/],
    ['- outside add', [{ op: 'replace', path: '/spec/containers/-', value: 1 }], /is not an array index/],
    ['a path without /', [{ op: 'add', path: 'spec', value: 1 }], /must start with \//],
  ])('refuses %s', (_, ops, message) => {
    expect(() => applyJsonPatch(doc(), ops)).toThrow(message);
  });

  it('reads only add, remove, replace and test, each complete', () => {
    expect(parseJsonPatch([{ op: 'add', path: '/a', value: 1 }, { op: 'remove', path: '/b' }], 'p')).toEqual([{ op: 'add', path: '/a', value: 1 }, { op: 'remove', path: '/b' }]);
    expect(() => parseJsonPatch({ spec: {} }, 'p')).toThrow(/strategic merge patches are not supported/);
    expect(() => parseJsonPatch([{ op: 'move', from: '/a', path: '/b' }], 'p')).toThrow(/op "move" is not supported/);
    expect(() => parseJsonPatch([{ op: 'copy', from: '/a', path: '/b' }], 'p')).toThrow(/op "copy" is not supported/);
    expect(() => parseJsonPatch([{ op: 'add', path: '/a' }], 'p')).toThrow(/has no value/);
    expect(() => parseJsonPatch([{ op: 'add', value: 1 }], 'p')).toThrow(/has no path/);
    expect(() => parseJsonPatch([{ op: 'add', path: '/a', value: 1, from: '/x' }], 'p')).toThrow(/unknown key from/);
  });
});
