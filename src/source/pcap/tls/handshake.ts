/**
 * Handshake messages: a streaming reassembler (messages span records and
 * records hold several messages) and the few hello fields decryption needs.
 */

export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  finished: 20,
  keyUpdate: 24,
} as const;

/** SHA-256("HelloRetryRequest"): the ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

const EXT_ENCRYPT_THEN_MAC = 0x0016;
const EXT_EXTENDED_MASTER_SECRET = 0x0017;
const EXT_EARLY_DATA = 0x002a;
const EXT_SUPPORTED_VERSIONS = 0x002b;

/** Bodies we keep are hellos and KeyUpdate; a ClientHello is far below this. */
const MAX_KEPT_BODY = 1 << 17;

export interface HandshakeMessage {
  readonly type: number;
  /** Only for the types the reader was asked to keep. */
  readonly body: Uint8Array | undefined;
}

/** Reassembles handshake messages of one direction; skips the bodies of types it does not keep. */
export class HandshakeReader {
  readonly #keep: ReadonlySet<number>;
  #header = new Uint8Array(4);
  #headerFill = 0;
  #type = 0;
  #remaining = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  /** Set when a kept message claims more than we buffer. */
  malformed: string | undefined;

  constructor(keep: readonly number[]) {
    this.#keep = new Set(keep);
  }

  /** True between messages: a key change must fall on a message boundary. */
  get atBoundary(): boolean {
    return this.#headerFill === 0;
  }

  push(bytes: Uint8Array): HandshakeMessage[] {
    const out: HandshakeMessage[] = [];
    let at = 0;
    while (at < bytes.length && this.malformed === undefined) {
      if (this.#headerFill < 4) {
        const n = Math.min(4 - this.#headerFill, bytes.length - at);
        this.#header.set(bytes.subarray(at, at + n), this.#headerFill);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill < 4) break;
        this.#type = this.#header[0]!;
        this.#remaining = (this.#header[1]! << 16) | (this.#header[2]! << 8) | this.#header[3]!;
        this.#bodyFill = 0;
        if (this.#keep.has(this.#type)) {
          if (this.#remaining > MAX_KEPT_BODY) {
            this.malformed = `handshake message ${this.#type} claims ${this.#remaining} bytes`;
            break;
          }
          this.#body = new Uint8Array(this.#remaining);
        } else {
          this.#body = undefined;
        }
      }
      const n = Math.min(this.#remaining, bytes.length - at);
      if (this.#body !== undefined) this.#body.set(bytes.subarray(at, at + n), this.#bodyFill);
      this.#bodyFill += n;
      this.#remaining -= n;
      at += n;
      if (this.#remaining === 0) {
        out.push({ type: this.#type, body: this.#body });
        this.#headerFill = 0;
        this.#body = undefined;
      }
    }
    return out;
  }
}

/** Bounds-checked big-endian reader; every read past the end yields undefined. */
class Cursor {
  readonly #b: Uint8Array;
  #at = 0;

  constructor(b: Uint8Array) {
    this.#b = b;
  }

  get left(): number {
    return this.#b.length - this.#at;
  }

  bytes(n: number): Uint8Array | undefined {
    if (n > this.left) return undefined;
    return this.#b.subarray(this.#at, (this.#at += n));
  }

  uint(n: 1 | 2): number | undefined {
    const v = this.bytes(n);
    return v === undefined ? undefined : n === 1 ? v[0]! : (v[0]! << 8) | v[1]!;
  }

  /** A length-prefixed vector. */
  vector(lengthBytes: 1 | 2): Uint8Array | undefined {
    const n = this.uint(lengthBytes);
    return n === undefined ? undefined : this.bytes(n);
  }
}

/** Extension type -> data; undefined if the block is malformed. Absent block = no extensions. */
function readExtensions(c: Cursor): Map<number, Uint8Array> | undefined {
  const exts = new Map<number, Uint8Array>();
  if (c.left === 0) return exts;
  const block = c.vector(2);
  if (block === undefined) return undefined;
  const e = new Cursor(block);
  while (e.left > 0) {
    const type = e.uint(2);
    const data = e.vector(2);
    if (type === undefined || data === undefined) return undefined;
    exts.set(type, data);
  }
  return exts;
}

export interface ClientHello {
  readonly random: Uint8Array;
  /** TLS 1.3 0-RTT offered: records before the client's handshake keys may be early data. */
  readonly offersEarlyData: boolean;
}

export function parseClientHello(body: Uint8Array): ClientHello | undefined {
  const c = new Cursor(body);
  if (c.bytes(2) === undefined) return undefined; // legacy_version
  const random = c.bytes(32);
  if (random === undefined || c.vector(1) === undefined || c.vector(2) === undefined || c.vector(1) === undefined) return undefined;
  const exts = readExtensions(c);
  if (exts === undefined) return undefined;
  return { random: Uint8Array.from(random), offersEarlyData: exts.has(EXT_EARLY_DATA) };
}

export interface ServerHello {
  readonly random: Uint8Array;
  readonly cipherSuite: number;
  /** The negotiated version: supported_versions if present, else legacy_version (0x0303 = TLS 1.2). */
  readonly version: number;
  readonly helloRetryRequest: boolean;
  readonly extendedMasterSecret: boolean;
  readonly encryptThenMac: boolean;
}

export function parseServerHello(body: Uint8Array): ServerHello | undefined {
  const c = new Cursor(body);
  const legacyVersion = c.uint(2);
  const random = c.bytes(32);
  if (legacyVersion === undefined || random === undefined || c.vector(1) === undefined) return undefined;
  const cipherSuite = c.uint(2);
  if (cipherSuite === undefined || c.uint(1) === undefined) return undefined;
  const exts = readExtensions(c);
  if (exts === undefined) return undefined;
  const sv = exts.get(EXT_SUPPORTED_VERSIONS);
  if (sv !== undefined && sv.length !== 2) return undefined;
  return {
    random: Uint8Array.from(random),
    cipherSuite,
    version: sv === undefined ? legacyVersion : (sv[0]! << 8) | sv[1]!,
    helloRetryRequest: Buffer.from(random).equals(HRR_RANDOM),
    extendedMasterSecret: exts.has(EXT_EXTENDED_MASTER_SECRET),
    encryptThenMac: exts.has(EXT_ENCRYPT_THEN_MAC),
  };
}

/**
 * Whether a stream starts like a TLS ClientHello: a handshake record (22) of
 * version 3.x whose first message is a ClientHello (1). Needs 6 bytes.
 */
export function looksLikeTlsClientHello(firstBytes: Uint8Array): boolean {
  return firstBytes.length >= 6 && firstBytes[0] === 22 && firstBytes[1] === 3 && firstBytes[2]! <= 4
    && ((firstBytes[3]! << 8) | firstBytes[4]!) > 0 && firstBytes[5] === HandshakeType.clientHello;
}
