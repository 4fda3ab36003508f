/**
 * A capture's events with TLS handled (TlsLayer): what replay and the
 * bench read. Without a key log, TLS connections are counted and skipped.
 */
import { readFileSync } from 'node:fs';
import type { SensorEvent } from '../events.ts';
import { readCapture, type CaptureOptions, type CaptureStats } from './captureSource.ts';
import { TlsLayer, type TlsStats } from './tlsLayer.ts';
import { parseKeyLog, type KeyLog } from './tls/index.ts';

export interface DecryptedCaptureStats {
  capture: CaptureStats;
  tls: TlsStats;
}

export function readKeyLog(file: string): KeyLog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw Object.assign(new Error(`--keylog ${file}: ${(err as Error).message}`), { code: 'HP_KEYLOG' });
  }
  return parseKeyLog(text);
}

export async function* readDecryptedCapture(
  file: string,
  options: CaptureOptions & { keylog?: KeyLog } = {},
): AsyncGenerator<readonly SensorEvent[], DecryptedCaptureStats> {
  const tls = new TlsLayer(options.keylog);
  const source = readCapture(file, options);
  for (;;) {
    const r = await source.next();
    if (r.done) {
      const rest = tls.finish();
      if (rest.length) yield rest;
      return { capture: r.value, tls: tls.stats };
    }
    const batch = tls.transform(r.value);
    if (batch.length) yield batch;
  }
}
