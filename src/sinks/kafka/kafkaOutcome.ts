/**
 * What a failed produce means for the queue, with a reason that says what
 * to fix. @platformatic/kafka reports failures as a tree (retries collected
 * in an AggregateError, the real cause under `cause`); the Kafka protocol
 * error ids in it decide most cases. Connection-level failures carry no
 * useful detail (a refused client certificate is just "Connection closed"),
 * so for those the caller asks the TLS probe and `outcomeOfTlsProbe` turns
 * its verdict into the outcome.
 */
import { TimeoutError } from '@platformatic/kafka';
import type { SendOutcome } from '../exporter.ts';
import type { TlsProbeResult } from '../tlsProbe.ts';
import type { ScramMechanism } from './kafkaConfig.ts';

/** What the reasons name: the settings a user would change. */
export interface KafkaFailureContext {
  readonly topic: string;
  /** Who the broker's ACLs see: `User:CN=...` for mutual TLS, `User:<name>` for SASL. */
  readonly principal: string;
  readonly sasl?: { readonly mechanism: ScramMechanism; readonly username: string };
  /** Where the CA and client certificate came from, e.g. `kafka.caFile /etc/kafka/ca.pem`. */
  readonly caSource: string;
  readonly certSource?: string;
}

export type KafkaFailure =
  | { readonly kind: 'decided'; readonly outcome: SendOutcome }
  /** The connection failed or was dropped; the TLS probe can tell whether TLS is why. */
  | { readonly kind: 'connection'; readonly detail: string };

/** The fields of the library's errors this module reads (GenericError, MultipleErrors, ProtocolError). */
interface LibraryError {
  readonly code?: string;
  readonly message?: string;
  readonly apiId?: string;
  readonly serverErrorMessage?: string | null;
  readonly errors?: readonly unknown[];
  readonly cause?: unknown;
}

const AUTHENTICATION = 'PLT_KFK_AUTHENTICATION';
const NETWORK = 'PLT_KFK_NETWORK';
const USER = 'PLT_KFK_USER';

/** Protocol errors sending again cannot fix, with the fix. */
function permanentFix(apiId: string, ctx: KafkaFailureContext): string | undefined {
  switch (apiId) {
    case 'TOPIC_AUTHORIZATION_FAILED':
      return `not authorized to write to topic "${ctx.topic}": grant ${ctx.principal} WRITE and DESCRIBE on it (kafka-acls --add --allow-principal '${ctx.principal}' --operation Write --operation Describe --topic ${ctx.topic})`;
    case 'CLUSTER_AUTHORIZATION_FAILED':
      return `not authorized for IDEMPOTENT_WRITE on the cluster (brokers before Kafka 3.0 require it of idempotent producers): grant it to ${ctx.principal}`;
    case 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED':
      return `not authorized to initialise an idempotent producer: grant ${ctx.principal} IDEMPOTENT_WRITE on the cluster`;
    case 'MESSAGE_TOO_LARGE':
    case 'RECORD_LIST_TOO_LARGE':
      return `the broker refused a record batch as too large (${apiId}): lower the sink's batch size (spans per batch), or raise max.message.bytes of topic "${ctx.topic}"`;
    case 'INVALID_TOPIC_EXCEPTION':
      return `topic "${ctx.topic}" cannot be written (an internal or invalid topic): fix kafka.topic`;
    case 'UNSUPPORTED_COMPRESSION_TYPE':
      return 'the broker does not accept this compression (zstd needs Kafka >= 2.1): set kafka.compression to gzip';
    case 'UNSUPPORTED_SASL_MECHANISM':
      return `the broker does not enable ${ctx.sasl?.mechanism ?? 'this SASL mechanism'} on this listener: set kafka.sasl.mechanism to one in its sasl.enabled.mechanisms`;
    case 'POLICY_VIOLATION':
    case 'INVALID_RECORD':
    case 'INVALID_REQUIRED_ACKS':
      return `the broker refused the records (${apiId}): check the topic's configuration (a broker-side policy)`;
    default:
      return undefined;
  }
}

/** Every error in the tree, depth first: the error, its collected attempts, its causes. */
function* errorTree(err: unknown, seen = new Set<unknown>()): Generator<LibraryError> {
  if (err === null || typeof err !== 'object' || seen.has(err) || seen.size > 64) return;
  seen.add(err);
  const e = err as LibraryError;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* errorTree(inner, seen);
  yield* errorTree(e.cause, seen);
}

/** The most telling message of the tree: the deepest one, which names what actually happened. */
function innermostMessage(err: unknown): string {
  let message = (err as LibraryError | undefined)?.message ?? String(err);
  for (const e of errorTree(err)) if (e.message) message = e.message;
  return message;
}

