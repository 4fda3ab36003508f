/**
 * `hydrophone capture`: live events (or a recording's, with --in) as
 * readable lines or JSON Lines, optionally written to a recording.
 */
import { parseArgs } from 'node:util';
import type { SensorEvent } from '../source/events.ts';
import { BpfSource } from '../source/bpf/bpfSource.ts';
import { ConnDirectory } from '../capture/connDirectory.ts';
import { formatText } from '../capture/textFormat.ts';
import { toJsonEvent } from '../recording/jsonEvent.ts';
import { RecordingWriter } from '../recording/recordingWriter.ts';
import { readRecording } from '../recording/recordingReader.ts';
import { LIVE_HELP, LIVE_OPTIONS, liveSourceOptions, untilStopped } from './liveOptions.ts';

const HELP = `usage: hydrophone capture [options]

Prints every TCP connection on this host and the bytes each process sends
and receives, as the BPF sensor sees them. Needs root (or CAP_BPF,
CAP_PERFMON, CAP_SYS_PTRACE). Stops on Ctrl-C, SIGTERM or --duration.

${LIVE_HELP}
  --json               JSON Lines instead of readable lines
  --out FILE           also write a recording to FILE (replayable unprivileged)
  --quiet              print nothing per event (with --out)
  --in FILE            print the events of a recording instead of capturing
  --procs              also print process exec/exit events`;

/** Stdout bytes waiting beyond which lines are dropped (and counted), not queued. */
const MAX_PENDING_OUTPUT = 64 * 1024 * 1024;

interface Printer {
  print(events: readonly SensorEvent[]): void;
  dropped: number;
}

function printer(json: boolean, quiet: boolean, procs: boolean): Printer {
  const conns = new ConnDirectory();
  const p: Printer = {
    dropped: 0,
    print(events) {
      let text = '';
      for (const ev of events) {
        conns.observe(ev);
        const conn = 'conn' in ev && ev.conn !== undefined ? conns.get(ev.conn) : undefined;
        const wanted = procs || (ev.type !== 'exec' && ev.type !== 'exit');
        if (!quiet && wanted) text += `${json ? JSON.stringify(toJsonEvent(ev, conn)) : formatText(ev, conn)}\n`;
        conns.forget(ev);
      }
      if (!text) return;
      // A slow reader of our stdout must not make the sensor's memory grow.
      if (process.stdout.writableLength > MAX_PENDING_OUTPUT) p.dropped += events.length;
      else process.stdout.write(text);
    },
  };
  return p;
}

export async function captureCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...LIVE_OPTIONS,
      json: { type: 'boolean' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      in: { type: 'string' },
      procs: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const out = printer(values.json ?? false, values.quiet ?? false, values.procs ?? false);
  if (values.in !== undefined) {
    for await (const batch of readRecording(values.in)) out.print(batch);
    return 0;
  }

  const { source: sourceOptions, durationS } = liveSourceOptions(values);
  const source = new BpfSource({ ...sourceOptions, log: (line) => process.stderr.write(`hydrophone: ${line}\n`) });
  process.stderr.write(`hydrophone: capturing with ${source.attachReason}\n`);
  process.stderr.write(`hydrophone: ${source.tls().summary}\n`);
  const recording = values.out ? new RecordingWriter(values.out, { attach: source.attach, captureBytes: sourceOptions.captureBytes ?? 16384 }) : undefined;

  source.start((events) => {
    out.print(events);
    recording?.write(events);
  });

  await untilStopped(durationS);

  const counters = source.kernelCounters();
  const delivery = source.deliveryStats();
  source.close();
  await recording?.close();
  process.stderr.write(
    `hydrophone: ${delivery.records} records in ${delivery.batches} batches; ` +
      `ring buffer lost ${counters.ringbufLost} records; ` +
      `${out.dropped ? `${out.dropped} events not printed (stdout too slow); ` : ''}` +
      `${recording ? `${recording.events} events written to ${values.out}` : 'done'}\n`,
  );
  return 0;
}
