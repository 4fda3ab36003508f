import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { slimPod } from './slimObjects.ts';

describe('slimPod labels', () => {
  // A pod with many labels: only the well-known ones and those a filter names are kept.
  const many: Record<string, string> = { app: 'checkout', 'app.kubernetes.io/version': '1.2', tier: 'web', canary: '', 'example.com/team': 'pay' };
  for (let i = 0; i < 500; i++) many[`noise-${i}`] = 'x'.repeat(63);
  const pod: V1Pod = { metadata: { uid: 'u1', name: 'p', namespace: 'shop', labels: many } };

  it.each([
    ['the well-known ones alone by default', [], { app: 'checkout', 'app.kubernetes.io/version': '1.2' }],
    ['and the keys asked for, empty values included', ['tier', 'canary', 'example.com/team'], { app: 'checkout', 'app.kubernetes.io/version': '1.2', tier: 'web', canary: '', 'example.com/team': 'pay' }],
    ['a key the pod does not have stays absent', ['team', 'constructor'], { app: 'checkout', 'app.kubernetes.io/version': '1.2' }],
  ] as const)('%s', (_name, keys, expected) => {
    const labels = slimPod(pod, keys).labels;
    expect(labels).toEqual(expected);
    expect(Object.hasOwn(labels, 'constructor')).toBe(false);
  });

  it('a pod without labels has none', () => {
    expect(slimPod({ metadata: { uid: 'u2' } }, ['tier']).labels).toEqual({});
  });
});
