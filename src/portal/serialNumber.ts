/**
 * Certificate serial numbers: 16 random bytes, about 127 random bits
 * (CA/Browser Forum asks for at least 64), positive and without a leading
 * zero byte, so that the hex the portal stores is the hex every tool
 * prints (Node's X509Certificate, `openssl x509 -serial`, a CRL's
 * entries): 32 digits, stored uppercase.
 */
import { randomBytes } from 'node:crypto';

export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  // First byte 0x01..0x7f: the sign bit clear (DER INTEGERs are signed) and
  // never zero (DER would drop it, and the hex would change length).
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex').toUpperCase();
}
