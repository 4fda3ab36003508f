/**
 * The grpc-timeout request header (PROTOCOL-HTTP2.md): at most 8 ASCII
 * digits and a unit, H M S m u n. Returns nanoseconds, or undefined when
 * the value is not of that form.
 */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  H: 3_600_000_000_000n,
  M: 60_000_000_000n,
  S: 1_000_000_000n,
  m: 1_000_000n,
  u: 1_000n,
  n: 1n,
};

export function parseGrpcTimeout(value: string): bigint | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return BigInt(m[1]!) * UNIT_NS[m[2]!]!;
}
