/**
 * Helpers for the sync tests: rooms made through the server's event pipeline (the same path
 * the room endpoints use), and sync requests.
 *
 * @module
 */

import { roomVersion } from "../../federation/room_versions.ts";
import type { JsonObject } from "../../federation/types.ts";
import type { TestResponse, TestServer, TestUser } from "./test_server.ts";

/** Creates a room (version 11) with the usual initial state; returns its ID. */
export async function makeRoom(
  t: TestServer,
  creator: TestUser,
  options: { joinRule?: string; historyVisibility?: string; name?: string } = {},
): Promise<string> {
  const rules = roomVersion("11")!;
  const pipeline = t.hs.pipeline;
  const create = await pipeline.createRoom(rules, {
    sender: creator.userId,
    content: { room_version: "11" },
  });
  const roomId = create.event.roomId;
  const state = (type: string, content: Record<string, unknown>, stateKey = "") =>
    pipeline.sendEvent(roomId, {
      type,
      stateKey,
      sender: creator.userId,
      content: content as JsonObject,
    });
  await state(
    "m.room.member",
    { membership: "join", displayname: creator.userId.slice(1, 6) },
    creator.userId,
  );
  await state("m.room.power_levels", { users: { [creator.userId]: 100 } });
  await state("m.room.join_rules", { join_rule: options.joinRule ?? "public" });
  await state("m.room.history_visibility", {
    history_visibility: options.historyVisibility ?? "shared",
  });
  if (options.name) await state("m.room.name", { name: options.name });
  return roomId;
}

/** Sets a user's membership (join, invite by the sender, leave, ban). */
export async function membership(
  t: TestServer,
  roomId: string,
  change: { sender: TestUser; target: TestUser; membership: string; reason?: string },
): Promise<string> {
  const content: Record<string, unknown> = { membership: change.membership };
  if (change.reason) content.reason = change.reason;
  const stored = await t.hs.pipeline.sendEvent(roomId, {
    type: "m.room.member",
    stateKey: change.target.userId,
    sender: change.sender.userId,
    content: content as JsonObject,
  });
  return stored.event.eventId;
}

/** Sends a message event; returns its ID. */
export async function send(
  t: TestServer,
  roomId: string,
  sender: TestUser,
  content: Record<string, unknown>,
  type = "m.room.message",
): Promise<string> {
  const stored = await t.hs.pipeline.sendEvent(roomId, {
    type,
    sender: sender.userId,
    content: content as JsonObject,
  });
  return stored.event.eventId;
}

/** A text message content. */
export function text(body: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { msgtype: "m.text", body, ...extra };
}

/** `GET /sync` with query parameters. */
export function sync(
  t: TestServer,
  user: TestUser,
  params: Record<string, string | number | boolean | object> = {},
): Promise<TestResponse> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    query.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return t.request("GET", `/_matrix/client/v3/sync?${query}`, { token: user.accessToken });
}

/** Event types of a timeline or state section. */
export function types(section: { events: { type: string }[] } | undefined): string[] {
  return (section?.events ?? []).map((event) => event.type);
}
