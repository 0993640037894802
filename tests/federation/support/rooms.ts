/**
 * Helpers for room tests across servers: waiting for something to arrive, reading what a user
 * sees of a room (works against gemeng nodes and the Synapse peer alike).
 *
 * @module
 */

import type { GemengNode, NodeUser } from "./gemeng_node.ts";

/** Polls `fn` until it returns a value (or times out). */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (true) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The bodies of the m.room.message events a user sees in a room, oldest first. */
export async function messageBodies(
  node: Pick<GemengNode, "request">,
  user: NodeUser,
  roomId: string,
): Promise<string[]> {
  const res = await node.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
    { token: user.accessToken },
  );
  if (res.status !== 200) return [];
  // deno-lint-ignore no-explicit-any
  return res.body.chunk.filter((e: any) => e.type === "m.room.message")
    // deno-lint-ignore no-explicit-any
    .map((e: any) => e.content.body).reverse();
}
