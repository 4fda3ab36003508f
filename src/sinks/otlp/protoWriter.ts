/**
 * A protobuf writer for the few wire types OTLP traces use, into one
 * growing buffer. Length-delimited fields are written in place: one byte is
 * reserved for the length and, in the rare case the content needs more,
 * the content is moved right once. That avoids both a sizing pass and a
 * buffer per nested message, which is where a general encoder spends its
 * time on span-sized messages.
 */

/** Hex digit values by character code (ids are lowercase hex; other characters read as 0). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export class ProtoWriter {
  private buf: Buffer;
  pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private rawVarint(n: number): void {
    // n is a non-negative integer below 2^53.
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  uint(field: number, n: number): void {
    this.ensure(16);
    this.tag(field, WIRE_VARINT);
    this.rawVarint(n);
  }

  /** int64: negative values take ten bytes (two's complement), as protobuf says. */
  int64(field: number, n: number): void {
    this.ensure(16);
    this.tag(field, WIRE_VARINT);
    if (n >= 0) {
      this.rawVarint(n);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  bool(field: number, b: boolean): void {
    this.uint(field, b ? 1 : 0);
  }

  double(field: number, n: number): void {
    this.ensure(16);
    this.tag(field, WIRE_FIXED64);
    this.pos = this.buf.writeDoubleLE(n, this.pos);
  }

  fixed64(field: number, n: bigint): void {
    this.ensure(16);
    this.tag(field, WIRE_FIXED64);
    // Two 32-bit halves: cheaper than writeBigUInt64LE's range checks on a hot path.
    const lo = Number(BigInt.asUintN(32, n));
    const hi = Number(BigInt.asUintN(32, n >> 32n));
    const b = this.buf;
    let p = this.pos;
    b[p++] = lo; b[p++] = lo >>> 8; b[p++] = lo >>> 16; b[p++] = lo >>> 24;
    b[p++] = hi; b[p++] = hi >>> 8; b[p++] = hi >>> 16; b[p++] = hi >>> 24;
    this.pos = p;
  }

  fixed32(field: number, n: number): void {
    this.ensure(16);
    this.tag(field, WIRE_FIXED32);
    this.pos = this.buf.writeUInt32LE(n >>> 0, this.pos);
  }

  string(field: number, s: string): void {
    // Three UTF-8 bytes per UTF-16 unit at most: short strings take a one-byte length without measuring.
    const max = s.length * 3;
    this.ensure(max + 16);
    this.tag(field, WIRE_LEN);
    if (max < 128) {
      const at = this.pos++;
      const n = this.shortString(s);
      this.buf[at] = n;
      this.pos += n;
    } else {
      const n = Buffer.byteLength(s, 'utf8');
      this.rawVarint(n);
      this.pos += this.buf.write(s, this.pos, 'utf8');
    }
  }

  /**
   * Writes a short string at pos and returns its byte length. Attribute keys
   * and most values are short ASCII; a JavaScript loop beats a call into
   * the runtime for them, and anything else goes through the UTF-8 encoder.
   */
  private shortString(s: string): number {
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return buf.write(s, at, 'utf8');
      buf[at + i] = c;
    }
    return s.length;
  }

  /** Bytes already encoded (a cached field), copied as they are. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Bytes given as lowercase hex (trace and span ids). */
  hexBytes(field: number, hex: string): void {
    const n = hex.length >>> 1;
    this.ensure(n + 16);
    this.tag(field, WIRE_LEN);
    this.rawVarint(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < hex.length; i += 2) b[p++] = (HEX[hex.charCodeAt(i)]! << 4) | HEX[hex.charCodeAt(i + 1)]!;
    this.pos = p;
  }

  /** Already-encoded message bytes as a length-delimited field. */
  bytes(field: number, b: Uint8Array): void {
    this.ensure(b.length + 16);
    this.tag(field, WIRE_LEN);
    this.rawVarint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a nested message; returns the mark end() needs. */
  begin(field: number): number {
    this.ensure(16);
    this.tag(field, WIRE_LEN);
    return this.pos++;
  }

  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 128) {
      this.buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let v = len; v >= 128; v = Math.floor(v / 128)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    const end = this.pos + extra;
    this.pos = mark;
    this.rawVarint(len);
    this.pos = end;
  }

  /** A copy of what was written; the writer can then be reset and reused. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  reset(): void {
    this.pos = 0;
  }
}
