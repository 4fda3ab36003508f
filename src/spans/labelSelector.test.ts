import { describe, expect, it } from 'vitest';
import { labelKeysOf, meets, parseLabelRequirement, parseLabelRequirements, type LabelRequirement } from './labelSelector.ts';

describe('parseLabelRequirement', () => {
  it.each([
    ['app=checkout', { key: 'app', operator: 'equals', value: 'checkout' }],
    ['app==checkout', { key: 'app', operator: 'equals', value: 'checkout' }],
    ['tier!=debug', { key: 'tier', operator: 'notEquals', value: 'debug' }],
    ['team', { key: 'team', operator: 'exists', value: '' }],
    ['!canary', { key: 'canary', operator: 'notExists', value: '' }],
    ['  app.kubernetes.io/name = cart-store ', { key: 'app.kubernetes.io/name', operator: 'equals', value: 'cart-store' }],
    ['tier != debug', { key: 'tier', operator: 'notEquals', value: 'debug' }],
    ['! canary', { key: 'canary', operator: 'notExists', value: '' }],
    ['release=', { key: 'release', operator: 'equals', value: '' }],
    ['example.com/Team_1.x=A-b_c.9', { key: 'example.com/Team_1.x', operator: 'equals', value: 'A-b_c.9' }],
    [`${'k'.repeat(63)}=${'v'.repeat(63)}`, { key: 'k'.repeat(63), operator: 'equals', value: 'v'.repeat(63) }],
  ] as const)('%s', (text, requirement) => {
    expect(parseLabelRequirement(text)).toEqual({ ok: true, requirement });
  });

  it.each([
    ['', /an empty requirement/],
    ['   ', /an empty requirement/],
    ['=checkout', /the label key is empty/],
    ['!', /the label key is empty/],
    ['!=x', /the label key is empty/],
    ['env in (prod,staging)', /set-based requirements \(in, notin\) are not supported/],
    ['env notin (dev)', /set-based/],
    ['app=a=b', /is not a label requirement/],
    ['app===x', /is not a label requirement/],
    ['!app=x', /is not a label requirement/],
    ['replicas>1', /is not a label requirement/],
    ['my app=x', /is not a label requirement/],
    ['app=check out', /is not a label requirement/],
    ['-app=x', /the name must be 1-63 letters/],
    ['app-=x', /the name must be 1-63 letters/],
    [`${'k'.repeat(64)}=x`, /the name must be 1-63 letters/],
    ['Example.com/app=x', /the prefix before '\/' must be a lower-case DNS subdomain/],
    ['/app=x', /the prefix before '\/'/],
    ['a/b/c=x', /the name must be/],
    ['app=-x', /label value '-x' of 'app'/],
    [`app=${'v'.repeat(64)}`, /label value/],
    ['app=x$', /label value 'x\$'/],
  ] as const)('refuses %j', (text, error) => {
    const parsed = parseLabelRequirement(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });

  it('parseLabelRequirements throws on the first invalid one, with its reason', () => {
    expect(parseLabelRequirements(['app=x', 'team'])).toHaveLength(2);
    expect(() => parseLabelRequirements(['app=x', 'a b'])).toThrow(/invalid pod label requirement: 'a b' is not a label requirement/);
  });

  it('labelKeysOf names each key once and skips invalid requirements', () => {
    expect(labelKeysOf(['app=x', '!canary', 'app!=y', 'a b', 'example.com/team'])).toEqual(['app', 'canary', 'example.com/team']);
  });
});

describe('meets (Kubernetes label-selector semantics)', () => {
  const r = (text: string): LabelRequirement => parseLabelRequirements([text])[0]!;
  const checkout = { app: 'checkout', tier: 'web', release: '' };
  const bare = {};
  it.each([
    ['app=checkout', checkout, true],
    ['app=cart', checkout, false],
    ['app=checkout', bare, false],
    ['app!=cart', checkout, true],
    ['app!=checkout', checkout, false],
    ['app!=checkout', bare, true], // an absent label is not equal to anything
    ['tier', checkout, true],
    ['team', checkout, false],
    ['!team', checkout, true],
    ['!tier', checkout, false],
    ['!tier', bare, true],
    ['release=', checkout, true], // present with an empty value
    ['release=', bare, false],
    ['release', checkout, true],
    ['constructor', bare, false], // inherited properties are not labels
    ['toString!=x', bare, true],
  ] as const)('%s on %j: %s', (text, labels, expected) => {
    expect(meets(r(text), labels)).toBe(expected);
  });
});
