/**
 * Waiting for a condition that something else (a client's sync loop, a background task of the
 * server) makes true.
 *
 * @module
 */

/** How long {@link until} waits, and how often it looks. */
export interface UntilOptions {
  /** Give up after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Pause between two looks, in milliseconds (default 25). */
  intervalMs?: number;
}

/**
 * Calls `check` until it gives a truthy value and returns that value; throws
 * `timed out waiting for <what>` once `timeoutMs` have passed without one.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value as T;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
