import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, SETTINGS, loadConfig } from './loadConfig.ts';
import { printConfig } from './printConfig.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-config-'));
const yamlFile = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('loadConfig', () => {
  it('defaults alone make a valid configuration: stdout, every port, health on 9464', () => {
    const { config, origins } = loadConfig({}, {});
    expect(config).toMatchObject({ sinks: ['stdout'], capture: { ports: [], ringBufferMb: 16, attach: 'auto' }, health: { port: 9464 }, queue: { maxSpans: 100_000 } });
    expect(origins.size).toBe(0);
  });

  it('a flag wins over a variable, which wins over the file', () => {
    const file = yamlFile('layers.yaml', 'otlp:\n  timeoutSeconds: 3\n  endpoint: from-file:4317\ncapture:\n  ringBufferMb: 64\n');
    const { config, origins } = loadConfig(
      { config: file, 'otlp-timeout': '7' },
      { HYDROPHONE_OTLP_TIMEOUT_SECONDS: '5', HYDROPHONE_OTLP_ENDPOINT: 'from-env:4317', HYDROPHONE_CAPTURE_PORTS: '80, 443' },
    );
    expect(config.otlp).toMatchObject({ timeoutSeconds: 7, endpoint: 'from-env:4317' });
    expect(config.capture).toMatchObject({ ringBufferMb: 64, ports: [80, 443] });
    expect(Object.fromEntries(origins)).toMatchObject({
      'otlp.timeoutSeconds': '--otlp-timeout', 'otlp.endpoint': '$HYDROPHONE_OTLP_ENDPOINT', 'capture.ringBufferMb': file, 'capture.ports': '$HYDROPHONE_CAPTURE_PORTS',
    });
  });

  it('reads $HYDROPHONE_CONFIG when --config is not given', () => {
    const file = yamlFile('env.yaml', 'sinks: [otlp, kafka]\n');
    expect(loadConfig({}, { HYDROPHONE_CONFIG: file }).config.sinks).toEqual(['otlp', 'kafka']);
  });

  it.each([
    ['a bad enum from a flag', { 'otlp-compression': 'zip' }, {}, undefined, /otlp\.compression \(from --otlp-compression\): Invalid option: expected one of "gzip"\|"none", got "zip"/],
    ['a word for a number', { port: ['http'] }, {}, undefined, /capture\.ports \(from --port\): 'http' is not a whole number/],
    ['a port out of range', { port: ['70000'] }, {}, undefined, /capture\.ports\.0 \(from --port\): .*65535/],
    ['a ring buffer not a power of two, from the environment', {}, { HYDROPHONE_CAPTURE_RING_BUFFER_MB: '3' }, undefined, /capture\.ringBufferMb \(from \$HYDROPHONE_CAPTURE_RING_BUFFER_MB\): must be a power of two, got 3/],
    ['a queue smaller than a batch', { 'queue-spans': '5' }, {}, undefined, /queue\.maxSpans \(from --queue-spans\): must hold at least one batch \(queue\.batchSpans\), got 5/],
    ['a typo in the file', {}, {}, 'otlp:\n  endpont: x\n', /otlp\.endpont \(from .*typo\.yaml\): not a setting/],
    ['a sink that does not exist', { sink: ['otlp,jaeger'] }, {}, undefined, /sinks\.1 \(from --sink\): Invalid option: expected one of "stdout"\|"otlp"\|"kafka", got "jaeger"/],
    ['a boolean that is not one', {}, { HYDROPHONE_OTLP_INSECURE: 'maybe' }, undefined, /otlp\.insecure \(from \$HYDROPHONE_OTLP_INSECURE\): 'maybe' is not true or false/],
    ['YAML that does not parse', {}, {}, 'otlp: [unclosed\n', /config file .*typo\.yaml: not valid YAML/],
    ['a list at the top', {}, {}, '- a\n- b\n', /the top level must be a mapping/],
  ] as const)('rejects %s, naming the field, where it came from and why', (_name, flags, env, fileText, message) => {
    const all = { ...flags, ...(fileText !== undefined ? { config: yamlFile('typo.yaml', fileText) } : {}) };
    expect(() => loadConfig(all as Record<string, string | string[]>, env)).toThrow(ConfigError);
    expect(() => loadConfig(all as Record<string, string | string[]>, env)).toThrow(message);
  });

  it('lists every problem at once', () => {
    expect(() => loadConfig({ 'otlp-compression': 'zip', 'ring-buffer-mb': '3' }, {})).toThrow(/otlp\.compression[\s\S]*capture\.ringBufferMb/);
  });

  it('a missing file names the file and how it was chosen', () => {
    expect(() => loadConfig({ config: '/nonexistent/hydrophone.yaml' }, {})).toThrow('config file /nonexistent/hydrophone.yaml: cannot read it (ENOENT): check --config / $HYDROPHONE_CONFIG');
  });

  it('every setting in the table exists in the schema, and every flag and variable is unique', () => {
    // Setting each one through its flag must pass the schema's strict key check.
    for (const s of SETTINGS) {
      const value = s.type === 'bool' ? true : s.type === 'int' ? '1' : s.type === 'intList' ? ['1'] : s.type === 'list' ? ['stdout'] : 'x';
      try {
        loadConfig({ [s.flag]: value } as Record<string, string | boolean | string[]>, {});
      } catch (err) {
        expect((err as Error).message, s.path).not.toMatch(/not a setting/);
      }
    }
    expect(new Set(SETTINGS.map((s) => s.flag)).size).toBe(SETTINGS.length);
    expect(new Set(SETTINGS.map((s) => s.env)).size).toBe(SETTINGS.length);
  });
});

describe('printConfig', () => {
  it('shows where each setting came from and never a secret', () => {
    const loaded = loadConfig({ 'otlp-endpoint': 'collector:4317', 'otlp-secret-file': '/run/secrets/pw' }, { HYDROPHONE_OTLP_PASSWORD: 'hunter2' });
    const text = printConfig(loaded, { HYDROPHONE_OTLP_PASSWORD: 'hunter2' });
    expect(text).toContain('endpoint: collector:4317 # from --otlp-endpoint');
    expect(text).toContain('secretFile: /run/secrets/pw # from --otlp-secret-file');
    expect(text).toContain('# $HYDROPHONE_OTLP_PASSWORD: ******** (set)');
    expect(text).not.toContain('hunter2');
  });
});
