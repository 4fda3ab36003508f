/**
 * A Dockerfile read into stages and instructions, for tests that check one
 * without a Docker engine: line continuations joined (comment lines inside
 * them dropped, as Docker does), comments skipped, keywords upper-cased,
 * WORKDIR followed so that every COPY has an absolute destination.
 */
import path from 'node:path';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface Copy {
  /** The stage copied from (--from), or undefined for the build context. */
  readonly from?: string;
  readonly sources: readonly string[];
  /** Absolute, resolved against the WORKDIR in force. */
  readonly destination: string;
  /** Written with a trailing / (or several sources): the sources land inside it. */
  readonly destinationIsDirectory: boolean;
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name?: string;
  readonly instructions: readonly Instruction[];
  /** The WORKDIR in force at the end of the stage. */
  readonly workdir: string;
  readonly copies: readonly Copy[];
  /** The shell command of every RUN (shell form). */
  readonly runs: readonly string[];
}

export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = i;
    let joined = first;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1);
      const next = lines[++i]!.trim();
      if (!next.startsWith('#')) joined += ` ${next}`;
    }
    const m = /^(\w+)\s*(.*)$/s.exec(joined.trim());
    if (!m) throw new Error(`line ${start + 1}: not an instruction: ${joined}`);
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ').trim(), line: start + 1 });
  }

  const stages: Stage[] = [];
  let current: { image: string; name?: string; instructions: Instruction[]; workdir: string; copies: Copy[]; runs: string[] } | undefined;
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: FROM ${ins.args} not understood`);
      current = { image: m[1]!, ...(m[2] ? { name: m[2] } : {}), instructions: [], workdir: '/', copies: [], runs: [] };
      stages.push(current);
      continue;
    }
    if (!current) {
      if (ins.keyword === 'ARG') continue;
      throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    }
    current.instructions.push(ins);
    if (ins.keyword === 'WORKDIR') current.workdir = path.posix.resolve(current.workdir, ins.args);
    if (ins.keyword === 'RUN') current.runs.push(ins.args);
    if (ins.keyword === 'COPY') current.copies.push(parseCopy(ins, current.workdir));
  }
  return stages;
}

function parseCopy(ins: Instruction, workdir: string): Copy {
  const words = ins.args.startsWith('[') ? (JSON.parse(ins.args) as string[]) : ins.args.split(' ');
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (w.startsWith('--')) continue; // --chown, --chmod, --link: not about what is copied
    else rest.push(w);
  }
  if (rest.length < 2) throw new Error(`line ${ins.line}: COPY needs a source and a destination`);
  const dest = rest.at(-1)!;
  return {
    ...(from ? { from } : {}),
    sources: rest.slice(0, -1),
    destination: path.posix.resolve(workdir, dest),
    destinationIsDirectory: dest.endsWith('/') || rest.length > 2,
    line: ins.line,
  };
}

/** The exec-form array of the last ENTRYPOINT of a stage. */
export function entrypoint(stage: Stage): string[] | undefined {
  const ins = stage.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  return ins ? (JSON.parse(ins.args) as string[]) : undefined;
}
