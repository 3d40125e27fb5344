/**
 * Strings in UTF-16 code-unit order (what `<` compares): the same on every machine, whatever the locale, so
 * sorted output (plans, listings, digests, proposals) never depends on where it was produced.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