export function classifyKafkaError(err: unknown, ctx: KafkaFailureContext): KafkaFailure {
  const all = [...errorTree(err)];
  const decided = (outcome: SendOutcome): KafkaFailure => ({ kind: 'decided', outcome });

  // Credentials first: a refused login also shows up as a failed connection.
  if (all.some((e) => e.code === AUTHENTICATION || e.apiId === 'SASL_AUTHENTICATION_FAILED')) {
    const server = all.find((e) => e.serverErrorMessage)?.serverErrorMessage;
    const who = ctx.sasl ? `the ${ctx.sasl.mechanism} login of user "${ctx.sasl.username}"` : 'our login';
    return decided({ kind: 'permanent', reason: `authentication failed: the broker refused ${who}${server ? ` (${server})` : ''}: check kafka.sasl.username and the password in kafka.sasl.passwordFile, and that the user exists for this mechanism on the broker` });
  }
  for (const e of all) {
    const fix = e.apiId ? permanentFix(e.apiId, ctx) : undefined;
    if (fix) return decided({ kind: 'permanent', reason: fix });
  }
  // Metadata says the topic does not exist (the library turns that into a UserError once it stops retrying).
  if (all.some((e) => e.code === USER && /^Unknown topic /.test(e.message ?? ''))) return decided(topicMissing(ctx));
  const apiIds = [...new Set(all.map((e) => e.apiId).filter((id): id is string => typeof id === 'string'))];
  if (apiIds.length > 0) {
    // Leader moves, not enough in-sync replicas, fenced or reset producer state: the
    // next attempt (a fresh producer id if need be) can succeed.
    return decided({ kind: 'retryable', reason: `the broker answered ${apiIds.join(', ')}` });
  }
  // The library's TimeoutError carries the network error code: only its class tells it apart.
  if (all.some((e) => e instanceof TimeoutError)) {
    return decided({ kind: 'retryable', reason: `timed out: ${innermostMessage(err)}` });
  }
  // A UserError from the library, other than the TLS one below, is a request it will never send.
  const userError = all.find((e) => e.code === USER && !/TLS handshake failed/.test(e.message ?? '') && !/Client closed/.test(e.message ?? ''));
  if (userError && !all.some((e) => e.code === NETWORK)) {
    return decided({ kind: 'permanent', reason: `the Kafka client refused the request: ${userError.message}` });
  }
  if (all.some((e) => e.code === NETWORK || e.code === USER)) {
    return { kind: 'connection', detail: innermostMessage(err) };
  }
  return decided({ kind: 'retryable', reason: `produce failed: ${innermostMessage(err)}` });
}

/**
 * Whether a failed metadata request says the topic does not exist. The
 * library retries that like a leader election (the same error code), so
 * the caller decides when it has waited long enough for a topic just made.
 */
export function saysTopicMissing(err: unknown): boolean {
  for (const e of errorTree(err)) if (e.apiId === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
  return false;
}

export function topicMissing(ctx: KafkaFailureContext): SendOutcome {
  return { kind: 'permanent', reason: `topic "${ctx.topic}" does not exist on the cluster: create it, or fix kafka.topic (the sensor does not create topics)` };
}

/** The outcome of a connection-level failure, once the TLS probe has looked at the first broker. */
export function outcomeOfTlsProbe(probe: TlsProbeResult, detail: string, ctx: KafkaFailureContext): SendOutcome {
  if (probe.ok) {
    return { kind: 'retryable', reason: `lost the connection to the brokers (${detail}); a TLS handshake with the first broker succeeds` };
  }
  switch (probe.kind) {
    case 'unreachable':
    case 'timeout':
    case 'handshakeFailed':
    // Without an alert it may be a broker going down: only an alert is proof enough to drop spans.
    case 'closedAfterHandshake':
      return { kind: 'retryable', reason: probe.message };
    case 'untrustedServer':
      return {
        kind: 'permanent',
        reason: probe.code === 'CERT_HAS_EXPIRED' || probe.code === 'CERT_NOT_YET_VALID'
          ? `TLS: ${probe.message}: the broker's certificate must be renewed (or the clocks fixed)`
          : `TLS: the broker's certificate is not signed by ${ctx.caSource} (${probe.message}): give the CA that issued the brokers' certificates`,
      };
    case 'nameMismatch':
      return { kind: 'permanent', reason: `TLS: ${probe.message}: list the brokers in kafka.brokers by a name or address their certificates carry (subjectAltName)` };
    case 'clientRejected':
      return {
        kind: 'permanent',
        reason: ctx.certSource === undefined
          ? `TLS: ${probe.message}: this listener requires mutual TLS: set kafka.certFile and kafka.keyFile, or point kafka.brokers at the SASL_SSL listener`
          : `TLS: the broker refused our client certificate from ${ctx.certSource} (${probe.message}): have it issued by a CA in the broker's ssl.truststore, or add its CA there`,
      };
    case 'notTls':
      return { kind: 'permanent', reason: `TLS: ${probe.message}: point kafka.brokers at the broker's SSL or SASL_SSL listener` };
  }
}
