/**
 * Server-side set-up shared by the browser tests: display names, a room of two or a direct chat
 * made over the Client-Server API, and waiting for a browser's device keys to reach the server.
 *
 * @module
 */

import type { TestServer, TestUser } from "../support/test_server.ts";
import { assertEquals } from "../unit/assert.ts";

/** Sets `user`'s display name over the Client-Server API. */
export async function setDisplayName(
  server: TestServer,
  user: TestUser,
  displayname: string,
): Promise<void> {
  const res = await server.request(
    "PUT",
    `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`,
    { token: user.accessToken, body: { displayname } },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

/**
 * A room `owner` creates and `guest` joins; encrypted from its first event if asked. Private
 * unless `preset` says otherwise.
 */
export function createRoomOfTwo(
  server: TestServer,
  owner: TestUser,
  guest: TestUser,
  options: { name: string; encrypted: boolean; preset?: "private_chat" | "public_chat" },
): Promise<string> {
  return createAndJoin(server, owner, guest, {
    name: options.name,
    preset: options.preset ?? "private_chat",
    invite: [guest.userId],
    initial_state: options.encrypted
      ? [{
        type: "m.room.encryption",
        state_key: "",
        content: { algorithm: "m.megolm.v1.aes-sha2" },
      }]
      : [],
  });
}

/**
 * A direct chat `owner` starts with `guest` (invited with `is_direct`, no preset: the server's
 * defaults apply, encryption included) and `guest` joins.
 */
export function createDirectChat(
  server: TestServer,
  owner: TestUser,
  guest: TestUser,
  options: { name: string },
): Promise<string> {
  return createAndJoin(server, owner, guest, {
    name: options.name,
    invite: [guest.userId],
    is_direct: true,
  });
}

/** Creates a room as `owner` with the `createRoom` body given; `guest` joins it. */
async function createAndJoin(
  server: TestServer,
  owner: TestUser,
  guest: TestUser,
  body: Record<string, unknown>,
): Promise<string> {
  const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
    token: owner.accessToken,
    body,
  });
  assertEquals(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id as string;
  const joined = await server.request(
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
    { token: guest.accessToken, body: {} },
  );
  assertEquals(joined.status, 200, JSON.stringify(joined.body));
  return roomId;
}

/**
 * Waits until some device of `user` has uploaded its keys (a browser's crypto is up and can
 * receive room keys); the test's own sign-up device has none.
 */
export async function waitForDeviceKeys(
  server: TestServer,
  user: TestUser,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.request("POST", "/_matrix/client/v3/keys/query", {
      token: user.accessToken,
      body: { device_keys: { [user.userId]: [] } },
    });
    assertEquals(res.status, 200);
    const devices = res.body.device_keys?.[user.userId] ?? {};
    if (Object.keys(devices).length > 0) return;
    if (Date.now() > deadline) throw new Error(`no device keys for ${user.userId}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
