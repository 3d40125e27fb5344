// The agent's logger: pino JSON lines (for log collectors) by default, or pino-pretty's readable lines.
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './log-options.js';

export function createAgentLogger(format: LogFormat, level: LogLevel): Logger {
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
