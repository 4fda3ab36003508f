/** Command-line options of a benchmark: a bad one is a message and exit 1, not a stack trace. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from './preflight.ts';

export function parseArgsOrExit<const T extends NonNullable<ParseArgsConfig['options']>>(bench: string, config: { options: T }) {
  try {
    return parseArgs({ options: config.options, strict: true, allowPositionals: false });
  } catch (err) {
    return fail(bench, (err as Error).message);
  }
}
