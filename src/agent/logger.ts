// The agent's logger: pino JSON lines (for log collectors) by default, or pino-pretty's readable lines.
import { type Level, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS: readonly (Level | 'silent')[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createAgentLogger(format: LogFormat, level: Level | 'silent'): Logger {
  switch (format) {
    case 'json':
      return pino({ level });
    case 'pretty':
      // In-process and synchronous: a line is out before the process exits.
      return pino({ level }, pretty({ sync: true, colorize: process.stdout.isTTY === true }));
    default: {
      const unreachable: never = format;
      throw new Error(`unknown log format ${String(unreachable)}`);
    }
  }
}
