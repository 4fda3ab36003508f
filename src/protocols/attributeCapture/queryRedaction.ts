/**
 * `url.query` with its values redacted, as the semantic conventions ask
 * (url.query SHOULD have sensitive values redacted): every value becomes
 * "REDACTED" except those of parameters named on the allow-list. Names are
 * kept (they say what was asked, the values are what leaks); a part with no
 * "=" could be a bare token, so it is redacted whole unless it is an
 * allowed name.
 */

export const REDACTED = 'REDACTED';
/** Characters of url.query kept; a longer query is cut there (and counted by the caller). */
export const MAX_QUERY_LENGTH = 4096;

/** The query of a request target, without "?" and fragment; undefined when there is none or it is empty. */
export function queryOf(target: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  // A "?" inside a fragment starts no query (a fragment is never sent, but bytes can say anything).
  const hash = target.indexOf('#');
  if (hash >= 0 && hash < q) return undefined;
  const query = hash < 0 ? target.slice(q + 1) : target.slice(q + 1, hash);
  return query === '' ? undefined : query;
}

/** A parameter name as written and, when it is percent-encoded, decoded. */
function isAllowed(name: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(name)) return true;
  if (!name.includes('%') && !name.includes('+')) return false;
  try {
    return allowed.has(decodeURIComponent(name.replace(/\+/g, ' ')));
  } catch {
    return false;
  }
}

/** `query` (no "?") with every value not on `allowed` replaced by REDACTED. */
export function redactQuery(query: string, allowed: ReadonlySet<string>): string {
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!isAllowed(part, allowed)) parts[i] = REDACTED;
      continue;
    }
    if (!isAllowed(part.slice(0, eq), allowed)) parts[i] = `${part.slice(0, eq)}=${REDACTED}`;
  }
  return parts.join('&');
}
