import { describe, expect, it } from 'vitest';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka';
import { classifyKafkaError, outcomeOfTlsProbe, saysTopicMissing, type KafkaFailureContext } from './kafkaOutcome.ts';
import type { TlsProbeResult } from '../tlsProbe.ts';

const mtls: KafkaFailureContext = {
  topic: 'otlp_spans',
  principal: 'User:CN=node-a,O=hydrophone',
  caSource: 'kafka.caFile /etc/kafka/ca.pem',
  certSource: 'kafka.certFile /etc/kafka/client.pem',
};
const scram: KafkaFailureContext = { topic: 'otlp_spans', principal: 'User:sensor', sasl: { mechanism: 'SCRAM-SHA-512', username: 'sensor' }, caSource: 'the system CA store' };

/** How the library reports a failed send: the attempts collected, the cause underneath. */
const attempts = (...errors: Error[]) => new MultipleErrors(`produce failed ${errors.length} times.`, errors);

describe('classifyKafkaError', () => {
  it.each([
    ['a refused SCRAM login, under a failed connection', scram,
      attempts(new NetworkError('Connection to 127.0.0.1:9094 failed.', { cause: new AuthenticationError('SASL authentication failed.', { cause: attempts(new ProtocolError('SASL_AUTHENTICATION_FAILED', 'invalid credentials')) }) })),
      { kind: 'permanent', reason: 'authentication failed: the broker refused the SCRAM-SHA-512 login of user "sensor" (invalid credentials): check kafka.sasl.username and the password in kafka.sasl.passwordFile, and that the user exists for this mechanism on the broker' }],
    ['no WRITE on the topic', mtls, attempts(new ProtocolError('TOPIC_AUTHORIZATION_FAILED')),
      { kind: 'permanent', reason: "not authorized to write to topic \"otlp_spans\": grant User:CN=node-a,O=hydrophone WRITE and DESCRIBE on it (kafka-acls --add --allow-principal 'User:CN=node-a,O=hydrophone' --operation Write --operation Describe --topic otlp_spans)" }],
    ['a record batch over max.message.bytes', mtls, attempts(new ProtocolError('MESSAGE_TOO_LARGE')),
      { kind: 'permanent', reason: 'the broker refused a record batch as too large (MESSAGE_TOO_LARGE): lower the sink\'s batch size (spans per batch), or raise max.message.bytes of topic "otlp_spans"' }],
    ['a topic that does not exist', mtls, new UserError('Unknown topic otlp_spans.'),
      { kind: 'permanent', reason: 'topic "otlp_spans" does not exist on the cluster: create it, or fix kafka.topic (the sensor does not create topics)' }],
    ['a leader election', mtls, attempts(new ProtocolError('NOT_LEADER_OR_FOLLOWER'), new ProtocolError('LEADER_NOT_AVAILABLE')),
      { kind: 'retryable', reason: 'the broker answered NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE' }],
    ['too few in-sync replicas for acks=all', mtls, attempts(new ProtocolError('NOT_ENOUGH_REPLICAS')),
      { kind: 'retryable', reason: 'the broker answered NOT_ENOUGH_REPLICAS' }],
    ['a request timeout', mtls, attempts(new TimeoutError('Request timed out')),
      { kind: 'retryable', reason: 'timed out: Request timed out' }],
    ['a request the client refuses to send', mtls, new UserError('Failed to serialize a message.'),
      { kind: 'permanent', reason: 'the Kafka client refused the request: Failed to serialize a message.' }],
  ] as const)('%s', (_what, ctx, err, outcome) => {
    expect(classifyKafkaError(err, ctx)).toEqual({ kind: 'decided', outcome });
  });

  it('leaves a closed or refused connection to the TLS probe, with the innermost detail', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9093'), { code: 'ECONNREFUSED' });
    expect(classifyKafkaError(attempts(new NetworkError('Connection to 127.0.0.1:9093 failed.', { cause: refused })), mtls))
      .toEqual({ kind: 'connection', detail: 'connect ECONNREFUSED 127.0.0.1:9093' });
    expect(classifyKafkaError(attempts(new NetworkError('Connection closed'), new NetworkError('Connection closed')), mtls))
      .toEqual({ kind: 'connection', detail: 'Connection closed' });
  });

  it('finds a missing topic in a failed metadata request', () => {
    expect(saysTopicMissing(attempts(new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION')))).toBe(true);
    expect(saysTopicMissing(attempts(new ProtocolError('LEADER_NOT_AVAILABLE')))).toBe(false);
  });
});

describe('outcomeOfTlsProbe', () => {
  const failed = (kind: Exclude<TlsProbeResult, { ok: true }>['kind'], message: string, code?: string): TlsProbeResult => ({ ok: false, kind, message, ...(code ? { code } : {}) });
  it.each([
    ['a refused client certificate', mtls, failed('clientRejected', '10.0.0.7:9093 refused our client certificate (TLS alert certificate_unknown): it cannot verify our client certificate (not signed by a CA it trusts)'),
      { kind: 'permanent', reason: "TLS: the broker refused our client certificate from kafka.certFile /etc/kafka/client.pem (10.0.0.7:9093 refused our client certificate (TLS alert certificate_unknown): it cannot verify our client certificate (not signed by a CA it trusts)): have it issued by a CA in the broker's ssl.truststore, or add its CA there" }],
    ['a listener that wants a certificate we do not have', scram, failed('clientRejected', '10.0.0.7:9093 refused our client certificate (TLS alert certificate_required): it requires a client certificate and got none'),
      { kind: 'permanent', reason: 'TLS: 10.0.0.7:9093 refused our client certificate (TLS alert certificate_required): it requires a client certificate and got none: this listener requires mutual TLS: set kafka.certFile and kafka.keyFile, or point kafka.brokers at the SASL_SSL listener' }],
    ['a broker certificate from another CA', mtls, failed('untrustedServer', '10.0.0.7:9093 presents a certificate that is not signed by the CA we trust (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate)', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      { kind: 'permanent', reason: "TLS: the broker's certificate is not signed by kafka.caFile /etc/kafka/ca.pem (10.0.0.7:9093 presents a certificate that is not signed by the CA we trust (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate)): give the CA that issued the brokers' certificates" }],
    ['an expired broker certificate', mtls, failed('untrustedServer', '10.0.0.7:9093 presents a certificate that has expired (CERT_HAS_EXPIRED: certificate has expired)', 'CERT_HAS_EXPIRED'),
      { kind: 'permanent', reason: "TLS: 10.0.0.7:9093 presents a certificate that has expired (CERT_HAS_EXPIRED: certificate has expired): the broker's certificate must be renewed (or the clocks fixed)" }],
    ['a broker certificate for another name', mtls, failed('nameMismatch', 'kafka-0:9093 presents a certificate that does not name kafka-0'),
      { kind: 'permanent', reason: 'TLS: kafka-0:9093 presents a certificate that does not name kafka-0: list the brokers in kafka.brokers by a name or address their certificates carry (subjectAltName)' }],
    ['a plaintext listener', mtls, failed('notTls', '10.0.0.7:9092 does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER): it is a plaintext listener or another protocol'),
      { kind: 'permanent', reason: "TLS: 10.0.0.7:9092 does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER): it is a plaintext listener or another protocol: point kafka.brokers at the broker's SSL or SASL_SSL listener" }],
    ['a broker that is down', mtls, failed('unreachable', '10.0.0.7:9093 is unreachable (ECONNREFUSED): nothing listens there, or the address is wrong', 'ECONNREFUSED'),
      { kind: 'retryable', reason: '10.0.0.7:9093 is unreachable (ECONNREFUSED): nothing listens there, or the address is wrong' }],
    ['a close without an alert', mtls, failed('closedAfterHandshake', 'x'), { kind: 'retryable', reason: 'x' }],
    ['a handshake that works', mtls, { ok: true, protocol: 'TLSv1.3' } as const,
      { kind: 'retryable', reason: 'lost the connection to the brokers (Connection closed); a TLS handshake with the first broker succeeds' }],
  ] as const)('%s', (_what, ctx, probe, outcome) => {
    expect(outcomeOfTlsProbe(probe, 'Connection closed', ctx)).toEqual(outcome);
  });
});
