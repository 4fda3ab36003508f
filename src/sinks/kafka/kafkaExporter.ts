/**
 * Spans to a Kafka topic with @platformatic/kafka, one produce call per
 * batch. Each batch is split by trace: one message per trace, its value an
 * OTLP ExportTraceServiceRequest (protobuf) holding that trace's spans, its
 * key the trace id, so a trace stays on one partition and a consumer sees
 * its spans in order. Headers say what the value is and who sent it.
 *
 * Delivery: acks=all and an idempotent producer. The broker drops a
 * duplicate only while the producer retries with the same producer id and
 * sequence numbers, and the library starts a new producer id after any
 * failed send. So the producer keeps retrying one batch until the send's
 * deadline (backoff capped at a second, a bounded count as a backstop):
 * a broker restart or a leader move within the deadline then loses and
 * duplicates nothing. Past the deadline the producer is closed and the
 * QueuedSink retries later with a fresh one; only a batch the broker
 * wrote just before it went away, for longer than the deadline, can then
 * arrive twice. Retrying stops at once when it cannot help: refused
 * credentials, and a TLS refusal, which the library reports only as a
 * closed connection and the TLS probe names.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { Producer, compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka';
import type { BatchExporter, SendOutcome } from '../exporter.ts';
import type { Span } from '../../spans/span.ts';
import { encodeExportTraceRequest } from '../otlp/otlpProtobuf.ts';
import { probeTls, type TlsProbeResult } from '../tlsProbe.ts';
import { SENSOR_NAME } from '../../sensorIdentity.ts';
import type { KafkaConnection } from './kafkaConfig.ts';
import { classifyKafkaError, outcomeOfTlsProbe, saysTopicMissing, topicMissing, type KafkaFailureContext } from './kafkaOutcome.ts';

/** The message headers' names and fixed values: consumers switch on them. */
export const KAFKA_HEADERS = {
  contentType: ['content-type', 'application/x-protobuf'],
  schema: ['otlp-schema', 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'],
  /** Bumped when the message layout (key, value, headers) changes incompatibly. */
  schemaVersion: ['schema-version', '1'],
  sensorId: 'sensor-id',
} as const;

/** How the producer retries within one send. */
export interface KafkaProducerTuning {
  /** Backoff between the producer's own attempts: doubling from the first delay up to the cap. */
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
  /**
   * Attempts per operation at most, a backstop behind the send deadline.
   * At least 2: @platformatic/kafka turns an idempotent producer's `retries`
   * <= 1 into unlimited retries.
   */
  readonly maxRetries: number;
  /** One request's timeout, which is also how long the broker may wait for acks=all. */
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The TLS probe after a connection failure, at most. */
  readonly probeTimeoutMs: number;
}

export const DEFAULT_KAFKA_TUNING: KafkaProducerTuning = {
  retryDelayMs: 100,
  retryDelayMaxMs: 1_000,
  maxRetries: 100,
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 3_000,
  probeTimeoutMs: 3_000,
};

/** Metadata attempts that may say "no such topic" before we believe it (about 0.7 s: a topic just created propagates). */
const TOPIC_GRACE_ATTEMPTS = 3;

/** During an outage every attempt fails: one TLS probe a second is enough to notice a refusal. */
const PROBE_INTERVAL_MS = 1_000;

type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer>;
type BufferMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/** One producer and what its failed attempts have told us. */
interface ProducerSession {
  readonly producer: BufferProducer;
  /** Set when retrying cannot help; the producer is then closed and pending sends end with it. */
  verdict?: SendOutcome;
  /** The latest failed attempt, for the reason when the deadline ends the retries. */
  lastError?: unknown;
  /** Made with credentials that have since changed: replaced before its next send. */
  stale?: boolean;
  /** Sends under way on it. */
  sending: number;
  closed?: Promise<void>;
}

export class KafkaExporter implements BatchExporter {
  readonly name = 'kafka';
  private connection: KafkaConnection;
  private readonly tuning: KafkaProducerTuning;
  private failureContext: KafkaFailureContext;
  /** Header map shared by every message: the producer only reads it. */
  private headers: Map<Buffer, Buffer>;
  private session: ProducerSession | undefined;
  private readonly closing = new Set<Promise<void>>();
  private lastProbe: { readonly at: number; readonly result: Promise<TlsProbeResult> } | undefined;
  private lastProbeResult: { readonly at: number; readonly result: TlsProbeResult } | undefined;
  private closed = false;

  constructor(connection: KafkaConnection, tuning: Partial<KafkaProducerTuning> = {}) {
    this.connection = connection;
    this.tuning = { ...DEFAULT_KAFKA_TUNING, ...tuning };
    if (!Number.isInteger(this.tuning.maxRetries) || this.tuning.maxRetries < 2) {
      throw new Error(`kafka: producer maxRetries must be an integer >= 2 (got ${this.tuning.maxRetries}): @platformatic/kafka retries an idempotent producer forever below that`);
    }
    this.failureContext = failureContextOf(connection);
    this.headers = headersOf(connection);
  }

  /**
   * New credentials or settings (certificate rotation): the batch being sent
   * finishes with the old producer, the next one opens a producer with these.
   */
  useConnection(connection: KafkaConnection): void {
    this.connection = connection;
    this.failureContext = failureContextOf(connection);
    this.headers = headersOf(connection);
    this.lastProbe = undefined;
    this.lastProbeResult = undefined;
    if (this.session) this.session.stale = true;
  }

  async send(spans: readonly Span[], deadline: number): Promise<SendOutcome> {
    if (this.closed) return { kind: 'permanent', reason: 'the Kafka exporter is closed' };
    if (spans.length === 0) return { kind: 'sent' };
    const budgetMs = deadline - Date.now();
    if (budgetMs <= 0) return { kind: 'retryable', reason: 'the send deadline passed before the batch could go out' };
    let messages: BufferMessage[];
    try {
      messages = this.messagesOf(spans);
    } catch (err) {
      return { kind: 'permanent', reason: `spans could not be encoded as OTLP: ${(err as Error).message}` };
    }
    if (this.session?.stale && !this.session.sending) this.endSession(this.session);
    const session = (this.session ??= this.openSession());
    session.sending++;
    const result = await settleWithin(session.producer.send({ messages }), budgetMs).finally(() => session.sending--);
    if (result.kind === 'done') return { kind: 'sent' };
    if (session.verdict) return session.verdict;
    if (result.kind === 'late') {
      // Still retrying: stop it, so no attempt of this batch lands after we said it failed.
      this.endSession(session);
      return this.outcomeOf(session.lastError, deadline, `no acknowledgement (acks=all) within ${budgetMs} ms`);
    }
    if (this.closed) return { kind: 'retryable', reason: 'the Kafka exporter was closed during the send' };
    return this.outcomeOf(result.error, deadline);
  }

  /**
   * A TLS handshake with the first broker, as the producer would make it:
   * undefined when it works, else what is wrong and what to fix. For a check
   * at start, before any span is queued.
   */
  async checkBroker(timeoutMs = this.tuning.probeTimeoutMs): Promise<string | undefined> {
    const probe = await this.probe(timeoutMs);
    if (probe.ok) return undefined;
    const outcome = outcomeOfTlsProbe(probe, 'no connection yet', this.failureContext);
    return outcome.kind === 'sent' ? undefined : outcome.reason;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.session) this.endSession(this.session);
    await Promise.all(this.closing);
  }

  /** One message per trace, in the order each trace first appears in the batch. */
  private messagesOf(spans: readonly Span[]): BufferMessage[] {
    const byTrace = new Map<string, Span[]>();
    for (const s of spans) {
      const group = byTrace.get(s.traceId);
      if (group) group.push(s);
      else byTrace.set(s.traceId, [s]);
    }
    const messages: BufferMessage[] = [];
    for (const [traceId, traceSpans] of byTrace) {
      const bytes = encodeExportTraceRequest(traceSpans);
      messages.push({
        topic: this.connection.topic,
        key: Buffer.from(traceId, 'latin1'),
        value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        headers: this.headers,
      });
    }
    return messages;
  }

  private openSession(): ProducerSession {
    const c = this.connection;
    const t = this.tuning;
    let session: ProducerSession | undefined;
    // The producer asks for a delay before every retry, passing the error: our look at each failed attempt.
    const retryDelay = (_client: unknown, operation: string, attempt: number, _retries: number, error: Error): number => {
      if (session) this.onFailedAttempt(session, operation, attempt, error);
      return Math.min(t.retryDelayMaxMs, t.retryDelayMs * 2 ** Math.max(0, attempt - 1));
    };
    const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: clientIdOf(c.sensorId),
      bootstrapBrokers: c.brokers.map((b) => ({ host: b.host, port: b.port })),
      tls: { ...c.tls },
      // SNI and the certificate's name check use the broker's host; Node refuses SNI with an IP address.
      tlsServerName: c.brokers.every((b) => isIP(b.host) === 0),
      ...(c.sasl ? { sasl: { mechanism: c.sasl.mechanism, username: c.sasl.username, password: c.sasl.password } } : {}),
      idempotent: true,
      acks: -1,
      compression: c.compression,
      // Java's partitioner (murmur2 masked positive), so a trace id lands on the
      // partition any other Kafka client would pick for the same key.
      partitioner: compatibilityPartitioner,
      retries: t.maxRetries,
      retryDelay,
      timeout: t.requestTimeoutMs,
      connectTimeout: t.connectTimeoutMs,
      autocreateTopics: false,
    });
    session = { producer, sending: 0 };
    return session;
  }

  /** Closes the session's producer (which ends its pending retries) and forgets it. */
  private endSession(session: ProducerSession): void {
    if (this.session === session) this.session = undefined;
    if (session.closed) return;
    const closed = session.producer.close(true).catch(() => {}).finally(() => this.closing.delete(closed));
    session.closed = closed;
    this.closing.add(closed);
  }

  /** Stops retrying when it cannot help: refused credentials now, a TLS refusal once the probe has looked. */
  private onFailedAttempt(session: ProducerSession, operation: string, attempt: number, error: unknown): void {
    session.lastError = error;
    if (session.verdict) return;
    if (operation === 'metadata' && attempt >= TOPIC_GRACE_ATTEMPTS && saysTopicMissing(error)) {
      this.giveUp(session, topicMissing(this.failureContext));
      return;
    }
    const failure = classifyKafkaError(error, this.failureContext);
    if (failure.kind === 'decided') {
      if (failure.outcome.kind === 'permanent') this.giveUp(session, failure.outcome);
      return;
    }
    void this.recentProbe().then((probe) => {
      const outcome = outcomeOfTlsProbe(probe, failure.detail, this.failureContext);
      if (outcome.kind === 'permanent') this.giveUp(session, outcome);
    });
  }

  private giveUp(session: ProducerSession, verdict: SendOutcome): void {
    if (session.verdict || session.closed) return;
    session.verdict = verdict;
    // Not from inside the library's retry step: it registers its close listener right after asking for the delay.
    setImmediate(() => this.endSession(session));
  }

  /** What a failed send means; `prefix` says how it ended when the deadline did. */
  private async outcomeOf(err: unknown, deadline: number, prefix?: string): Promise<SendOutcome> {
    const failure = err === undefined ? { kind: 'connection' as const, detail: 'no answer' } : classifyKafkaError(err, this.failureContext);
    let outcome: SendOutcome;
    if (failure.kind === 'decided') {
      outcome = failure.outcome;
    } else {
      // The library cannot tell a refused certificate from a dropped connection: ask TLS itself,
      // within the deadline (a probe made during the retries will do when none is left).
      const left = deadline - Date.now();
      const recent = this.lastProbeResult && Date.now() - this.lastProbeResult.at < 5 * PROBE_INTERVAL_MS ? this.lastProbeResult.result : undefined;
      const probe = left >= 50 ? await this.recentProbe(left) : recent;
      outcome = probe ? outcomeOfTlsProbe(probe, failure.detail, this.failureContext) : { kind: 'retryable', reason: `connection failed: ${failure.detail}` };
    }
    return prefix && outcome.kind === 'retryable' ? { ...outcome, reason: `${prefix}: ${outcome.reason}` } : outcome;
  }

  /** A probe of the first broker, shared by every failure within a second. */
  private recentProbe(timeoutMs = this.tuning.probeTimeoutMs): Promise<TlsProbeResult> {
    const now = Date.now();
    if (this.lastProbe && now - this.lastProbe.at < PROBE_INTERVAL_MS) return this.lastProbe.result;
    const result = this.probe(Math.min(timeoutMs, this.tuning.probeTimeoutMs)).then((r) => {
      this.lastProbeResult = { at: Date.now(), result: r };
      return r;
    });
    this.lastProbe = { at: now, result };
    return result;
  }

  private probe(timeoutMs: number): Promise<TlsProbeResult> {
    const first = this.connection.brokers[0]!;
    const { ca, cert, key } = this.connection.tls;
    return probeTls({
      host: first.host,
      port: first.port,
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      timeoutMs,
    });
  }
}

