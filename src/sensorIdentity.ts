/**
 * Who the sensor is, for the instrumentation scope of its spans and the
 * headers of its messages. The version is package.json's, read once.
 */
import { readFileSync } from 'node:fs';

export const SENSOR_NAME = 'hydrophone';

export const SENSOR_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
