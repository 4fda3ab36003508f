/**
 * The benchmarks' Go load generators: one module per folder under
 * bench/native (standard library only, so no module proxy is needed),
 * built on demand into build/bench when missing or older than its sources,
 * with the toolchain test/peers/prepare.sh uses (go on PATH, else
 * /usr/local/go/bin/go) and the same build cache. Built with DWARF: the
 * sensor's Go probes read struct offsets from it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';

export type GoProgram = { ok: true; bin: string; goVersion: string } | { ok: false; reason: string };

function goToolchain(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, 'go'))) return path.join(dir, 'go');
  }
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
}

/** Same place as test/peers/prepare.sh: $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone. */
function cacheDir(): string {
  return process.env.HYDROPHONE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'hydrophone');
}

/** Builds bench/native/<name>/ (a Go module); a failure is a reason, not an exception. */
export function goProgram(name: string): GoProgram {
  const go = goToolchain();
  if (!go) return { ok: false, reason: 'no Go toolchain (go on PATH or /usr/local/go/bin/go)' };
  const src = path.join(projectRoot, 'bench/native', name);
  const bin = path.join(projectRoot, 'build/bench', name);
  const cache = cacheDir();
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false', GOCACHE: path.join(cache, 'go/build'), GOMODCACHE: path.join(cache, 'go/mod') };
  try {
    const goVersion = execFileSync(go, ['env', 'GOVERSION'], { cwd: src, env, encoding: 'utf8' }).trim();
    const newest = Math.max(...readdirSync(src).map((f) => statSync(path.join(src, f)).mtimeMs));
    if (!existsSync(bin) || statSync(bin).mtimeMs < newest) {
      mkdirSync(path.dirname(bin), { recursive: true });
      execFileSync(go, ['build', '-trimpath', '-o', bin, '.'], { cwd: src, env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    return { ok: true, bin, goVersion };
  } catch (err) {
    const e = err as { stderr?: Buffer | string; message: string };
    return { ok: false, reason: `building bench/native/${name} with ${go} failed: ${String(e.stderr ?? '').trim() || e.message}` };
  }
}
