/**
 * Turns for optimistic writers. Many stores update a record by reading it, building the new
 * value and committing with a check of what they read, retrying when another commit got there
 * first. That is right against other processes (the CLI on the same data directory), but within
 * this process a burst of writes to one record (a client sending the same account data, display
 * name or device name many times at once) made every writer retry against all the others until
 * the retries ran out. Writers of one record therefore take turns here: one at a time per key
 * and KV handle, first come first served, and the check still guards against other processes.
 *
 * When retries run out all the same, {@link ContentionError} tells the client to try again
 * (the app answers 429 `M_LIMIT_EXCEEDED` with `retry_after_ms`), not an internal error.
 *
 * @module
 */

/** A write kept losing optimistic races (to another process): the client may try again. */
export class ContentionError extends Error {
  /** Stable code for the app's error handler. */
  readonly code = "CONTENTION";

  /** @param what names the write, for the message and logs */
  constructor(what: string) {
    super(`${what} kept conflicting with concurrent changes; try again`);
    this.name = "ContentionError";
  }
}

const turnsByKv = new WeakMap<Deno.Kv, Map<string, Promise<unknown>>>();

/**
 * Runs `fn` once the earlier calls with the same `key` on the same KV handle have settled.
 * Never nest two turns of the same key: the inner one would wait for the outer forever.
 *
 * @param key names the record (or the set of records) the writer rewrites
 */
export async function inTurn<T>(
  kv: Deno.Kv,
  key: readonly (string | number)[],
  fn: () => Promise<T>,
): Promise<T> {
  let turns = turnsByKv.get(kv);
  if (!turns) turnsByKv.set(kv, turns = new Map());
  const name = key.join("\u0000");
  const previous = turns.get(name) ?? Promise.resolve();
  const mine = previous.catch(() => {}).then(fn);
  turns.set(name, mine);
  try {
    return await mine;
  } finally {
    // The last in line removes the chain, so the map only holds keys with writes in flight.
    if (turns.get(name) === mine) turns.delete(name);
  }
}
