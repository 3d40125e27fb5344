/**
 * Waits for `done` to hold, asking every 20 ms; fails naming `what` once `timeoutMs` has passed. For state that
 * settles asynchronously (an agent's syncs, a process coming up), where a fixed sleep would be either flaky or slow.
 */
export async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
