// nft's error output -> the messages in it. With JSON input nft 1.0.6 locates nothing (`internal:0:0-0:`), so
// the location prefix carries no information and is dropped; which command failed is found by locate.ts.

const ERROR_LINE = /^(?:\S*:\d+:\d+-\d+: )?Error: (.*)$/;

/**
 * The `Error:` messages of nft's stderr, in order. Output without any (a wrapper's own words, a crash) is kept
 * whole, so a failure never ends up without a reason.
 */
export function parseNftErrors(stderr: string): string[] {
  const messages = stderr
    .split('\n')
    .map((line) => ERROR_LINE.exec(line.trimEnd())?.[1])
    .filter((message): message is string => message !== undefined && message !== '');
  if (messages.length > 0) return messages;
  const whole = stderr.trim();
  return whole === '' ? ['nft failed without a message'] : [whole];
}
