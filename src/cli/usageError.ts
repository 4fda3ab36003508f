/** A mistake in the command line: reported with exit code 2 and no stack. */
export class UsageError extends Error {
  readonly code = 'HP_USAGE';
}
