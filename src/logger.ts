/**
 * pino logger: JSON lines; pretty-printed only when stdout is a TTY.
 * One line per conference/endpoint lifecycle event carrying `conference` / `endpoint` ids.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Create the root logger. `level` is a pino level name. */
export function createLogger(level = 'info', opts: { pretty?: boolean } = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  return pino({
    level,
    base: { name: 'octobridge' },
    redact: { paths: ['*.pwd', '*.password', '*.secret', 'pwd', 'password'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
