/**
 * Decrypts one TLS connection of a replayed capture with keys from an NSS
 * key log, the way Wireshark does: both directions' ciphertext streams in,
 * application-data plaintext out. Never throws on what the wire holds: a
 * problem stops a direction (or the connection) and says why in `reason`.
 *
 * The two directions depend on each other only through the hellos (the
 * client random, the server's version and suite). A record that needs what
 * the other direction has not delivered yet waits in a bounded queue, so
 * callers may push directions in any interleaving, capture order being best.
 */
import { cipherSuite, suiteHex } from './cipherSuites.ts';
import type { CipherSuite } from './cipherSuites.ts';
import { HandshakeReader, HandshakeType, parseClientHello, parseServerHello } from './handshake.ts';
import type { ClientHello, ServerHello } from './handshake.ts';
import { HASH_LENGTH } from './keySchedule.ts';
import type { KeyLog, KeyLogLabel } from './keyLog.ts';
import { Tls13Decrypter, tls12Decrypters } from './recordCipher.ts';
import type { RecordDecrypter } from './recordCipher.ts';
import { ContentType, RecordFramer } from './recordFramer.ts';
import type { TlsRecord } from './recordFramer.ts';

export type TlsDirection = 'client' | 'server';

export interface PlaintextChunk {
  from: TlsDirection;
  bytes: Uint8Array;
  /** Timestamp of the ciphertext chunk that completed the record. */
  tsNs: bigint;
}

export type TlsDecryptorState = 'handshake' | 'decrypting' | 'no-keys' | 'unsupported' | 'failed';

export interface TlsDecryptorStats {
  /** Records decrypted and authenticated (handshake, alerts and application data). */
  records: number;
  /** Application-data plaintext bytes returned. */
  decryptedBytes: number;
  /** Records that failed authentication (each stops its direction). */
  failedRecords: number;
  /** TLS 1.3 0-RTT records skipped (no early secret used), as a server that rejects early data would. */
  skippedRecords: number;
  /** TLS 1.3 KeyUpdates followed (both directions). */
  keyUpdates: number;
}

/** Records waiting for the other direction's hello, per direction. */
const MAX_PENDING_BYTES = 1 << 20;
const MAX_PENDING_RECORDS = 4096;

const TLS12 = 0x0303;
const TLS13 = 0x0304;
const ALERT_CLOSE_NOTIFY = 0;
const ALERT_LEVEL_FATAL = 2;

type Epoch = 'plaintext' | 'handshake' | 'application';
type Step = 'done' | 'blocked';

interface Direction {
  readonly name: TlsDirection;
  readonly framer: RecordFramer;
  readonly handshake: HandshakeReader;
  /** Framed records not yet processed: more than one only while waiting for the other direction. */
  readonly pending: TlsRecord[];
  pendingBytes: number;
  /** Records framed so far (1-based index of the current record in reasons). */
  framed: number;
  epoch: Epoch;
  decrypter: RecordDecrypter | undefined;
  /** Records authenticated in the current key epoch. */
  epochRecords: number;
  /** Client: ClientHellos seen. */
  hellos: number;
  /** Why the direction yields nothing more. */
  stopped: string | undefined;
}

interface Tls13Secrets {
  readonly suite: CipherSuite;
  readonly clientHandshake: Uint8Array;
  readonly serverHandshake: Uint8Array;
  readonly clientApplication: Uint8Array;
  readonly serverApplication: Uint8Array;
}

function newDirection(name: TlsDirection): Direction {
  return {
    name,
    framer: new RecordFramer(),
    handshake: new HandshakeReader([HandshakeType.clientHello, HandshakeType.serverHello, HandshakeType.keyUpdate]),
    pending: [],
    pendingBytes: 0,
    framed: 0,
    epoch: 'plaintext',
    decrypter: undefined,
    epochRecords: 0,
    hellos: 0,
    stopped: undefined,
  };
}

