/**
 * The OpenTelemetry Collector with the gateway's components (OTLP receiver,
 * otlp_grpc exporter, memory_limiter, batch, health_check), built by
 * test/peers/gateway/prepare.sh into ~/.cache/hydrophone. Never builds:
 * tests skip with the reason when it is missing.
 * HYDROPHONE_OTELCOL_GATEWAY (a collector binary with those components)
 * overrides it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/native/addon.ts';

const prepareScript = path.join(projectRoot, 'test/peers/gateway/prepare.sh');

type Located = { readonly path: string } | { readonly unavailable: string };
let found: Located | undefined;

/** The binary's absolute path; throws with the reason when there is none (check gatewayCollectorUnavailableReason first). */
export function gatewayCollectorBinary(): string {
  found ??= locate();
  if ('unavailable' in found) throw new Error(`no gateway collector: ${found.unavailable}`);
  return found.path;
}

/** undefined when the gateway collector can run here; otherwise why its tests must skip (printed once). */
export function gatewayCollectorUnavailableReason(): string | undefined {
  found ??= locate();
  if ('path' in found) return undefined;
  if (!reported) {
    reported = true;
    process.stderr.write(`\n[hydrophone] SKIPPING the gateway collector tests: ${found.unavailable}\n`);
  }
  return found.unavailable;
}
let reported = false;

function locate(): Located {
  const fromEnv = process.env.HYDROPHONE_OTELCOL_GATEWAY;
  if (fromEnv) return existsSync(fromEnv) ? { path: path.resolve(fromEnv) } : { unavailable: `${fromEnv} (from HYDROPHONE_OTELCOL_GATEWAY) does not exist` };
  const r = spawnSync('sh', [prepareScript, '--no-build'], { encoding: 'utf8' });
  if (r.status !== 0) return { unavailable: (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/^prepare-gateway: /, '') };
  const built = /^otelcol-gateway=(\/.*)$/m.exec(r.stdout)?.[1];
  return built ? { path: built } : { unavailable: `${prepareScript} --no-build printed no otelcol-gateway= line: ${r.stdout.trim()}` };
}
