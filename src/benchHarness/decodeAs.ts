/**
 * The tshark decode-as options a corpus file needs, from the MANIFEST.tsv
 * beside it ("decode-as tcp.port==N,proto" in its notes column).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export function decodeAsFromManifest(file: string): string[] {
  const manifest = path.join(path.dirname(file), 'MANIFEST.tsv');
  if (!existsSync(manifest)) return [];
  const name = path.basename(file);
  for (const line of readFileSync(manifest, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols[0] !== name) continue;
    return [...(cols.at(-1) ?? '').matchAll(/decode-as (tcp\.port==\d+,[\w-]+)/g)].map((m) => m[1]!);
  }
  return [];
}
