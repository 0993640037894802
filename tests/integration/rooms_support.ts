/**
 * Helpers for the rooms integration tests: a server with a few users, and short request
 * wrappers for the room endpoints.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import {
  startTestServer,
  type TestResponse,
  type TestServer,
  type TestUser,
} from "../support/test_server.ts";

/** Client-Server API v3 prefix. */
export const V3 = "/_matrix/client/v3";

/** Path-encodes an identifier. */
export const enc = encodeURIComponent;

/** Runs `fn` with a fresh in-memory server, closing it afterwards. */
export async function withRoomServer(
  fn: (t: TestServer) => Promise<void>,
  config?: Record<string, unknown>,
): Promise<void> {
  const t = await startTestServer({ config });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

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
