/**
 * Dockerfile.sensor, checked against the scripts and the code without a
 * Docker engine: the build stage runs the same scripts/bootstrap.sh as
 * `npm start` (and repeats none of its steps); the runtime stage copies
 * exactly the paths the app loads (bin/hydrophone's Node and entry point,
 * src/native/addon.ts's addon and BPF objects, package.json, the production
 * node_modules), at the same place relative to the project root; its
 * Debian packages are the runtime halves of the -dev packages the addon
 * links against; the entry point runs `hydrophone run`. Each check is a
 * function of the Dockerfile's text, so the tests also show it failing on
 * an edited copy.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { addonPath, probesObjectPath, projectRoot, sensorObjectPath } from '../../src/native/addon.ts';
import { entrypoint, parseDockerfile, type Stage } from './dockerfile.ts';

const read = (p: string) => readFileSync(path.join(projectRoot, p), 'utf8');
const dockerfile = read('Dockerfile.sensor');
const packageJson = JSON.parse(read('package.json')) as { type: string; bin: Record<string, string>; dependencies: Record<string, string> };

/** bootstrap.sh's build_pkgs: the Debian packages the build needs. */
const buildPackages = /^build_pkgs="([^"]+)"/m.exec(read('scripts/bootstrap.sh'))![1]!.split(/\s+/);
/** binding.gyp's -l libraries of the addon. */
const linkedLibraries = [.../"libraries":\s*\[([^\]]*)\]/.exec(read('native/binding.gyp'))![1]!.matchAll(/"-l(\w+)"/g)].map((m) => m[1]!);
/** Library -> its Debian 12 (bookworm) development and runtime packages. */
const DEBIAN_PACKAGES: Record<string, { dev: string; runtime: string }> = {
  bpf: { dev: 'libbpf-dev', runtime: 'libbpf1' },
  elf: { dev: 'libelf-dev', runtime: 'libelf1' },
  z: { dev: 'zlib1g-dev', runtime: 'zlib1g' },
};
/** What debian:bookworm-slim already holds among the addon's libraries: C and C++ runtimes. */
const IN_BASE_IMAGE = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
/** What bootstrap.sh makes inside the build stage (the rest of what the runtime copies comes from the build context). */
const BUILT_BY_BOOTSTRAP = ['node_modules', 'build/bpf', 'native/build'];
/** What bootstrap.sh and build.sh read: the lock file and package.json (npm ci), the scripts, bpf/ and native/. */
const BOOTSTRAP_INPUTS = ['package.json', 'package-lock.json', 'scripts', 'bpf', 'native'];

const rel = (p: string) => path.relative(projectRoot, p);
const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

/** The paths (relative to the project root) the app opens at run time, each with who opens it. */
function neededAtRuntime(): Map<string, string> {
  const needed = new Map<string, string>();
  needed.set(packageJson.bin.hydrophone!, 'the ENTRYPOINT (package.json bin)');
  for (const m of read('bin/hydrophone').matchAll(/\$root\/([\w./-]+)/g)) needed.set(m[1]!, 'bin/hydrophone');
  for (const p of [addonPath, sensorObjectPath, probesObjectPath]) needed.set(rel(p), 'src/native/addon.ts');
  // "type": "module" makes Node read src/ as ES modules.
  expect(packageJson.type).toBe('module');
  needed.set('package.json', 'Node (package "type")');
  for (const dep of Object.keys(packageJson.dependencies)) needed.set(`node_modules/${dep}`, 'package.json dependencies');
  return needed;
}

function stages(text: string): { build: Stage; runtime: Stage } {
  const all = parseDockerfile(text);
  if (all.length !== 2) throw new Error(`expected two stages, found ${all.length}`);
  return { build: all[0]!, runtime: all[1]! };
}

