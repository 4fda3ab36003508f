/**
 * `run --print-config`: the effective configuration as YAML, each setting
 * that is not a default annotated with where it came from. Secrets never
 * appear: the config only names the files that hold them, and a secret
 * taken from the environment is shown as set or not, never its value.
 */
import { Document } from 'yaml';
import type { LoadedConfig } from './loadConfig.ts';
import { PASSWORD_ENV, TOKEN_ENV } from '../sinks/otlp/otlpConfig.ts';

/** Keys whose values would be secrets if a future field held one inline: masked whatever they hold. */
const SECRET_KEY = /(password|token|secret)(?!File$)/i;

export function printConfig(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): string {
  const masked: unknown = JSON.parse(JSON.stringify(loaded.config), (k, v: unknown) => (SECRET_KEY.test(k) && typeof v === 'string' ? '********' : v));
  const doc = new Document(masked);
  for (const [path, origin] of loaded.origins) {
    const node = doc.getIn(path.split('.'), true) as { comment?: string } | undefined;
    if (node && typeof node === 'object') node.comment = ` from ${origin}`;
  }
  const lines = [`# effective configuration of hydrophone run${loaded.file ? ` (file ${loaded.file})` : ''}`, doc.toString().trimEnd()];
  for (const name of [PASSWORD_ENV, TOKEN_ENV]) lines.push(`# $${name}: ${env[name] ? '******** (set)' : 'not set'}`);
  return `${lines.join('\n')}\n`;
}
