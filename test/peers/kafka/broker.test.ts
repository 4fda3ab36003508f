/**
 * The real Kafka broker the export tests use (test/support/kafkaBroker.ts):
 * one message produced and consumed over mTLS with @platformatic/kafka, and
 * over SASL/SCRAM on TLS; a client without a certificate, with a certificate
 * from another CA, or with a wrong SCRAM password is refused. Skipped, with
 * the reason printed, when the JDK or the jars are missing (sh
 * test/peers/kafka/prepare.sh resolves them).
 */
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers, type Message, type ProducerOptions } from '@platformatic/kafka';
import { kafkaUnavailableReason, startKafkaBroker, type KafkaBroker } from '../../support/kafkaBroker.ts';

const skipReason = kafkaUnavailableReason();

describe.skipIf(skipReason)('a real Kafka broker over mTLS', () => {
  let broker: KafkaBroker;
  beforeAll(async () => {
    broker = await startKafkaBroker();
    process.stderr.write(`[hydrophone] Kafka broker ready in ${broker.startupMs} ms on ${broker.bootstrap}\n`);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const mtls = () => ({ ca: broker.caPem, cert: broker.clientCertPem, key: broker.clientKeyPem });

  it('produces and consumes one message with a client certificate', async () => {
    await broker.createTopic('spans', 3);
    const key = 'trace-4bf92f3577b34da6a3ce929d0e0e4736';
    const value = 'one OTLP export request';
    await produceOne({ bootstrapBrokers: [broker.bootstrap], tls: mtls() }, 'spans', key, value);
    const got = await consumeOne(broker.bootstrap, mtls(), 'spans');
    expect(got).toEqual({ key, value, headers: { 'content-type': 'application/x-protobuf' } });
  });

  it('produces and consumes over SASL/SCRAM-SHA-512 on TLS', async () => {
    await broker.createTopic('spans-scram', 1);
    const { mechanism, username, password } = broker.scram;
    const opts = { bootstrapBrokers: [broker.saslBootstrap], tls: { ca: broker.caPem }, sasl: { mechanism, username, password } };
    await produceOne(opts, 'spans-scram', 'k', 'scram');
    const got = await consumeOne(broker.saslBootstrap, { ca: broker.caPem }, 'spans-scram', { mechanism, username, password });
    expect(got.value).toBe('scram');
  });

  it('refuses a TLS client without a certificate', async () => {
    // TLS 1.3: the client's handshake completes, then Java's server sends
    // the bad_certificate alert (42) instead of any data.
    const err = await tlsRefusal(broker.bootstrap, { ca: broker.caPem });
    expect(err).toMatch(/ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_REQUIRED/);
    await expectBrokerLogs(/Failed authentication with \/127\.0\.0\.1 .*SSL handshake failed/, async () => {
      await expect(produceOne({ bootstrapBrokers: [broker.bootstrap], tls: { ca: broker.caPem } }, 'spans', 'k', 'v')).rejects.toThrow();
    });
  });

  it('refuses a client certificate from another CA', async () => {
    const foreign = { ca: broker.caPem, cert: broker.foreignClient.certPem, key: broker.foreignClient.keyPem };
    // Java's answer to a chain it cannot build: certificate_unknown (46).
    const err = await tlsRefusal(broker.bootstrap, foreign);
    expect(err).toMatch(/ALERT_CERTIFICATE_UNKNOWN|ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE/);
    await expectBrokerLogs(/Failed authentication with \/127\.0\.0\.1 .*SSL handshake failed/, async () => {
      await expect(produceOne({ bootstrapBrokers: [broker.bootstrap], tls: foreign }, 'spans', 'k', 'v')).rejects.toThrow();
    });
  });

  it('refuses a wrong SCRAM password', async () => {
    const { mechanism, username } = broker.scram;
    const opts = { bootstrapBrokers: [broker.saslBootstrap], tls: { ca: broker.caPem }, sasl: { mechanism, username, password: 'wrong' } };
    await expectBrokerLogs(/Failed authentication with \/127\.0\.0\.1 .*invalid credentials with SASL mechanism SCRAM-SHA-512/, async () => {
      await expect(produceOne(opts, 'spans-scram', 'k', 'v')).rejects.toThrow();
    });
  });

  /** Runs `refuse` and waits for the broker to log one more line matching `pattern`. */
  async function expectBrokerLogs(pattern: RegExp, refuse: () => Promise<void>): Promise<void> {
    const count = () => broker.log().split('\n').filter((l) => pattern.test(l)).length;
    const before = count();
    await refuse();
    const deadline = performance.now() + 10_000;
    while (count() <= before && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(count(), `the broker logged no new line matching ${pattern}`).toBeGreaterThan(before);
  }
});

type ClientConnection = Pick<ProducerOptions<string, string, string, string>, 'bootstrapBrokers' | 'tls' | 'sasl'>;

/** Sends one message (acks=all, idempotent, the way the sink will) and closes; rejects when the broker refuses the client. */
async function produceOne(conn: ClientConnection, topic: string, key: string, value: string): Promise<void> {
  const producer = new Producer({
    clientId: 'hydrophone-test-producer',
    ...conn,
    serializers: stringSerializers,
    idempotent: true,
    acks: -1,
    // A refused client must fail quickly. Not 1: an idempotent producer
    // turns `retries` <= 1 into "retry forever" (Number.MAX_SAFE_INTEGER).
    retries: 2,
    retryDelay: 100,
    connectTimeout: 5_000,
    timeout: 10_000,
  });
  try {
    await producer.send({ messages: [{ topic, key, value, headers: { 'content-type': 'application/x-protobuf' } }] });
  } finally {
    await producer.close();
  }
}

/** Reads the first message of a topic from the earliest offset. */
async function consumeOne(bootstrap: string, tls: ConnectionOptions, topic: string, sasl?: ClientConnection['sasl']): Promise<{ key: string; value: string; headers: Record<string, string> }> {
  const consumer = new Consumer({
    clientId: 'hydrophone-test-consumer',
    groupId: `hydrophone-test-${topic}`,
    bootstrapBrokers: [bootstrap],
    tls,
    sasl,
    deserializers: stringDeserializers,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 500 });
    try {
      const m = await new Promise<Message<string, string, string, string>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 30 s`)), 30_000);
        stream.once('data', (msg: Message<string, string, string, string>) => { clearTimeout(timer); resolve(msg); });
        stream.once('error', (e: Error) => { clearTimeout(timer); reject(e); });
      });
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers) headers[k] = v;
      return { key: m.key, value: m.value, headers };
    } finally {
      await stream.close();
    }
  } finally {
    await consumer.close(true);
  }
}

/** What a bare TLS client connecting to `bootstrap` gets: the broker's alert during the handshake, or right after it (TLS 1.3). */
function tlsRefusal(bootstrap: string, tls: ConnectionOptions): Promise<string> {
  const [host, port] = bootstrap.split(':');
  return new Promise((resolve) => {
    const s = tlsConnect({ host, port: Number(port), ...tls });
    const done = (why: string) => { clearTimeout(timer); s.destroy(); resolve(why); };
    const timer = setTimeout(() => done('no refusal within 10 s'), 10_000);
    s.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ?? ''} ${e.message}`));
    s.once('close', () => done('closed without an error'));
    // Read, so an alert that follows the handshake is seen.
    s.resume();
  });
}
