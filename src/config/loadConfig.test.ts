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
    ['a malformed pod label requirement from a flag', { 'pod-label': ['app=checkout,tier=a b'] }, {}, undefined, /filters\.podLabels\.1 \(from --pod-label\): 'tier=a b' is not a label requirement: use key=value, .*, got "tier=a b"/],
    ['a set-based pod label requirement from the environment', {}, { HYDROPHONE_FILTERS_EXCLUDE_POD_LABELS: 'env in (dev)' }, undefined, /filters\.excludePodLabels\.0 \(from \$HYDROPHONE_FILTERS_EXCLUDE_POD_LABELS\): 'env in \(dev\)': set-based requirements/],
    ['a bad pod label key in the file', {}, {}, 'filters:\n  podLabels: [Team.Example/x=1]\n', /filters\.podLabels\.0 \(from .*typo\.yaml\): 'Team\.Example\/x=1': label key .* lower-case DNS subdomain/],
  ] as const)('rejects %s, naming the field, where it came from and why', (_name, flags, env, fileText, message) => {
    const all = { ...flags, ...(fileText !== undefined ? { config: yamlFile('typo.yaml', fileText) } : {}) };
    expect(() => loadConfig(all as Record<string, string | string[]>, env)).toThrow(ConfigError);
    expect(() => loadConfig(all as Record<string, string | string[]>, env)).toThrow(message);
  });

  it('pod label requirements: a comma-separated flag or variable is a list, as kubectl -l writes it', () => {
    expect(loadConfig({ 'pod-label': ['app=checkout,tier!=debug', '!canary'] }, {}).config.filters.podLabels).toEqual(['app=checkout', 'tier!=debug', '!canary']);
    expect(loadConfig({}, { HYDROPHONE_FILTERS_EXCLUDE_POD_LABELS: 'team, example.com/debug' }).config.filters.excludePodLabels).toEqual(['team', 'example.com/debug']);
    expect(loadConfig({}, {}).config.filters).toMatchObject({ podLabels: [], excludePodLabels: [] });
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

describe('attributes (captured headers, metadata, url.query)', () => {
  it('asks for nothing by default', () => {
    expect(loadConfig({}, {}).config.attributes).toEqual({
      requestHeaders: [], responseHeaders: [], grpcRequestMetadata: [], grpcResponseMetadata: [], sensitiveHeaders: [], urlQuery: 'off', queryParams: [],
    });
  });

  it('takes flags, variables and the file; names lower-cased, lists comma-separated', () => {
    const file = yamlFile('attributes.yaml', 'attributes:\n  responseHeaders: [Content-Type]\n  grpcResponseMetadata: [X-Served-By]\n');
    const { config, origins } = loadConfig(
      { config: file, 'request-header': ['X-Request-Id,x-tenant'], 'url-query': 'redacted', 'query-param': ['page'] },
      { HYDROPHONE_ATTRIBUTES_SENSITIVE_HEADERS: 'X-Internal-Token', HYDROPHONE_ATTRIBUTES_GRPC_REQUEST_METADATA: 'Tenant-Bin' },
    );
    expect(config.attributes).toEqual({
      requestHeaders: ['x-request-id', 'x-tenant'], responseHeaders: ['content-type'], grpcRequestMetadata: ['tenant-bin'], grpcResponseMetadata: ['x-served-by'],
      sensitiveHeaders: ['x-internal-token'], urlQuery: 'redacted', queryParams: ['page'],
    });
    expect(origins.get('attributes.sensitiveHeaders')).toBe('$HYDROPHONE_ATTRIBUTES_SENSITIVE_HEADERS');
    expect(printConfig(loadConfig({ 'request-header': ['x-a'] }, {}), {})).toContain('# from --request-header');
  });

  it.each([
    ['a header name with a space', { 'request-header': ['x a'] }, {}, /attributes\.requestHeaders\.0 \(from --request-header\): not a header name .*, got "x a"/],
    ['a header name with a colon, from the environment', {}, { HYDROPHONE_ATTRIBUTES_RESPONSE_HEADERS: 'ok,x:y' }, /attributes\.responseHeaders\.1 \(from \$HYDROPHONE_ATTRIBUTES_RESPONSE_HEADERS\): not a header name/],
    ['a metadata key with a slash', { 'grpc-request-metadata': ['a/b'] }, {}, /attributes\.grpcRequestMetadata\.0 \(from --grpc-request-metadata\): not a gRPC metadata key/],
    ['a sensitive header that is no name', { 'sensitive-header': ['x y'] }, {}, /attributes\.sensitiveHeaders\.0 \(from --sensitive-header\): not a header name/],
    ['a url.query mode that does not exist', { 'url-query': 'on' }, {}, /attributes\.urlQuery \(from --url-query\): Invalid option: expected one of "off"\|"redacted", got "on"/],
    ['allowed query parameters while url.query is off', { 'query-param': ['page'] }, {}, /attributes\.queryParams \(from --query-param\): has no effect while attributes\.urlQuery is off: set it to redacted/],
    ['a query parameter name with "="', { 'url-query': 'redacted', 'query-param': ['a=b'] }, {}, /attributes\.queryParams\.0 \(from --query-param\): not a query parameter name/],
  ] as const)('rejects %s, naming the field and where it came from', (_name, flags, env, message) => {
    expect(() => loadConfig(flags as Record<string, string | string[]>, env)).toThrow(ConfigError);
    expect(() => loadConfig(flags as Record<string, string | string[]>, env)).toThrow(message);
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
