/**
 * `hydrophone <command>`: the CLI contract of ARCHITECTURE.md. Errors reach
 * the user as one line saying what to do, never as a stack trace (set
 * HYDROPHONE_DEBUG=1 for one).
 */
import { captureCommand } from './capture.ts';
import { doctorCommand } from './doctor.ts';
import { runCommand } from './run.ts';
import { replayCommand } from './replay.ts';
import { benchCommand } from './bench.ts';
import { UsageError } from './usageError.ts';

const USAGE = `usage: hydrophone <command> [options]

commands:
  capture   live TCP connections and the bytes every process moves (root)
  doctor    what this kernel allows and which attachment the sensor would use
  run       spans from live traffic, as JSON Lines (root)
  replay    spans from a pcap, pcapng or recording, as JSON Lines
  bench     captures through the pipeline: throughput, memory, agreement with tshark
  portal    the manifest portal: registers sensors, issues their certificates,
            serves each cluster's manifest once (HTTPS)

'hydrophone <command> --help' describes a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'capture':
      return captureCommand(rest);
    case 'doctor':
      return doctorCommand(rest);
    case 'run':
      return runCommand(rest);
    case 'replay':
      return replayCommand(rest);
    case 'bench':
      return benchCommand(rest);
    case 'portal':
      // Loaded only here: the sensor's own commands need none of the portal's certificate code.
      return (await import('./portal.ts')).portalCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { message?: string; code?: string; stack?: string };
    if (process.env.HYDROPHONE_DEBUG) process.stderr.write(`${e.stack ?? String(err)}\n`);
    process.stderr.write(`hydrophone: ${e.message ?? String(err)}${e.code && !(err instanceof UsageError) ? ` [${e.code}]` : ''}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
