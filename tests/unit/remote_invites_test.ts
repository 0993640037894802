/**
 * The pure parts of out-of-room memberships: stripped state from what another server sent
 * (full PDUs or stripped events; malformed and oversized entries dropped, at most 50), and the
 * room record of a room known only from an invite.
 */
import { assertEquals } from "./assert.ts";
import { roomVersion } from "../../federation/room_versions.ts";
import type { RoomEvent } from "../../federation/types.ts";
import {
  MAX_STRIPPED_STATE,
  outOfRoomRecord,
  strippedStateOf,
} from "../../server/rooms/remote_invites.ts";

Deno.test("strippedStateOf keeps the four stripped fields of well-formed entries", () => {
  const full = {
    type: "m.room.name",
    state_key: "",
    sender: "@a:x",
    content: { name: "N" },
    auth_events: [],
    signatures: {},
  };
  const out = strippedStateOf([
    full,
    { type: "m.room.topic", state_key: "", sender: "@a:x", content: { topic: "T" } },
    { type: "m.room.topic", sender: "@a:x", content: {} },
    { type: "m.room.avatar", state_key: "", sender: "@a:x", content: [] },
    "text",
    null,
    { type: "m.room.big", state_key: "", sender: "@a:x", content: { v: "x".repeat(20_000) } },
  ]);
  assertEquals(out, [
    { type: "m.room.name", state_key: "", sender: "@a:x", content: { name: "N" } },
    { type: "m.room.topic", state_key: "", sender: "@a:x", content: { topic: "T" } },
  ]);
  const many = Array.from({ length: 80 }, (_, i) => ({
    type: `t${i}`,
    state_key: "",
    sender: "@a:x",
    content: {},
  }));
  assertEquals(strippedStateOf(many).length, MAX_STRIPPED_STATE);
});

Deno.test("outOfRoomRecord derives the v12 create event ID from the room ID", () => {
  const event = {
    roomId: "!abc",
    sender: "@a:x",
    originServerTs: 5,
  } as unknown as RoomEvent;
  const stripped = [{ type: "m.room.create", state_key: "", sender: "@c:x", content: {} }];
  const v12 = outOfRoomRecord(event, roomVersion("12")!, stripped);
  assertEquals(v12, {
    roomId: "!abc",
    roomVersion: "12",
    createEventId: "$abc",
    creator: "@c:x",
    createdTs: 5,
  });
  assertEquals(outOfRoomRecord(event, roomVersion("10")!, []).createEventId, "");
  assertEquals(outOfRoomRecord(event, roomVersion("10")!, [], "$known").createEventId, "$known");
  assertEquals(outOfRoomRecord(event, roomVersion("10")!, []).creator, "@a:x");
});