export class TlsDecryptor {
  readonly #keylog: KeyLog;
  readonly #client = newDirection('client');
  readonly #server = newDirection('server');
  #clientHello: ClientHello | undefined;
  readonly #serverHellos: ServerHello[] = [];
  #tls12: { client: RecordDecrypter; server: RecordDecrypter } | undefined;
  #tls13: Tls13Secrets | undefined;
  /** Set when keys can never be derived (no key, unsupported, unusable secret). */
  #keysUnavailable = false;
  #state: TlsDecryptorState = 'handshake';
  #reason: string | undefined;
  readonly #stats: TlsDecryptorStats = { records: 0, decryptedBytes: 0, failedRecords: 0, skippedRecords: 0, keyUpdates: 0 };

  constructor(keylog: KeyLog) {
    this.#keylog = keylog;
  }

  /** 'handshake' until keys are derived, then 'decrypting'; the others are final (first cause wins). */
  get state(): TlsDecryptorState {
    return this.#state;
  }

  /** Why the state is what it is, or why a direction stopped (close_notify, alert); undefined while all is well. */
  get reason(): string | undefined {
    return this.#reason;
  }

  get stats(): Readonly<TlsDecryptorStats> {
    return this.#stats;
  }

  /** The negotiated cipher suite's name, once the ServerHello is seen and supported. */
  get cipherSuite(): string | undefined {
    const hello = this.#serverHellos.at(-1);
    return hello === undefined || hello.helloRetryRequest ? undefined : cipherSuite(hello.cipherSuite)?.name;
  }

  /**
   * Ciphertext stream bytes of one direction, in order (any chunking: records
   * span chunks). Returns the application-data plaintext now available, of
   * either direction (a record may have waited for the other one's hello).
   */
  push(from: TlsDirection, bytes: Uint8Array, tsNs: bigint): PlaintextChunk[] {
    const dir = this.#dir(from);
    const out: PlaintextChunk[] = [];
    if (dir.stopped !== undefined) return out;
    for (const record of dir.framer.push(bytes, tsNs)) {
      dir.pending.push(record);
      dir.pendingBytes += record.header.length + record.fragment.length;
    }
    if (dir.framer.malformed !== undefined) {
      this.#fail(dir, `${from} stream is not TLS: ${dir.framer.malformed}`);
    }
    this.#pump(out);
    if (dir.stopped === undefined && (dir.pendingBytes > MAX_PENDING_BYTES || dir.pending.length > MAX_PENDING_RECORDS)) {
      const other = from === 'client' ? 'server' : 'client';
      this.#fail(dir, `over ${MAX_PENDING_BYTES} bytes or ${MAX_PENDING_RECORDS} ${from} records waiting for the ${other}'s hello`);
    }
    return out;
  }

  /** `length` bytes of that direction are missing: record framing is lost; that direction stops. */
  gap(from: TlsDirection, length: number): void {
    const dir = this.#dir(from);
    if (dir.stopped !== undefined) return;
    dir.framer.reset();
    dir.pending.length = 0;
    dir.pendingBytes = 0;
    this.#fail(dir, `gap of ${length} bytes in the ${from} stream after record ${dir.framed}: record framing lost`);
  }

