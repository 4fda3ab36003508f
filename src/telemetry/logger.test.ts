import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('createLogger', () => {
  it('writes JSON lines with level, time and message', () => {
    const out: string[] = [];
    const log = createLogger({ format: 'json', level: 'info', write: (t) => out.push(t) });
    log.warn('otlp: dropped 5 spans');
    const line = JSON.parse(out[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', name: 'hydrophone', msg: 'otlp: dropped 5 spans' });
    expect(typeof line.time).toBe('string');
  });

  it('writes text lines, and honours the level', () => {
    const out: string[] = [];
    const log = createLogger({ format: 'text', level: 'warn', write: (t) => out.push(t) });
    log.info('not shown');
    log.debug('not shown either');
    log.warn('kafka: broker away');
    log.error('health endpoint: cannot listen');
    expect(out).toEqual(['hydrophone: warn: kafka: broker away\n', 'hydrophone: error: health endpoint: cannot listen\n']);
  });

  it('holds back a repeated line (numbers aside) and says how many on the next one', async () => {
    const out: string[] = [];
    const log = createLogger({ format: 'text', level: 'info', write: (t) => out.push(t), repeatIntervalMs: 100 });
    for (let i = 0; i < 50; i++) log.warn(`kubernetes: watch pods failed (attempt ${i})`);
    log.warn('something else');
    expect(out).toHaveLength(2);
    expect(log.suppressed).toBe(49);
    await new Promise((r) => setTimeout(r, 120));
    log.warn('kubernetes: watch pods failed (attempt 50)');
    expect(out[2]).toMatch(/^hydrophone: warn: kubernetes: watch pods failed \(attempt 50\) \(49 more like it in the last 0 s\)\n$/);
  });
});