type Settled = { readonly kind: 'done' } | { readonly kind: 'failed'; readonly error: unknown } | { readonly kind: 'late' };

/** The promise's outcome, or 'late' after `ms`; a rejection after that is swallowed. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'late' }), ms);
    promise.then(
      () => { clearTimeout(timer); resolve({ kind: 'done' }); },
      (error: unknown) => { clearTimeout(timer); resolve({ kind: 'failed', error }); },
    );
  });
}

function failureContextOf(c: KafkaConnection): KafkaFailureContext {
  return {
    topic: c.topic,
    principal: principalOf(c),
    ...(c.sasl ? { sasl: { mechanism: c.sasl.mechanism, username: c.sasl.username } } : {}),
    caSource: c.sources?.ca ?? (c.tls.ca ? 'the configured CA' : 'the system CA store'),
    ...(c.tls.cert ? { certSource: c.sources?.cert ?? 'the configured client certificate' } : {}),
  };
}

function headersOf(c: KafkaConnection): Map<Buffer, Buffer> {
  return new Map([
    KAFKA_HEADERS.contentType,
    KAFKA_HEADERS.schema,
    KAFKA_HEADERS.schemaVersion,
    [KAFKA_HEADERS.sensorId, c.sensorId],
  ].map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
}

/** `hydrophone-<sensor id>`: brokers log it and quotas key on it. Kafka client ids allow [A-Za-z0-9._-]. */
function clientIdOf(sensorId: string): string {
  return `${SENSOR_NAME}-${sensorId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** How the broker's ACLs name us: the SASL user, or the client certificate's subject in RFC 2253 order (Kafka's default mapping). */
function principalOf(c: KafkaConnection): string {
  if (c.sasl) return `User:${c.sasl.username}`;
  if (c.tls.cert === undefined) return 'User:ANONYMOUS';
  try {
    return `User:${new X509Certificate(c.tls.cert).subject.split('\n').reverse().join(',')}`;
  } catch {
    return 'the principal of our client certificate';
  }
}
