/**
 * Streams the events of a recording, a batch at a time, without holding
 * the file in memory. A bad line stops the read with an error naming the
 * file and line; the events before it have already been delivered.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SensorEvent } from '../source/events.ts';
import { fromJsonEvent, type JsonEvent } from './jsonEvent.ts';
import { RECORDING_FORMAT, RECORDING_VERSION, type RecordingHeader } from './recordingFormat.ts';

export class RecordingError extends Error {
  readonly code = 'HP_RECORDING_INVALID';
}

function parseHeader(file: string, line: string | undefined): RecordingHeader {
  let h: Partial<RecordingHeader>;
  try {
    h = JSON.parse(line ?? '') as Partial<RecordingHeader>;
  } catch {
    throw new RecordingError(`${file}: line 1 is not a recording header: not JSON (is this a recording made by 'hydrophone capture --out'?)`);
  }
  if (h === null || typeof h !== 'object' || Array.isArray(h)) {
    throw new RecordingError(`${file}: line 1 is not a recording header: JSON, but not an object (is this a recording made by 'hydrophone capture --out'?)`);
  }
  if (h.format !== RECORDING_FORMAT) {
    throw new RecordingError(`${file}: line 1 is not a recording header (format ${JSON.stringify(h.format)}, expected "${RECORDING_FORMAT}")`);
  }
  if (h.version !== RECORDING_VERSION) {
    throw new RecordingError(`${file}: recording version ${h.version} is not supported by this build (it reads version ${RECORDING_VERSION})`);
  }
  return h as RecordingHeader;
}

export async function* readRecording(file: string, batchSize = 1024): AsyncGenerator<readonly SensorEvent[], RecordingHeader | undefined> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let header: RecordingHeader | undefined;
  let lineNo = 0;
  let batch: SensorEvent[] = [];
  for await (const line of lines) {
    lineNo++;
    if (lineNo === 1) {
      header = parseHeader(file, line);
      continue;
    }
    if (line.trim() === '') continue;
    try {
      batch.push(fromJsonEvent(JSON.parse(line) as JsonEvent));
    } catch (err) {
      if (batch.length) yield batch;
      throw new RecordingError(`${file}: line ${lineNo}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (lineNo === 0) throw new RecordingError(`${file}: empty file, not a recording`);
  if (batch.length) yield batch;
  return header;
}
