/**
 * Log lines that a client can cause, rate-limited per cause: the first line of a cause is written,
 * then at most one per interval carrying `suppressed` (how many of that cause were not written
 * since). Fields are shortened so that a client's payload never lands in the log whole.
 */
import type { Logger } from '../logger.ts';

/** Longest string field written, characters (longer ones are cut and marked). */
export const MAX_LOGGED_STRING = 200;

/** Shorten a client-supplied text for a log line (at most {@link MAX_LOGGED_STRING} characters). */
export function clip(text: string, max = MAX_LOGGED_STRING): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** See the module docstring. One per component; causes are fixed strings (the log message). */
export class RateLimitedLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #causes = new Map<string, { last: number; suppressed: number }>();

  /** @param intervalMs at most one line per cause per this many ms (default 10 000). */
  constructor(log: Logger, intervalMs = 10_000) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** Log `msg` (the cause) with `fields` at `level`, unless that cause was logged less than the interval ago. */
  log(level: Level, fields: Record<string, unknown>, msg: string, now = Date.now()): void {
    const seen = this.#causes.get(msg);
    if (seen && now - seen.last < this.#intervalMs) {
      seen.suppressed += 1;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.#causes.set(msg, { last: now, suppressed: 0 });
    const safe: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) safe[k] = typeof v === 'string' ? clip(v) : v;
    this.#log[level](suppressed > 0 ? { ...safe, suppressed } : safe, msg);
  }

  /** {@link log} at warn. */
  warn(fields: Record<string, unknown>, msg: string): void {
    this.log('warn', fields, msg);
  }

  /** {@link log} at error. */
  error(fields: Record<string, unknown>, msg: string): void {
    this.log('error', fields, msg);
  }
}
