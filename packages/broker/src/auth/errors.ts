/**
 * A mistake in a users or ACL file, located by file and line so an operator can fix it. Its
 * message reads `file:line: what is wrong`.
 */
export class AuthFileError extends Error {
  /** The file (or the name the caller gave the text) the mistake is in. */
  readonly source: string;
  /** The 1-based line of the mistake. */
  readonly line: number;

  /** @param problem What is wrong, without the location (the message prefixes it). */
  constructor(source: string, line: number, problem: string) {
    super(`${source}:${line}: ${problem}`);
    this.name = 'AuthFileError';
    this.source = source;
    this.line = line;
  }
}
