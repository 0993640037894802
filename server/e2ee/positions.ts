/**
 * The E2EE code's one door to the server's global stream: every device-list change and every
 * queued to-device message is written at a stream position, in the same commit that advances
 * `["meta","stream"]`, so that `/sync` tokens order them with room events.
 *
 * This module is deliberately narrow (one commit at one new position; the visible position), so
 * that the E2EE stores do not depend on how the sequencer is built.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { commitAtPosition as commitAt, STREAM_META_KEY as KEY } from "../stream.ts";

/** The key of the global stream position. */
export const STREAM_META_KEY: Deno.KvKey = KEY;

/**
 * Commits `build`'s mutations at a fresh stream position, retrying with a new position when
 * `build`'s checks fail (up to `attempts` times).
 *
 * @param build adds mutations and checks to `op`; returning false abandons the write
 * @returns the position written at, or null when `build` abandoned the write or its checks
 *   failed `attempts` times (the caller re-reads and decides)
 */
export function commitAtPosition(
  hs: Homeserver,
  build: (op: Deno.AtomicOperation, pos: number) => Promise<boolean | void> | boolean | void,
  options: { attempts?: number } = {},
): Promise<number | null> {
  return commitAt(hs.kv, hs.stream, build, options);
}

/**
 * The highest stream position below which every write has finished: a reader that stops here
 * never skips a write that commits later at a lower position.
 */
export function visiblePosition(hs: Homeserver): Promise<number> {
  return Promise.resolve(hs.stream.visiblePosition);
}
