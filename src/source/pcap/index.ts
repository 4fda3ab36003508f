/**
 * The packet-capture source: pcap and pcapng files read as the same
 * connection and data events the live sensor emits, so `hydrophone replay
 * capture.pcap` and the bench feed the pipeline exactly as live traffic does.
 */
export { readCapture, isPacketCapture, PacketCaptureSource, type CaptureOptions, type CaptureStats } from './captureSource.ts';
export { CaptureError } from './captureError.ts';
export type { Perspective } from './tcpReassembler.ts';
export { readDecryptedCapture, readKeyLog, type DecryptedCaptureStats } from './decryptedCapture.ts';
export type { TlsStats } from './tlsLayer.ts';
