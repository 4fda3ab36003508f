/**
 * The one error a capture source throws: the file is not a capture we can
 * read, or it is damaged at a known place. The message names the file and
 * the byte offset, so a user can act on it without a stack trace.
 */
export class CaptureError extends Error {
  readonly code = 'HP_CAPTURE_INVALID';
  readonly file: string;
  /** Byte offset in the file where the problem is; -1 when it is the whole file. */
  readonly offset: number;

  constructor(file: string, offset: number, problem: string) {
    super(offset >= 0 ? `${file}: offset ${offset}: ${problem}` : `${file}: ${problem}`);
    this.name = 'CaptureError';
    this.file = file;
    this.offset = offset;
  }
}
