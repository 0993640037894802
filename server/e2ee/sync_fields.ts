/**
 * The E2EE parts of `/sync` and `/keys/changes` (placeholder until sync lands).
 *
 * @module
 */
import type { Homeserver } from "../homeserver.ts";

/** `/keys/changes`. */
export function keyChanges(
  _hs: Homeserver,
  _userId: string,
  _range: { from: string; to: string },
): Promise<{ changed: string[]; left: string[] }> {
  return Promise.resolve({ changed: [], left: [] });
}
