/**
 * The web app's room models without a browser: what the room settings let a user change
 * (built on matrix-js-sdk rooms holding hand-made state), roles, Matrix IDs typed into the
 * people search, and recording direct chats.
 */

import * as sdk from "matrix-js-sdk";
import { roleOf, snapshotOf } from "../../web/src/state/room_settings.ts";
import { withDirectChat } from "../../web/src/state/room_list.ts";
import { isUserId } from "../../web/src/state/user_picker.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOM = "!room:example.org";
const ADMIN = "@ada:example.org";
const MODERATOR = "@mo:example.org";
const MEMBER = "@mia:example.org";
const INVITED = "@ivo:example.org";

function stateEvent(type: string, stateKey: string, content: Record<string, unknown>) {
  return new sdk.MatrixEvent({
    type,
    state_key: stateKey,
    content,
    sender: ADMIN,
    room_id: ROOM,
    event_id: `$${type}-${stateKey}`,
    origin_server_ts: 1,
  });
}

/** A version 10 room: Ada admin, Mo moderator, Mia member, Ivo invited. */
function room(viewer: string, extra: sdk.MatrixEvent[] = []): sdk.Room {
  const client = sdk.createClient({ baseUrl: "http://localhost", userId: viewer });
  const room = new sdk.Room(ROOM, client, viewer);
  const member = (userId: string, membership: string) =>
    stateEvent("m.room.member", userId, { membership, displayname: userId.slice(1, 4) });
  room.currentState.setStateEvents([
    stateEvent("m.room.create", "", { room_version: "10", creator: ADMIN }),
    member(ADMIN, "join"),
    member(MODERATOR, "join"),
    member(MEMBER, "join"),
    member(INVITED, "invite"),
    stateEvent("m.room.power_levels", "", {
      users: { [ADMIN]: 100, [MODERATOR]: 50 },
      users_default: 0,
      events: { "m.room.name": 50, "m.room.power_levels": 100, "m.room.encryption": 100 },
      state_default: 50,
      kick: 50,
      ban: 50,
      invite: 0,
    }),
    stateEvent("m.room.name", "", { name: "Conseil" }),
    ...extra,
  ]);
  return room;
}

Deno.test("web rooms: roles by power level", () => {
  assertEquals(roleOf(100), "admin");
  assertEquals(roleOf(50), "moderator");
  assertEquals(roleOf(0), "member");
  assertEquals(roleOf(20), "custom");
  assertEquals(roleOf(Infinity), "creator");
});

Deno.test("web rooms: an admin may change everything below them", () => {
  const snapshot = snapshotOf(room(ADMIN), ADMIN);
  assertEquals(snapshot.name, "Conseil");
  assertEquals(snapshot.encrypted, false);
  assert(snapshot.canName && snapshot.canTopic && snapshot.canAvatar && snapshot.canEncrypt);
  const by = Object.fromEntries(snapshot.members.map((m) => [m.userId, m]));
  assertEquals(snapshot.members.map((m) => m.userId), [ADMIN, MODERATOR, INVITED, MEMBER]);
  assertEquals(by[MODERATOR].role, "moderator");
  assert(by[MODERATOR].canChangeRole && by[MODERATOR].canKick && by[MODERATOR].canBan);
  assert(by[INVITED].canKick, "an invitation can be withdrawn");
  assert(by[ADMIN].canChangeRole, "one's own role");
  assert(!by[ADMIN].canKick && !by[ADMIN].canBan, "not oneself");
  assertEquals(by[MEMBER].maxLevel, 100);
});

Deno.test("web rooms: a moderator may remove members but not change roles", () => {
  const snapshot = snapshotOf(room(MODERATOR), MODERATOR);
  const by = Object.fromEntries(snapshot.members.map((m) => [m.userId, m]));
  assert(snapshot.canName && snapshot.canTopic, "name 50, topic state_default 50");
  assert(!snapshot.canEncrypt, "encryption needs 100");
  assert(!by[MEMBER].canChangeRole, "power levels need 100");
  assert(by[MEMBER].canKick && by[MEMBER].canBan);
  assert(!by[ADMIN].canKick && !by[ADMIN].canBan, "not someone above");
});

Deno.test("web rooms: a member may change nothing", () => {
  const snapshot = snapshotOf(room(MEMBER), MEMBER);
  assert(!snapshot.canName && !snapshot.canTopic && !snapshot.canAvatar && !snapshot.canEncrypt);
  for (const member of snapshot.members) {
    assert(!member.canChangeRole && !member.canKick && !member.canBan, member.userId);
  }
});

Deno.test("web rooms: room version 12 creators stand above every role", () => {
  const creatorRoom = room(ADMIN, [
    stateEvent("m.room.create", "", { room_version: "12" }),
  ]);
  const snapshot = snapshotOf(creatorRoom, MODERATOR);
  const admin = snapshot.members.find((m) => m.userId === ADMIN)!;
  assertEquals(admin.role, "creator");
  assert(!admin.canChangeRole && !admin.canKick && !admin.canBan);
});

Deno.test("web rooms: full Matrix IDs, on any server", () => {
  assert(isUserId("@anna:example.org"));
  assert(isUserId("@anna:localhost:8448"));
  assert(!isUserId("anna"));
  assert(!isUserId("@anna"));
  assert(!isUserId("@an na:example.org"));
});

Deno.test("web rooms: recording a direct chat keeps the others", () => {
  const before = { "@b:x": ["!1:x"] };
  const after = withDirectChat(before, "@b:x", "!2:x");
  assertEquals(after, { "@b:x": ["!1:x", "!2:x"] });
  assertEquals(before, { "@b:x": ["!1:x"] }, "not changed in place");
  assertEquals(withDirectChat(after, "@c:x", "!3:x")["@c:x"], ["!3:x"]);
  assert(withDirectChat(after, "@b:x", "!1:x") === after, "already there");
});
