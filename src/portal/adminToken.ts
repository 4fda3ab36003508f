/**
 * The admin credential: one bearer token, from a file, from
 * $HYDROPHONE_PORTAL_ADMIN_TOKEN, or made on first start into the data
 * directory (mode 0600) when neither is given. Only its SHA-256 stays in
 * memory, and a presented token is compared with that in constant time
 * (equal-length digests, timingSafeEqual), so the comparison's duration
 * says nothing about how much of a guess was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';

export const ADMIN_TOKEN_ENV = 'HYDROPHONE_PORTAL_ADMIN_TOKEN';
/** Shorter tokens are guessable; a generated one has 43 characters (256 bits). */
export const MIN_ADMIN_TOKEN_LENGTH = 24;

export interface AdminCredential {
  /** Where the token came from, for the start-up line (never the token). */
  readonly source: string;
  /** Whether `presented` is the admin token. */
  matches(presented: string): boolean;
}

export class AdminTokenError extends Error {}

export interface AdminTokenSources {
  /** --admin-token-file */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Where to keep a generated token when neither a file nor the variable gives one. */
  readonly generatedFile: string;
}

export function loadAdminCredential(sources: AdminTokenSources): { credential: AdminCredential; generated: boolean } {
  const env = sources.env ?? process.env;
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw new AdminTokenError(`--admin-token-file ${sources.file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the path and that the portal's user may read it`);
    }
    return { credential: credential(checked(text.trim(), `--admin-token-file ${sources.file}`), sources.file), generated: false };
  }
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { credential: credential(checked(fromEnv.trim(), `$${ADMIN_TOKEN_ENV}`), `$${ADMIN_TOKEN_ENV}`), generated: false };
  if (existsSync(sources.generatedFile)) {
    return { credential: credential(checked(readFileSync(sources.generatedFile, 'utf8').trim(), sources.generatedFile), sources.generatedFile), generated: false };
  }
  const token = randomBytes(32).toString('base64url');
  const fd = openSync(sources.generatedFile, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { credential: credential(token, sources.generatedFile), generated: true };
}

function checked(token: string, where: string): string {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new AdminTokenError(`${where}: the admin token has ${token.length} characters; use at least ${MIN_ADMIN_TOKEN_LENGTH} random ones (e.g. openssl rand -base64 32)`);
  }
  if (/\s/.test(token)) throw new AdminTokenError(`${where}: the admin token contains whitespace; it goes in an Authorization header: use letters, digits and punctuation only`);
  return token;
}

/** A credential for `token`, which it keeps only as a digest. */
export function credential(token: string, source: string): AdminCredential {
  const expected = digest(token);
  return {
    source,
    matches: (presented) => timingSafeEqual(digest(presented), expected),
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
