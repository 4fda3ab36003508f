import { describe, expect, it } from 'vitest';
import { rootCertificates } from 'node:tls';
import { generateKeyPairSync } from 'node:crypto';
import { checkRegistration, checkRotation } from './registrationRequest.ts';

// Any real CA certificate will do: the first of the roots Node carries.
const CA_PEM = rootCertificates[0]!;

const valid = { tenant: 'Acme, Inc.', clusterName: 'prod-eu-1', otlpEndpoint: 'otlp.acme.example:4317', kafka: { brokers: ['k1.acme.example:9093', '[::1]:9093'], topic: 'spans.v1' }, backendCaPem: CA_PEM };

describe('a registration', () => {
  it('takes tenant, cluster and backends as given', () => {
    expect(checkRegistration(valid, {})).toEqual({
      ok: true,
      value: { tenant: 'Acme, Inc.', clusterName: 'prod-eu-1', backends: { otlpEndpoint: valid.otlpEndpoint, kafka: valid.kafka, backendCaPem: CA_PEM } },
    });
  });

  it('falls back to the portal\'s backends for those it leaves out', () => {
    const defaults = { otlpEndpoint: 'default:4317', kafka: { brokers: ['d:9093'], topic: 't' }, backendCaPem: CA_PEM };
    expect(checkRegistration({ tenant: 'a', clusterName: 'c' }, defaults)).toEqual({ ok: true, value: { tenant: 'a', clusterName: 'c', backends: defaults } });
    expect(checkRegistration({ tenant: 'a', clusterName: 'c', otlpEndpoint: 'mine:4317' }, { otlpEndpoint: 'default:4317' }))
      .toMatchObject({ ok: true, value: { backends: { otlpEndpoint: 'mine:4317' } } });
  });

  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  it.each([
    ['no body', undefined, /^body: /],
    ['no backend at all', { tenant: 'a', clusterName: 'c' }, /^no backend: give otlpEndpoint .* or kafka \{brokers, topic\}, or start the portal with --otlp-endpoint or --kafka-brokers$/],
    ['an unknown field', { ...valid, tennant: 'x' }, /^tennant: not a field/],
    ['an empty tenant', { ...valid, tenant: '' }, /^tenant: /],
    ['a tenant with a newline', { ...valid, tenant: 'a\nb' }, /^tenant: must be printable text without control characters$/],
    ['a tenant with padding', { ...valid, tenant: ' a' }, /^tenant: must not begin or end with spaces$/],
    ['a cluster name with a slash', { ...valid, clusterName: 'prod/1' }, /^clusterName: must be 1-63 letters/],
    ['a plain-text OTLP endpoint', { ...valid, otlpEndpoint: 'http://otlp:4317' }, /^otlpEndpoint: http:\/\/otlp:4317 is plain text/],
    ['an OTLP endpoint with a path', { ...valid, otlpEndpoint: 'https://otlp:4317/v1/traces' }, /^otlpEndpoint: gRPC takes no path/],
    ['a broker without a port', { ...valid, kafka: { brokers: ['k1'], topic: 't' } }, /^kafka\.brokers\[0\]: "k1" is not host:port/],
    ['no brokers', { ...valid, kafka: { brokers: [], topic: 't' } }, /^kafka\.brokers: /],
    ['a topic Kafka refuses', { ...valid, kafka: { brokers: ['k:1'], topic: 'a topic' } }, /^kafka\.topic: must be 1-249 letters/],
    ['a CA that is no certificate', { ...valid, backendCaPem: 'hello' }, /^backendCaPem: holds no PEM certificate/],
    ['a CA bundle with a private key in it', { ...valid, backendCaPem: `${CA_PEM}\n${key}` }, /^backendCaPem: holds a private key: send only the CA certificates/],
  ])('refuses %s, naming the field', (_name, body, message) => {
    const r = checkRegistration(body, {});
    expect(r.ok).toBe(false);
    expect((r as { error: string }).error).toMatch(message);
  });
});

describe('a rotation', () => {
  it('keeps earlier certificates by default, revokes them when asked, and refuses anything else', () => {
    expect(checkRotation(undefined)).toEqual({ ok: true, value: { revokePrevious: false } });
    expect(checkRotation({ revokePrevious: true })).toEqual({ ok: true, value: { revokePrevious: true } });
    expect(checkRotation({ revokePrevious: 'yes' })).toMatchObject({ ok: false, error: expect.stringMatching(/^revokePrevious: /) });
    expect(checkRotation({ days: 3 })).toMatchObject({ ok: false, error: expect.stringMatching(/^days: not a field/) });
  });
});
