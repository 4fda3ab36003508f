import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byteQueue.ts';

const b = (s: string) => Buffer.from(s);

describe('ByteQueue', () => {
  it('peeks across chunks, consumes, and knows when each byte arrived', () => {
    const q = new ByteQueue();
    q.push(b('GET / HT'), 10n);
    q.push(b('TP/1.1\r\n'), 20n);
    q.push(b('\r\n'), 30n);
    expect(Buffer.from(q.peek()).toString()).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(q.tsAt(0)).toBe(10n);
    expect(q.tsAt(8)).toBe(20n);
    expect(q.tsAt(17)).toBe(30n);
    expect(q.indexOf(b('\r\n\r\n'))).toBe(14);
    q.consume(10);
    expect(q.length).toBe(8);
    expect(q.tsAt(0)).toBe(20n);
    expect(Buffer.from(q.peek(3)).toString()).toBe('/1.');
    q.consume(100);
    expect(q.length).toBe(0);
    expect(q.peek().length).toBe(0);
  });
});