  #dir(from: TlsDirection): Direction {
    return from === 'client' ? this.#client : this.#server;
  }

  /** Processes queued records of both directions until neither can advance. */
  #pump(out: PlaintextChunk[]): void {
    for (let progress = true; progress;) {
      progress = false;
      for (const dir of [this.#client, this.#server]) {
        let done = 0;
        for (const record of dir.pending) {
          if (dir.stopped !== undefined || this.#record(dir, record, out) === 'blocked') break;
          dir.pendingBytes -= record.header.length + record.fragment.length;
          done++;
        }
        if (done > 0) {
          dir.pending.splice(0, done);
          progress = true;
        }
        if (dir.stopped !== undefined) {
          dir.pending.length = 0;
          dir.pendingBytes = 0;
        }
      }
    }
  }

  #record(dir: Direction, record: TlsRecord, out: PlaintextChunk[]): Step {
    if (dir.epoch === 'plaintext') {
      const before = this.#beforePlaintext(dir);
      if (before === 'blocked') return 'blocked';
      if (dir.stopped !== undefined) return 'done';
    }
    dir.framed++;
    if (dir.epoch !== 'plaintext') {
      this.#protectedRecord(dir, record, out);
      return 'done';
    }
    const step = this.#plaintextRecord(dir, record);
    if (step === 'blocked') dir.framed--;
    return step;
  }

  /**
   * Before a plaintext-epoch record: wait for what the other direction must
   * tell first, and switch to TLS 1.3 handshake keys once the hellos say so.
   */
  #beforePlaintext(dir: Direction): Step {
    const serverHello = this.#serverHellos.at(-1);
    if (dir.name === 'client') {
      if (dir.hellos === 0) return 'done';
      // After each ClientHello: is the answer a HelloRetryRequest, TLS 1.2 or 1.3?
      const answer = this.#serverHellos[dir.hellos - 1];
      if (answer === undefined) return 'blocked';
      if (answer.helloRetryRequest || answer.version !== TLS13) return 'done';
    } else if (serverHello === undefined || serverHello.helloRetryRequest || serverHello.version !== TLS13) {
      return 'done';
    }
    // TLS 1.3 after the (real) ServerHello: everything but CCS and alerts is protected.
    const keys = this.#deriveKeys();
    if (keys === 'blocked') return 'blocked';
    if (keys === 'done' && this.#tls13 !== undefined) {
      const secret = dir.name === 'client' ? this.#tls13.clientHandshake : this.#tls13.serverHandshake;
      this.#setEpoch(dir, 'handshake', new Tls13Decrypter(this.#tls13.suite, secret));
    }
    return 'done';
  }

  #plaintextRecord(dir: Direction, record: TlsRecord): Step {
    const firstClientRecord = dir.name === 'client' && dir.hellos === 0;
    const noClientHello = 'client stream does not start with a ClientHello (connection began before the capture?)';
    // A ClientHello may span records (large post-quantum key shares), so only its first byte is checked here.
    if (firstClientRecord && dir.framed === 1
      && (record.type !== ContentType.handshake || record.fragment[0] !== HandshakeType.clientHello)) {
      this.#fail(dir, noClientHello);
      return 'done';
    }
    switch (record.type) {
      case ContentType.handshake:
        this.#handshakeBytes(dir, record.fragment, false);
        return 'done';
      case ContentType.changeCipherSpec: {
        const hello = this.#serverHellos.at(-1);
        if (hello === undefined || hello.version === TLS13) return 'done'; // TLS 1.3 middlebox compatibility: ignored
        const keys = this.#deriveKeys();
        if (keys === 'blocked') return 'blocked'; // the server's CCS before we saw the ClientHello
        if (keys === 'done' && this.#tls12 !== undefined) {
          this.#setEpoch(dir, 'application', dir.name === 'client' ? this.#tls12.client : this.#tls12.server);
        }
        return 'done';
      }
      case ContentType.alert:
        this.#alert(dir, record.fragment);
        return 'done';
      case ContentType.heartbeat:
        return 'done';
      default:
        this.#fail(dir, `${dir.name} sent application data before any keys were negotiated`);
        return 'done';
    }
  }

  #protectedRecord(dir: Direction, record: TlsRecord, out: PlaintextChunk[]): void {
    const tls13 = this.#tls13 !== undefined;
    if (tls13 && record.type !== ContentType.applicationData) {
      // TLS 1.3 protects everything as application_data; CCS is compatibility noise,
      // a plaintext alert means the peer could not read the handshake.
      if (record.type === ContentType.alert) this.#alert(dir, record.fragment);
      else if (record.type === ContentType.handshake) this.#fail(dir, `${dir.name} sent a plaintext handshake record after keys were negotiated`);
      return;
    }
    const result = dir.decrypter!.decrypt(record.header, record.fragment);
    if (!result.ok) {
      const clientHello = this.#clientHello;
      if (tls13 && dir.name === 'client' && dir.epoch === 'handshake' && dir.epochRecords === 0 && clientHello?.offersEarlyData) {
        this.#stats.skippedRecords++; // 0-RTT data under the early secret, which we do not use
        return;
      }
      this.#stats.failedRecords++;
      this.#fail(dir, `${result.why} at ${dir.name} record ${dir.framed} (${dir.epoch} keys, record ${dir.epochRecords} of that epoch)`);
      return;
    }
    this.#stats.records++;
    dir.epochRecords++;
    switch (result.type) {
      case ContentType.applicationData:
        if (result.plaintext.length > 0) {
          out.push({ from: dir.name, bytes: result.plaintext, tsNs: record.tsNs });
          this.#stats.decryptedBytes += result.plaintext.length;
        }
        return;
      case ContentType.handshake:
        this.#handshakeBytes(dir, result.plaintext, true);
        return;
      case ContentType.alert:
        this.#alert(dir, result.plaintext);
        return;
      case ContentType.changeCipherSpec:
        if (!tls13) this.#unsupported(`renegotiation (a second ChangeCipherSpec from the ${dir.name})`);
        return;
      default:
        return;
    }
  }

  #handshakeBytes(dir: Direction, bytes: Uint8Array, isProtected: boolean): void {
    let next: { epoch: Epoch; decrypter: RecordDecrypter } | undefined;
    for (const message of dir.handshake.push(bytes)) {
      if (message.type === HandshakeType.clientHello && dir.name === 'client' && !isProtected) {
        const hello = parseClientHello(message.body!);
        if (hello === undefined) return this.#fail(dir, 'malformed ClientHello');
        // A second ClientHello (after a HelloRetryRequest) keeps the same random.
        this.#clientHello ??= hello;
        dir.hellos++;
      } else if (message.type === HandshakeType.serverHello && dir.name === 'server' && !isProtected) {
        this.#serverHello(dir, message.body!);
      } else if (message.type === HandshakeType.finished && this.#tls13 !== undefined && dir.epoch === 'handshake') {
        const secret = dir.name === 'client' ? this.#tls13.clientApplication : this.#tls13.serverApplication;
        next = { epoch: 'application', decrypter: new Tls13Decrypter(this.#tls13.suite, secret) };
      } else if (message.type === HandshakeType.keyUpdate && dir.decrypter instanceof Tls13Decrypter && dir.epoch === 'application') {
        // The sender's keys change after this record; the peer's own update follows in its direction.
        this.#stats.keyUpdates++;
        next = { epoch: 'application', decrypter: (next?.decrypter as Tls13Decrypter | undefined ?? dir.decrypter).next() };
      } else if ((message.type === HandshakeType.clientHello || message.type === HandshakeType.serverHello) && isProtected) {
        return this.#unsupported(`renegotiation (an encrypted ${message.type === 1 ? 'ClientHello' : 'ServerHello'})`);
      }
      if (dir.stopped !== undefined) return;
    }
    if (dir.handshake.malformed !== undefined) return this.#fail(dir, `${dir.name} ${dir.handshake.malformed}`);
    if (next !== undefined) this.#setEpoch(dir, next.epoch, next.decrypter);
  }

  #serverHello(dir: Direction, body: Uint8Array): void {
    const hello = parseServerHello(body);
    if (hello === undefined) return this.#fail(dir, 'malformed ServerHello');
    this.#serverHellos.push(hello);
    if (hello.version !== TLS12 && hello.version !== TLS13) {
      const name = hello.version === 0x0300 ? 'SSL 3.0' : hello.version === 0x0301 ? 'TLS 1.0' : hello.version === 0x0302 ? 'TLS 1.1' : `version ${suiteHex(hello.version)}`;
      return this.#unsupported(`${name} not supported`);
    }
    if (hello.helloRetryRequest) return;
    const suite = cipherSuite(hello.cipherSuite);
    if (suite === undefined) return this.#unsupported(`cipher suite ${suiteHex(hello.cipherSuite)} not supported`);
    if (suite.tls13 !== (hello.version === TLS13)) {
      return this.#fail(dir, `cipher suite ${suite.name} negotiated with TLS ${hello.version === TLS13 ? '1.3' : '1.2'}`);
    }
  }

  /** Derives both directions' keys once both hellos are known; 'stopped' if that is impossible. */
  #deriveKeys(): Step | 'stopped' {
    if (this.#tls12 !== undefined || this.#tls13 !== undefined) return 'done';
    if (this.#keysUnavailable) return 'stopped';
    const clientHello = this.#clientHello;
    const serverHello = this.#serverHellos.at(-1);
    if (clientHello === undefined || serverHello === undefined) return 'blocked';
    const suite = cipherSuite(serverHello.cipherSuite);
    if (suite === undefined) return 'stopped'; // already reported
    const random = Buffer.from(clientHello.random).toString('hex');
    const lookup = (label: KeyLogLabel): Uint8Array | undefined => this.#keylog.get(label, random);
    if (serverHello.version === TLS12) {
      const master = lookup('CLIENT_RANDOM');
      if (master === undefined) return this.#noKeys(`no key for client random ${random}`);
      // With extended_master_secret the logged secret is still the master secret: nothing changes here.
      this.#tls12 = tls12Decrypters(suite, master, clientHello.random, serverHello.random, serverHello.encryptThenMac);
    } else {
      const labels: KeyLogLabel[] = ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0'];
      const secrets = labels.map(lookup);
      const missing = labels.filter((_, i) => secrets[i] === undefined);
      if (missing.length === labels.length) return this.#noKeys(`no key for client random ${random}`);
      if (missing.length > 0) return this.#noKeys(`key log lacks ${missing.join(', ')} for client random ${random}`);
      const [ch, sh, ca, sa] = secrets as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      if ([ch, sh, ca, sa].some((s) => s.length !== HASH_LENGTH[suite.hash])) {
        this.#failConnection(`key log secrets for client random ${random} do not fit ${suite.name}`);
        return 'stopped';
      }
      this.#tls13 = { suite, clientHandshake: ch, serverHandshake: sh, clientApplication: ca, serverApplication: sa };
    }
    if (this.#state === 'handshake') this.#state = 'decrypting';
    return 'done';
  }

  #setEpoch(dir: Direction, epoch: Epoch, decrypter: RecordDecrypter): void {
    dir.epoch = epoch;
    dir.decrypter = decrypter;
    dir.epochRecords = 0;
  }

  #alert(dir: Direction, fragment: Uint8Array): void {
    if (fragment.length < 2) return this.#fail(dir, `${dir.name} sent a truncated alert`);
    const level = fragment[0]!;
    const description = fragment[1]!;
    if (description === ALERT_CLOSE_NOTIFY) return this.#stop(dir, `${dir.name} sent close_notify`, true);
    if (level === ALERT_LEVEL_FATAL) return this.#stop(dir, `${dir.name} sent fatal alert ${description}`, true);
  }

  /** The direction yields nothing more; `note` records a normal end (close_notify, an alert) if nothing worse was said. */
  #stop(dir: Direction, why: string, note = false): void {
    dir.stopped ??= why;
    if (note) this.#reason ??= why;
  }

  /** One direction can no longer be decrypted: state 'failed'; the other direction carries on. */
  #fail(dir: Direction, why: string): void {
    this.#stop(dir, why);
    this.#terminal('failed', why);
  }

  #failConnection(why: string): void {
    this.#keysUnavailable = true;
    this.#stop(this.#client, why);
    this.#stop(this.#server, why);
    this.#terminal('failed', why);
  }

  #noKeys(why: string): 'stopped' {
    this.#keysUnavailable = true;
    this.#stop(this.#client, why);
    this.#stop(this.#server, why);
    this.#terminal('no-keys', why);
    return 'stopped';
  }

  #unsupported(why: string): void {
    this.#keysUnavailable = true;
    this.#stop(this.#client, why);
    this.#stop(this.#server, why);
    this.#terminal('unsupported', why);
  }

  #terminal(state: TlsDecryptorState, why: string): void {
    if (this.#state === 'handshake' || this.#state === 'decrypting') {
      this.#state = state;
      this.#reason = why;
    }
  }
}
