// Local faults: WardenError carries a code, a message for people, and a hint. Wire errors live in proxy/downstream.ts.

export type WardenErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  /** What a command or request names does not exist (a grant, an approval). */
  | 'NOT_FOUND'
  /** The request conflicts with what exists (a live grant with the same label). */
  | 'CONFLICT'
  | 'UPSTREAM_START_FAILED'
  | 'UPSTREAM_CLOSED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_PROTOCOL'
  | 'LISTEN_FAILED'
  | 'STATE_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL';

export class WardenError extends Error {
  readonly code: WardenErrorCode;
  readonly hint: string | undefined;
  /**
   * What an upstream said about the fault (the last lines of its stderr, its error body): for the log and the
   * operator's terminal, masked, never for the agent (replyForError sends only `message`).
   */
  readonly detail: string | undefined;

  constructor(
    code: WardenErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; detail?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.hint = options.hint;
    this.detail = options.detail;
  }
}

/** One problem found in a config or policy file: where it is and what is wrong. */
export interface Problem {
  file: string;
  path: string;
  line?: number;
  message: string;
  hint?: string;
}

export class ConfigError extends WardenError {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super('CONFIG_INVALID', formatProblems(problems));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblems(problems: Problem[]): string {
  return problems
    .map((p) => {
      const where = `${p.file}${p.line === undefined ? '' : `:${p.line}`}`;
      const path = p.path === '' ? '' : ` at ${p.path}`;
      return `${where}${path}: ${p.message}${p.hint ? ` (hint: ${p.hint})` : ''}`;
    })
    .join('\n');
}
