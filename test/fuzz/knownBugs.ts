/**
 * Bugs the fuzz properties found that are not fixed yet (those a property
 * can meet again; the hangs and growth found by directed probes are only in
 * regressions.test.ts). Each is pinned by
 * an `it.fails` test in regressions.test.ts (its minimized input), so the
 * properties do not stop at it again: a failure that matches a known bug
 * is counted and reported (the test prints it; the bench lists it), not
 * thrown. When a fix lands, its `it.fails` test fails ("expected to
 * fail"): make it a plain `it` and delete the entry here.
 *
 * HYDROPHONE_FUZZ_STRICT=1 turns the tolerance off: every failure fails.
 */

export interface KnownBug {
  readonly id: string;
  /** The `it.fails` test in regressions.test.ts that pins it. */
  readonly regression: string;
  /** Failures that are this bug: their message (checks name the protocol in it)... */
  readonly message: RegExp;
  /** ...in these properties only (by name), when the message alone could be another bug. */
  readonly properties?: RegExp;
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  // None pinned now: every bug found so far is fixed (the last,
  // http1-resync-body-tail-as-method, with the privacy properties). A new
  // one goes here with the `it.fails` test that pins it.
];

export const STRICT = process.env['HYDROPHONE_FUZZ_STRICT'] === '1';

/** Known bugs hit so far in this process: property name -> bug id -> cases. */
export const knownBugHits = new Map<string, Map<string, number>>();

/** The known bug a failure of a property is, if any (never in strict mode). */
export function knownBugOf(property: string, error: unknown): KnownBug | undefined {
  if (STRICT) return undefined;
  const text = error instanceof Error ? error.message : String(error);
  return KNOWN_BUGS.find((b) => b.message.test(text) && (b.properties === undefined || b.properties.test(property)));
}

/** Counts a hit; returns whether the failure was a known bug (and so is tolerated). */
export function toleratedAsKnownBug(property: string, error: unknown): boolean {
  const bug = knownBugOf(property, error);
  if (!bug) return false;
  let hits = knownBugHits.get(property);
  if (!hits) knownBugHits.set(property, (hits = new Map()));
  hits.set(bug.id, (hits.get(bug.id) ?? 0) + 1);
  return true;
}

/** "known bugs hit: http2-ends-before-it-starts x12 (regression: ...)", or '' when none. */
export function knownBugReport(property: string): string {
  const hits = knownBugHits.get(property);
  if (!hits || hits.size === 0) return '';
  const lines = [...hits].map(([id, n]) => `  ${id} x${n} (pinned by "${KNOWN_BUGS.find((b) => b.id === id)!.regression}")`);
  return `${property}: cases that hit known bugs, tolerated:\n${lines.join('\n')}`;
}