/** Every way Dockerfile `text` departs from what the project needs; [] when it does not. */
function imageProblems(text: string): string[] {
  const problems: string[] = [];
  const { build, runtime } = stages(text);

  // Build: bootstrap.sh, and none of its steps done a second way.
  if (!build.runs.some((r) => /(^|&& )sh scripts\/bootstrap\.sh( &&|$)/.test(r))) problems.push('the build stage does not run `sh scripts/bootstrap.sh`');
  for (const r of build.runs) {
    if (/apt-get|npm (ci|install)|scripts\/build\.sh|clang|node-gyp|bpftool/.test(r)) problems.push(`the build stage repeats a step of bootstrap.sh: RUN ${r}`);
    if (/--test-peers/.test(r)) problems.push('the build stage builds the test peers');
  }
  if (!build.runs.some((r) => /npm prune --omit=dev/.test(r))) problems.push('the build stage keeps the devDependencies');
  const codename = (image: string) => /(bookworm|bullseye|trixie)/.exec(image)?.[1];
  if (!codename(build.image) || codename(build.image) !== codename(runtime.image)) problems.push(`build (${build.image}) and runtime (${runtime.image}) are not the same Debian release: the addon would link against other libraries than it runs with`);
  const fromContext = build.copies.filter((c) => !c.from).flatMap((c) => c.sources.map((s) => s.replace(/\/$/, '')));
  for (const input of BOOTSTRAP_INPUTS) if (!fromContext.includes(input)) problems.push(`the build stage does not copy ${input}, which bootstrap.sh needs`);

  // Runtime: exactly what is needed, where the code looks for it.
  const copied: string[] = [];
  for (const c of runtime.copies) {
    if (c.from !== build.name) { problems.push(`runtime COPY at line ${c.line} is not from the build stage`); continue; }
    for (const s of c.sources) {
      const source = path.posix.relative(build.workdir, s.replace(/\/$/, ''));
      const landed = path.posix.relative(runtime.workdir, s.endsWith('/') || !c.destinationIsDirectory ? c.destination : path.posix.join(c.destination, path.posix.basename(s)));
      if (source !== landed) problems.push(`${source} lands at ${landed}: the code finds its files relative to the project root`);
      copied.push(source);
      if (!BUILT_BY_BOOTSTRAP.some((d) => under(source, d)) && !fromContext.some((f) => under(source, f))) problems.push(`${source} is copied from the build stage but never copied into it`);
    }
  }
  const needed = neededAtRuntime();
  for (const [p, who] of needed) if (!copied.some((c) => under(p, c))) problems.push(`${p} (needed by ${who}) is not in the runtime image`);
  for (const c of copied) if (![...needed.keys()].some((p) => under(p, c))) problems.push(`${c} is copied into the runtime image but nothing loads it`);

  // Runtime packages: the runtime halves of the -dev packages the addon links against.
  const runtimePackages = runtime.runs.flatMap((r) => [...r.matchAll(/apt-get install ([^&;|]+)/g)].flatMap((m) => m[1]!.trim().split(' ')).filter((w) => !w.startsWith('-')));
  const expected: string[] = [];
  for (const lib of linkedLibraries) {
    const pkgs = DEBIAN_PACKAGES[lib];
    if (!pkgs) { problems.push(`the addon links -l${lib}: add its Debian packages to this test`); continue; }
    if (!buildPackages.includes(pkgs.dev)) problems.push(`bootstrap.sh does not install ${pkgs.dev} (for -l${lib})`);
    expected.push(pkgs.runtime);
  }
  if ([...runtimePackages].sort().join(' ') !== [...expected].sort().join(' ')) problems.push(`the runtime installs [${runtimePackages.join(' ')}], the addon needs [${expected.join(' ')}]`);

  // Entry point: bin/hydrophone run, from the image's copy of the project.
  const entry = entrypoint(runtime);
  if (!entry || entry.length !== 2 || entry[1] !== 'run' || path.posix.relative(runtime.workdir, entry[0]!) !== 'bin/hydrophone') problems.push(`ENTRYPOINT ${JSON.stringify(entry)} does not run bin/hydrophone run`);
  const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (user !== undefined && user !== '0' && user !== 'root') problems.push(`USER ${user}: BPF needs uid 0 (Kubernetes grants capabilities to root only)`);
  return problems;
}

