/**
 * Reads the top-level fields of a protobuf message, for the two small
 * messages the sink reads back (google.rpc.Status with its RetryInfo, and
 * ExportTraceServiceResponse's partial success). Throws on malformed input;
 * callers treat that as "no information".
 */

/** The top-level fields of a protobuf message: varints as numbers, length-delimited as bytes. */
export function* protoFields(buf: Uint8Array): Generator<[number, number | Uint8Array]> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
      if (mul > 2 ** 63) throw new Error('varint too long');
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0: yield [field, varint()]; break;
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw new Error('truncated field');
        yield [field, buf.subarray(pos, pos + len)];
        pos += len;
        break;
      }
      default: throw new Error(`wire type ${tag & 7} not expected`);
    }
  }
}
