/**
 * Helpers for the rooms integration tests: a server with a few users, and short request
 * wrappers for the room endpoints.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import {
  type TestResponse,
  type TestServer,
  type TestUser,
  withTestServer,
} from "../support/test_server.ts";

/** Client-Server API v3 prefix. */
export const V3 = "/_matrix/client/v3";

/** Path-encodes an identifier. */
export const enc = encodeURIComponent;

/** Runs `fn` with a fresh in-memory server, closing it afterwards. */
export const withRoomServer = withTestServer;

/** Creates a room and returns its ID (asserting 200). */
export async function createRoom(
  t: TestServer,
  user: TestUser,
  body: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.request("POST", `${V3}/createRoom`, { token: user.accessToken, body });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

/**
 * Creates a public room whose history members see only from their join on
 * (`history_visibility: joined`); returns its ID (asserting 200).
 */
export function createJoinedHistoryRoom(t: TestServer, user: TestUser): Promise<string> {
  return createRoom(t, user, {
    preset: "public_chat",
    initial_state: [{
      type: "m.room.history_visibility",
      state_key: "",
      content: { history_visibility: "joined" },
    }],
  });
}

/**
 * Alice signed in on two devices (PHONE, the one `alice` holds, and LAPTOP) and bob, both
 * joined to a public room of alice's.
 */
export async function aliceOnTwoDevicesWithBob(t: TestServer) {
  const alice = await t.register("alice", { deviceId: "PHONE" });
  const laptop = await t.login("alice", alice.password, { device_id: "LAPTOP" });
  const bob = await t.register("bob");
  const roomId = await createRoom(t, alice, { preset: "public_chat" });
  assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
  return { alice, laptop, bob, roomId };
}

/** Sends a message; returns the response. */
export function send(
  t: TestServer,
  user: TestUser,
  roomId: string,
  content: Record<string, unknown>,
  options: { type?: string; txnId?: string } = {},
): Promise<TestResponse> {
  const txn = options.txnId ?? crypto.randomUUID();
  return t.request(
    "PUT",
    `${V3}/rooms/${enc(roomId)}/send/${enc(options.type ?? "m.room.message")}/${enc(txn)}`,
    { token: user.accessToken, body: content },
  );
}

/** Sends a message (or an event of `options.type`), asserting 200; returns its event ID. */
export async function sendOk(
  t: TestServer,
  user: TestUser,
  roomId: string,
  content: Record<string, unknown>,
  options: { type?: string } = {},
): Promise<string> {
  const res = await send(t, user, roomId, content, options);
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

/** Sends an `m.text` message with `body`, asserting 200; returns its event ID. */
export function sendText(
  t: TestServer,
  user: TestUser,
  roomId: string,
  body: string,
): Promise<string> {
  return sendOk(t, user, roomId, { msgtype: "m.text", body });
}

/** Joins a room through `POST /join/{roomIdOrAlias}`, asserting 200. */
export async function joinRoom(t: TestServer, user: TestUser, roomIdOrAlias: string) {
  const res = await t.request("POST", `${V3}/join/${enc(roomIdOrAlias)}`, {
    token: user.accessToken,
    body: {},
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

/** A POST to a room endpoint (`join`, `invite`, `leave`, `kick`, ...). */
export function roomPost(
  t: TestServer,
  user: TestUser,
  roomId: string,
  action: string,
  body: Record<string, unknown> = {},
): Promise<TestResponse> {
  return t.request("POST", `${V3}/rooms/${enc(roomId)}/${action}`, {
    token: user.accessToken,
    body,
  });
}

/** GET a state event's content. */
export function getState(
  t: TestServer,
  user: TestUser,
  roomId: string,
  type: string,
  stateKey = "",
): Promise<TestResponse> {
  return t.request("GET", `${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, {
    token: user.accessToken,
  });
}

/** PUT a state event. */
export function putState(
  t: TestServer,
  user: TestUser,
  roomId: string,
  type: string,
  content: Record<string, unknown>,
  stateKey = "",
): Promise<TestResponse> {
  return t.request("PUT", `${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, {
    token: user.accessToken,
    body: content,
  });
}

/** GET /rooms/{roomId}/event/{eventId}. */
export function getEvent(
  t: TestServer,
  user: TestUser,
  roomId: string,
  eventId: string,
): Promise<TestResponse> {
  return t.request("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`, {
    token: user.accessToken,
  });
}
