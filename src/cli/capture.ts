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
import { choice, intList, intOption } from './options.ts';
import { UsageError } from './usageError.ts';

const HELP = `usage: hydrophone capture [options]

Prints every TCP connection on this host and the bytes each process sends
and receives, as the BPF sensor sees them. Needs root (or CAP_BPF,
CAP_PERFMON, CAP_SYS_PTRACE). Stops on Ctrl-C, SIGTERM or --duration.

  --pid P              only these processes (repeat, or P1,P2)
  --port N             only connections with this port at either end (repeat)
  --duration S         stop after S seconds
  --json               JSON Lines instead of readable lines
  --out FILE           also write a recording to FILE (replayable unprivileged)
  --quiet              print nothing per event (with --out)
  --in FILE            print the events of a recording instead of capturing
  --capture-bytes N    payload bytes kept per syscall (default 16384, max 65536)
  --ring-buffer-mb N   kernel ring buffer size, a power of two (default 16)
  --attach KIND        auto | kprobe | tracepoint (default auto)
  --unix               also trace Unix stream sockets
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
      pid: { type: 'string', multiple: true },
      port: { type: 'string', multiple: true },
      duration: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      in: { type: 'string' },
      'capture-bytes': { type: 'string' },
      'ring-buffer-mb': { type: 'string' },
      attach: { type: 'string' },
      unix: { type: 'boolean' },
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

  const ringMb = intOption('ring-buffer-mb', values['ring-buffer-mb'], 1, 1024) ?? 16;
  if ((ringMb & (ringMb - 1)) !== 0) throw new UsageError(`--ring-buffer-mb must be a power of two, got ${ringMb}`);
  const duration = intOption('duration', values.duration, 1, 365 * 24 * 3600);
  const captureBytes = intOption('capture-bytes', values['capture-bytes'], 0, 65536);
  const source = new BpfSource({
    attach: choice('attach', values.attach, ['auto', 'kprobe', 'tracepoint'] as const) ?? 'auto',
    pids: intList('pid', values.pid, 1, 2 ** 31),
    ports: intList('port', values.port, 1, 65535),
    captureBytes,
    ringBufferBytes: ringMb * 1024 * 1024,
    unix: values.unix ?? false,
  });
  process.stderr.write(`hydrophone: capturing with ${source.attachReason}\n`);
  const recording = values.out ? new RecordingWriter(values.out, { attach: source.attach, captureBytes: captureBytes ?? 16384 }) : undefined;

  source.start((events) => {
    out.print(events);
    recording?.write(events);
  });

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (duration) setTimeout(stop, duration * 1000);
  });

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
