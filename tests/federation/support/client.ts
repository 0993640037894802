/**
 * Client-Server API calls the federation tests make of any server (a gemeng node or the
 * Synapse peer): rooms, joins through a server, messages, edits, redactions, state, timelines.
 * Each asserts success where a test relies on it.
 *
 * @module
 */

import { assertEquals } from "../../unit/assert.ts";
import type { GemengNode } from "./gemeng_node.ts";
import type { SynapsePeer } from "./synapse.ts";

/** A server the tests talk to as a client. */
export type Peer = Pick<GemengNode, "request"> | Pick<SynapsePeer, "request">;
/** A signed-in user. */
export type User = { userId: string; accessToken: string };
// deno-lint-ignore no-explicit-any
type Json = any;

/** The client API path of a room. */
export const room = (id: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(id)}`;

export async function createRoom(peer: Peer, user: User, body: Record<string, unknown>) {
  const res = await peer.request("POST", "/_matrix/client/v3/createRoom", {
    token: user.accessToken,
    body,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id as string;
}

export async function join(peer: Peer, user: User, roomId: string, via: string) {
  const res = await peer.request(
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(via)}`,
    { token: user.accessToken, body: {} },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

export async function joined(peer: Peer, user: User, roomId: string, who: string) {
  const res = await peer.request("GET", `${room(roomId)}/joined_members`, {
    token: user.accessToken,
  });
  return res.status === 200 && who in res.body.joined;
}

export async function send(peer: Peer, user: User, roomId: string, content: Json) {
  const res = await peer.request(
    "PUT",
    `${room(roomId)}/send/m.room.message/${crypto.randomUUID()}`,
    { token: user.accessToken, body: content },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

/** A plain text message content. */
export const text = (body: string) => ({ msgtype: "m.text", body });

export function editOf(target: string, body: string) {
  return {
    msgtype: "m.text",
    body: `* ${body}`,
    "m.new_content": { msgtype: "m.text", body },
    "m.relates_to": { rel_type: "m.replace", event_id: target },
  };
}

export async function redact(peer: Peer, user: User, roomId: string, target: string) {
  const res = await peer.request(
    "PUT",
    `${room(roomId)}/redact/${encodeURIComponent(target)}/${crypto.randomUUID()}`,
    { token: user.accessToken, body: { reason: "test" } },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

export async function eventOn(peer: Peer, user: User, roomId: string, eventId: string) {
  return await peer.request("GET", `${room(roomId)}/event/${encodeURIComponent(eventId)}`, {
    token: user.accessToken,
  });
}

export async function setState(
  peer: Peer,
  user: User,
  roomId: string,
  type: string,
  content: Json,
) {
  const res = await peer.request("PUT", `${room(roomId)}/state/${type}`, {
    token: user.accessToken,
    body: content,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

export async function stateEvent(peer: Peer, user: User, roomId: string, type: string) {
  const res = await peer.request("GET", `${room(roomId)}/state/${type}`, {
    token: user.accessToken,
  });
  return res.status === 200 ? res.body : null;
}

/** The event ID of the current state event of `type` (with an empty state key). */
export async function stateEventId(peer: Peer, user: User, roomId: string, type: string) {
  const res = await peer.request("GET", `${room(roomId)}/state`, { token: user.accessToken });
  if (res.status !== 200) return null;
  return (res.body as Json[]).find((e) => e.type === type && e.state_key === "")?.event_id ??
    null;
}

/** The event IDs of the room's timeline (newest 200), oldest first. */
export async function timelineIds(peer: Peer, user: User, roomId: string) {
  const res = await peer.request("GET", `${room(roomId)}/messages?dir=b&limit=200`, {
    token: user.accessToken,
  });
  if (res.status !== 200) return [];
  return (res.body.chunk as Json[]).map((e) => e.event_id as string).reverse();
}

export async function replacements(peer: Peer, user: User, roomId: string, eventId: string) {
  const res = await peer.request(
    "GET",
    `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/relations/${
      encodeURIComponent(eventId)
    }/m.replace`,
    { token: user.accessToken },
  );
  return res.status === 200 ? (res.body.chunk as Json[]).map((e) => e.event_id as string) : [];
}

/** The room's current state as a sorted "type|state_key" -> event ID object (comparable). */
export async function stateIds(node: Peer, user: User, roomId: string) {
  const res = await node.request("GET", `${room(roomId)}/state`, { token: user.accessToken });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  const pairs: [string, string][] = (res.body as Json[]).map((e) => [
    `${e.type}|${e.state_key}`,
    e.event_id,
  ]);
  // Sorted, so that equal states compare equal as JSON.
  return Object.fromEntries(pairs.sort(([x], [y]) => x < y ? -1 : x > y ? 1 : 0));
}

/** Sends a text message; returns its event ID. */
export async function sendText(peer: Peer, user: User, roomId: string, body: string) {
  return await send(peer, user, roomId, text(body));
}

/** `POST /_matrix/client/v3{path}`, which must succeed; returns the answer. */
export async function post(peer: Peer, user: User, path: string, body: unknown = {}) {
  const res = await peer.request("POST", `/_matrix/client/v3${path}`, {
    token: user.accessToken,
    body,
  });
  assertEquals(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** One `/sync` without waiting (an initial sync). */
export async function syncNow(peer: Peer, user: User): Promise<Json> {
  const res = await peer.request("GET", "/_matrix/client/v3/sync?timeout=0", {
    token: user.accessToken,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}