describe('Dockerfile.sensor', () => {
  it('builds with bootstrap.sh and ships exactly what the app loads, with its runtime libraries and entry point', () => {
    expect(imageProblems(dockerfile)).toEqual([]);
  });

  it.each<[string, (t: string) => string, RegExp]>([
    ['bootstrap.sh is no longer run', (t) => t.replace('RUN sh scripts/bootstrap.sh \\\n && npm prune', 'RUN npm ci && sh scripts/build.sh \\\n && npm prune'), /does not run `sh scripts\/bootstrap\.sh`/],
    ['a step of bootstrap.sh is done again', (t) => t.replace('WORKDIR /src\n', 'WORKDIR /src\nRUN apt-get update && apt-get install -y clang\n'), /repeats a step of bootstrap\.sh: RUN apt-get/],
    ['the addon is left out', (t) => t.replace(/COPY --from=build \/src\/native\/build\/Release\/hydrophone\.node .*\n/, ''), /native\/build\/Release\/hydrophone\.node \(needed by src\/native\/addon\.ts\) is not in the runtime image/],
    ['a BPF object lands elsewhere', (t) => t.replace('./build/bpf/', './bpf/'), /build\/bpf\/sensor\.bpf\.o lands at bpf\/sensor\.bpf\.o/],
    ['something unneeded is copied', (t) => t.replace('COPY --from=build /src/bin/ ./bin/', 'COPY --from=build /src/bin/ ./bin/\nCOPY --from=build /src/scripts/ ./scripts/'), /scripts is copied into the runtime image but nothing loads it/],
    ['a runtime library is missing', (t) => t.replace('libbpf1 libelf1 zlib1g', 'libbpf1 zlib1g'), /the runtime installs \[libbpf1 zlib1g\], the addon needs/],
    ['the runtime is another Debian release', (t) => t.replace('FROM debian:bookworm-slim', 'FROM debian:trixie-slim'), /not the same Debian release/],
    ['the entry point is not `run`', (t) => t.replace('"run"]', '"doctor"]'), /does not run bin\/hydrophone run/],
    ['the user is not root', (t) => t.replace('USER 0', 'USER 10001'), /USER 10001: BPF needs uid 0/],
  ])('fails when %s', (_, edit, problem) => {
    const edited = edit(dockerfile);
    expect(edited).not.toBe(dockerfile);
    expect(imageProblems(edited).join('\n')).toMatch(problem);
  });

  it('keeps build outputs and node_modules of the host out of the build context (.dockerignore)', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    // A host's native/build would look up to date to build.sh and be shipped, built for another libc and Node.
    for (const p of ['node_modules', 'build', 'native/build']) expect(ignored, p).toContain(p);
  });

  const codename = existsSync('/etc/os-release') ? /^VERSION_CODENAME=(\w+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined;
  const built = existsSync(addonPath);
  const dpkg = spawnSync('dpkg', ['--version']).status === 0;
  const why = !built ? `${rel(addonPath)} is not built (sh scripts/build.sh)` : !dpkg ? 'no dpkg here' : codename !== 'bookworm' ? `this host is ${codename ?? 'not Debian'}, the image bookworm` : undefined;
  if (why) process.stderr.write(`[hydrophone] skipping the check of the built addon's libraries against the runtime packages: ${why}\n`);

  it.skipIf(why)('the built addon needs no library outside the runtime packages and the base image (ldd, dpkg -S, on this bookworm host)', () => {
    const ldd = execFileSync('ldd', [addonPath], { encoding: 'utf8' });
    const libraries = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
    expect(libraries.length).toBeGreaterThan(0);
    const owners = new Set(libraries.map((lib) => {
      const r = spawnSync('dpkg', ['-S', lib], { encoding: 'utf8' });
      // usrmerge: /lib/x86_64-linux-gnu/x is registered as /usr/lib/... or the other way round.
      const out = r.status === 0 ? r.stdout : spawnSync('dpkg', ['-S', lib.startsWith('/usr/') ? lib.slice(4) : `/usr${lib}`], { encoding: 'utf8' }).stdout;
      const pkg = /^([\w.+-]+)(?::\w+)?: /.exec(out)?.[1];
      if (!pkg) throw new Error(`no Debian package owns ${lib}`);
      return pkg;
    }));
    const runtime = stages(dockerfile).runtime;
    const installed = new Set(runtime.runs.flatMap((r) => r.split(/\s+/)));
    const missing = [...owners].filter((p) => !installed.has(p) && !IN_BASE_IMAGE.has(p));
    expect(missing, `ldd: ${libraries.join(', ')}`).toEqual([]);
    for (const lib of linkedLibraries) expect(owners, `-l${lib}`).toContain(DEBIAN_PACKAGES[lib]!.runtime);
  });
});
