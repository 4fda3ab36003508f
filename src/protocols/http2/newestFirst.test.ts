import { describe, expect, it } from 'vitest';
import { NewestFirst } from './newestFirst.ts';

const items = <T>(l: NewestFirst<T>): Array<T | undefined> => Array.from({ length: l.length }, (_, i) => l.at(i));

describe('NewestFirst', () => {
  it('reads newest first, removes the oldest, and grows past its first room', () => {
    const l = new NewestFirst<number>();
    for (let i = 0; i < 40; i++) l.addNewest(i);
    expect(l.length).toBe(40);
    expect(l.at(0)).toBe(39);
    expect(l.at(39)).toBe(0);
    expect([l.at(-1), l.at(40)]).toEqual([undefined, undefined]);
    expect(l.removeOldest()).toBe(0);
    expect(l.removeOldest()).toBe(1);
    l.addNewest(40);
    expect(items(l)).toEqual(Array.from({ length: 39 }, (_, i) => 40 - i));
  });

  it('wraps around its ring as items come and go', () => {
    const l = new NewestFirst<number>();
    const model: number[] = [];
    for (let i = 0; i < 1000; i++) {
      l.addNewest(i);
      model.unshift(i);
      if (i % 3 !== 0) expect(l.removeOldest()).toBe(model.pop());
      expect(items(l)).toEqual(model);
    }
    l.clear();
    expect([l.length, l.at(0), l.removeOldest()]).toEqual([0, undefined, undefined]);
  });
});
