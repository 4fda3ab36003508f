/**
 * OpenSSL 1.1.1 for live tests: test/peers/openssl11.sh builds it into the
 * cache on first use (75 s to 3 min on 2 cores when cold, nothing when
 * warm), and test/helpers/tlsClient.c is compiled against it, so the client
 * maps libssl.so.1.1 from there (rpath), never the system's libssl.so.3.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/native/addon.ts';
import { compileC } from './helperPrograms.ts';

export interface OpenSsl11 {
  /** The install prefix: lib/, include/, bin/openssl. */
  readonly prefix: string;
  readonly libssl: string;
  /** test/helpers/tlsClient linked with this libssl.so.1.1. */
  readonly client: string;
}

let prepared: Promise<OpenSsl11> | undefined;

export function openSsl11(): Promise<OpenSsl11> {
  prepared ??= prepare();
  return prepared;
}

async function prepare(): Promise<OpenSsl11> {
  const script = path.join(projectRoot, 'test/peers/openssl11.sh');
  const { stdout } = await promisify(execFile)('sh', [script], { maxBuffer: 1 << 20 }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`${script} failed: ${err.stderr || err.message}`);
  });
  const prefix = /^openssl11=(.+)$/m.exec(stdout)?.[1];
  if (!prefix) throw new Error(`${script} printed no openssl11= line: ${stdout}`);
  const lib = path.join(prefix, 'lib');
  // compileC puts flags before the source: --no-as-needed keeps the libraries
  // no earlier object needs. Its own directory: a binary linked with 1.1.
  const client = compileC(path.join(projectRoot, 'test/helpers/tlsClient.c'), path.join(projectRoot, 'build/test-helpers/openssl11'), [
    `-I${path.join(prefix, 'include')}`, `-L${lib}`, `-Wl,-rpath,${lib}`, '-Wl,--no-as-needed', '-lssl', '-lcrypto',
  ]);
  return { prefix, libssl: path.join(lib, 'libssl.so.1.1'), client };
}
