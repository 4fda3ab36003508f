/**
 * The daemon's log: JSON lines (pino) for a cluster's log pipeline, or
 * plain `hydrophone: ...` lines for a terminal; levels; and every repeated
 * line rate-limited with a count, so a broken backend or API server cannot
 * flood the node's logs. Lines are messages, never payloads or secrets.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';

export interface Logger {
  debug(line: string): void;
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  /** Lines suppressed by the rate limit so far. */
  readonly suppressed: number;
}

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level: LogLevel;
  /** The same line (digits ignored) at most once per interval; the next one says how many were held back. */
  readonly repeatIntervalMs?: number;
  /** Where lines go (default stderr); for tests. */
  readonly write?: (text: string) => void;
}

const LEVELS: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** Lines that differ only in their numbers are the same line for the rate limit. */
const shapeOf = (line: string) => line.replace(/\d+/g, '#');

const MAX_SHAPES = 1000;

export function createLogger(options: LoggerOptions): Logger {
  const interval = options.repeatIntervalMs ?? 60_000;
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  let base: PinoLogger | undefined;
  if (options.format === 'json') {
    base = pino(
      { level: options.level, base: { name: 'hydrophone', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
      { write },
    );
  }
  const emit = (level: LogLevel, line: string) => {
    if (LEVELS[level] < LEVELS[options.level]) return;
    if (base) base[level](line);
    else write(`hydrophone: ${level === 'info' ? '' : `${level}: `}${line}\n`);
  };
  const seen = new Map<string, { last: number; held: number }>();
  let suppressed = 0;
  const limited = (level: LogLevel) => (line: string) => {
    const shape = shapeOf(line);
    const now = performance.now();
    const s = seen.get(shape);
    if (s && now - s.last < interval) {
      s.held++;
      suppressed++;
      return;
    }
    if (seen.size >= MAX_SHAPES) seen.clear();
    seen.set(shape, { last: now, held: 0 });
    emit(level, s?.held ? `${line} (${s.held} more like it in the last ${Math.round((now - s.last) / 1000)} s)` : line);
  };
  return {
    debug: limited('debug'),
    info: limited('info'),
    warn: limited('warn'),
    error: limited('error'),
    get suppressed() {
      return suppressed;
    },
  };
}
