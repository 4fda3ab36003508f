import { describe, expect, it } from 'vitest';
import { applyImageOverrides, imageOverrideFromReference, parseImageOverride, splitImage, type ImageOverride } from './imageOverride.ts';
import type { KubeManifest } from './renderManifests.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const podOf = (kind: string, containers: string[], initContainers: string[] = []): KubeManifest => {
  const spec = { containers: containers.map((image, i) => ({ name: `c${i}`, image })), initContainers: initContainers.map((image, i) => ({ name: `i${i}`, image })) };
  const template = { spec };
  const body = kind === 'Pod' ? spec : kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template };
  return { apiVersion: 'v1', kind, metadata: { name: 'x' }, spec: body };
};
const imagesOf = (o: KubeManifest): string[] => JSON.stringify(o).match(/"image":"[^"]*"/g)!.map((m) => m.slice(9, -1));

describe('splitImage', () => {
  it.each<[string, ReturnType<typeof splitImage>]>([
    ['agent', { name: 'agent' }],
    ['agent:1.2', { name: 'agent', tag: '1.2' }],
    ['registry:5000/team/agent', { name: 'registry:5000/team/agent' }],
    ['registry:5000/team/agent:1.2', { name: 'registry:5000/team/agent', tag: '1.2' }],
    [`agent@${DIGEST}`, { name: 'agent', digest: DIGEST }],
    [`agent:1.2@${DIGEST}`, { name: 'agent', tag: '1.2', digest: DIGEST }],
  ])('%s', (image, parts) => expect(splitImage(image)).toEqual(parts));
});

describe('applyImageOverrides', () => {
  const cases: [string, ImageOverride, string, string][] = [
    ['a new tag', { name: 'agent', newTag: '2.0' }, 'agent:1.0', 'agent:2.0'],
    ['a new name keeps the tag', { name: 'agent', newName: 'reg.example.com/agent' }, 'agent:1.0', 'reg.example.com/agent:1.0'],
    ['a new name keeps a digest', { name: 'agent', newName: 'reg.example.com/agent' }, `agent@${DIGEST}`, `reg.example.com/agent@${DIGEST}`],
    ['a digest replaces the tag', { name: 'agent', digest: DIGEST }, 'agent:1.0', `agent@${DIGEST}`],
    ['name, registry port and tag', { name: 'reg:5000/agent', newName: 'other/agent', newTag: 'v3' }, 'reg:5000/agent:1', 'other/agent:v3'],
    ['another image is left alone', { name: 'agent', newTag: '2.0' }, 'agent-sidecar:1.0', 'agent-sidecar:1.0'],
  ];
  it.each(cases)('%s', (_, override, before, after) => {
    expect(imagesOf(applyImageOverrides([podOf('DaemonSet', [before])], [override])[0]!)).toEqual([after]);
  });

  it.each(['Pod', 'Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob'])('reaches containers and init containers of a %s, without touching its input', (kind) => {
    const input = podOf(kind, ['agent:1', 'other:1'], ['agent:1']);
    const out = applyImageOverrides([input], [{ name: 'agent', newTag: '2' }]);
    expect(imagesOf(out[0]!)).toEqual(['agent:2', 'other:1', 'agent:2']);
    expect(imagesOf(input)).toEqual(['agent:1', 'other:1', 'agent:1']);
  });
});

describe('parseImageOverride', () => {
  it.each<[string, unknown, RegExp]>([
    ['not a mapping', 'agent', /must be a mapping/],
    ['no name', { newTag: '1' }, /name must be an image name/],
    ['a name with a tag', { name: 'agent:1', newTag: '2' }, /without tag or digest/],
    ['nothing to replace', { name: 'agent' }, /give newName, newTag or digest/],
    ['an upper-case new name', { name: 'agent', newName: 'Registry/Agent' }, /is not an image name/],
    ['a tag with a slash', { name: 'agent', newTag: 'a/b' }, /is not a tag/],
    ['a short digest', { name: 'agent', digest: 'sha256:abc' }, /sha256:<64 hex digits>/],
    ['a number as a tag', { name: 'agent', newTag: 2 }, /newTag must be a string/],
  ])('refuses %s', (_, entry, message) => {
    expect(() => parseImageOverride(entry, 'images[0]')).toThrow(message);
  });

  it('reads a whole reference as the override of a name', () => {
    expect(imageOverrideFromReference('hydrophone-sensor', 'reg.example.com/obs/sensor:0.2.0', '--sensor-image'))
      .toEqual({ name: 'hydrophone-sensor', newName: 'reg.example.com/obs/sensor', newTag: '0.2.0' });
    expect(imageOverrideFromReference('hydrophone-sensor', `reg.example.com/obs/sensor@${DIGEST}`, '--sensor-image'))
      .toEqual({ name: 'hydrophone-sensor', newName: 'reg.example.com/obs/sensor', digest: DIGEST });
    expect(() => imageOverrideFromReference('hydrophone-sensor', 'Reg/Sensor:1', '--sensor-image')).toThrow(/--sensor-image 'Reg\/Sensor:1'.*not an image name/);
  });
});
