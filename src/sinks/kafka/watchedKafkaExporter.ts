/**
 * The Kafka exporter with its certificate and password files watched: when
 * they change and still check out, the next batch goes out on a producer
 * with the new credentials (rotation without restart); a half-written
 * rotation keeps the old ones and says so.
 */
import { createHash } from 'node:crypto';
import type { Span } from '../../spans/span.ts';
import type { BatchExporter, SendOutcome } from '../exporter.ts';
import { watchFiles, type FileWatch } from '../tls/fileWatch.ts';
import type { TlsProbeTarget } from '../tlsProbe.ts';
import { loadKafkaConfig, type KafkaConnection, type KafkaSinkConfig } from './kafkaConfig.ts';
import { KafkaExporter, type KafkaProducerTuning } from './kafkaExporter.ts';

function fingerprint(c: KafkaConnection): string {
  const h = createHash('sha256');
  for (const part of [c.tls.ca, c.tls.cert, c.tls.key, c.sasl?.password]) h.update(part ?? '').update('\0');
  return h.digest('hex');
}

export class WatchedKafkaExporter implements BatchExporter {
  readonly name = 'kafka';
  reloads = 0;
  failedReloads = 0;
  private readonly config: KafkaSinkConfig;
  private readonly log: (line: string) => void;
  private connection: KafkaConnection;
  private current: string;
  private readonly exporter: KafkaExporter;
  private readonly watch: FileWatch | undefined;

  /** Reads and checks every file now: a bad config fails here, at start. */
  constructor(config: KafkaSinkConfig, log: (line: string) => void, tuning: Partial<KafkaProducerTuning> = {}) {
    this.config = config;
    this.log = log;
    this.connection = loadKafkaConfig(config);
    this.current = fingerprint(this.connection);
    this.exporter = new KafkaExporter(this.connection, tuning);
    const files = [config.caFile, config.certFile, config.keyFile, config.sasl?.passwordFile].filter((f): f is string => f !== undefined);
    this.watch = files.length > 0 ? watchFiles(files, () => this.reload()) : undefined;
  }

  /** One line for the start-up log; no secrets. */
  describe(): string {
    const c = this.connection;
    const who = c.tls.cert ? 'mTLS' : 'TLS';
    const sasl = c.sasl ? `, ${c.sasl.mechanism} as ${c.sasl.username}` : '';
    return `Kafka topic ${c.topic} on ${c.brokers.map((b) => `${b.host}:${b.port}`).join(',')}, ${who}${sasl}, ${c.compression}`;
  }

  /** Where the start-up TLS check connects: the first broker, with the same material. */
  tlsTarget(): TlsProbeTarget {
    const c = this.connection;
    const b = c.brokers[0]!;
    return { host: b.host, port: b.port, ...(c.tls.ca ? { ca: c.tls.ca } : {}), ...(c.tls.cert ? { cert: c.tls.cert } : {}), ...(c.tls.key ? { key: c.tls.key } : {}) };
  }

  reload(): void {
    let next: KafkaConnection;
    try {
      next = loadKafkaConfig(this.config);
    } catch (err) {
      this.failedReloads++;
      this.log(`kafka: certificate reload failed, still using the previous credentials: ${(err as Error).message}`);
      return;
    }
    const f = fingerprint(next);
    if (f === this.current) return;
    this.current = f;
    this.connection = next;
    this.exporter.useConnection(next);
    this.reloads++;
    this.log(`kafka: credentials reloaded; ${this.describe()}`);
  }

  send(spans: readonly Span[], deadline: number): Promise<SendOutcome> {
    return this.exporter.send(spans, deadline);
  }

  async close(): Promise<void> {
    this.watch?.close();
    await this.exporter.close();
  }
}
