/**
 * Ignoring people (spec: "Ignoring Users"): the `m.ignored_user_list` account data. The server
 * then leaves their events out of what it sends; undoing it lists them again.
 *
 * @module
 */

import type { MatrixClient } from "matrix-js-sdk";

/** Whether `userId` is ignored. */
export function isIgnored(client: MatrixClient, userId: string): boolean {
  return client.getIgnoredUsers().includes(userId);
}

/** Ignores `userId`, or stops ignoring them. */
export async function setIgnored(
  client: MatrixClient,
  userId: string,
  ignored: boolean,
): Promise<void> {
  const others = client.getIgnoredUsers().filter((id) => id !== userId);
  await client.setIgnoredUsers(ignored ? [...others, userId] : others);
}
