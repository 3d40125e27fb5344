import type { LintWarning } from '../policy/lint/index.js';

/** `file: NetworkPolicy ns/name: field: message [check]` then the fix, indented; a count at the end. */
export function renderLint(warnings: readonly LintWarning[]): string {
  if (warnings.length === 0) return 'no warnings\n';
  const lines: string[] = [];
  for (const w of warnings) {
    const where = [w.source, w.object, w.field].filter((part) => part).join(': ');
    lines.push(`warning: ${where}: ${w.message} [${w.check}]`, `  fix: ${w.fix}`);
  }
  lines.push(`${warnings.length} warning${warnings.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}
