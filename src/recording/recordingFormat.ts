/**
 * A recording: events captured live, replayable later without privileges.
 * JSON Lines: a header line, then one event per line in the form of
 * jsonEvent.ts (the same lines `capture --json` prints). Text on purpose:
 * recordings double as golden files and diff well.
 *
 *   {"format":"hydrophone-recording","version":1,"abi":1,"createdAt":"...",...}
 *   {"type":"connect","ts":"...","pid":...}
 *
 * A reader accepts a file whose version it knows and rejects any other with
 * an error naming both versions.
 */
export const RECORDING_FORMAT = 'hydrophone-recording';
export const RECORDING_VERSION = 1;

export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  version: number;
  /** bpf/abi.h version of the sensor that captured it. */
  abi: number;
  createdAt: string;
  host: string;
  /** How the live sensor was attached and how much it captured. */
  attach?: string;
  captureBytes?: number;
}
