/**
 * TLS decryption for capture replay with an NSS key log (`--keylog FILE`):
 * TLS 1.2 (AES-GCM, ChaCha20-Poly1305, AES-CBC) and TLS 1.3.
 */
export { parseKeyLog } from './keyLog.ts';
export type { KeyLog, KeyLogLabel } from './keyLog.ts';
export { looksLikeTlsClientHello } from './handshake.ts';
export { TlsDecryptor } from './tlsDecryptor.ts';
export type { PlaintextChunk, TlsDecryptorState, TlsDecryptorStats, TlsDirection } from './tlsDecryptor.ts';
