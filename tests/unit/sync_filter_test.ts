import { assert, assertEquals, assertThrows } from "./assert.ts";
import { MatrixError } from "../../server/errors.ts";
import {
  eventAllowed,
  parseRoomEventFilter,
  parseSyncFilter,
  projectEventFields,
  roomAllowed,
  roomEventAllowed,
  splitPropertyPath,
} from "../../server/sync/filter.ts";

const message = (extra: Record<string, unknown> = {}) => ({
  type: "m.room.message",
  sender: "@bob:example.org",
  room_id: "!a:example.org",
  content: { body: "hi" },
  ...extra,
});

Deno.test("filter: types with * wildcards and not_types win over types", () => {
  const filter = parseRoomEventFilter({
    types: ["m.room.*", "org.example"],
    not_types: ["m.room.member"],
  });
  assert(roomEventAllowed(filter, message()));
  assert(roomEventAllowed(filter, message({ type: "org.example" })));
  assert(!roomEventAllowed(filter, message({ type: "org.example.other" })));
  assert(!roomEventAllowed(filter, message({ type: "m.room.member" })));
  assert(!roomEventAllowed(filter, message({ type: "m.reaction" })));
  const all = parseRoomEventFilter({ not_types: ["*"] });
  assert(!roomEventAllowed(all, message()));
  const dots = parseRoomEventFilter({ types: ["m.room.message"] });
  assert(!roomEventAllowed(dots, message({ type: "m.roomXmessage" })));
});

Deno.test("filter: senders, not_senders, rooms, not_rooms, contains_url", () => {
  const filter = parseRoomEventFilter({
    senders: ["@bob:example.org", "@carol:example.org"],
    not_senders: ["@carol:example.org"],
    rooms: ["!a:example.org"],
  });
  assert(roomEventAllowed(filter, message()));
  assert(!roomEventAllowed(filter, message({ sender: "@carol:example.org" })));
  assert(!roomEventAllowed(filter, message({ room_id: "!b:example.org" })));
  assert(!roomAllowed({ notRooms: ["!a:example.org"] }, "!a:example.org"));
  assert(roomAllowed({}, "!a:example.org"));
  const withUrl = parseRoomEventFilter({ contains_url: true });
  const image = message({ content: { body: "x.png", url: "mxc://s/m" } });
  assert(roomEventAllowed(withUrl, image));
  assert(!roomEventAllowed(withUrl, message()));
  const withoutUrl = parseRoomEventFilter({ contains_url: false });
  assert(!roomEventAllowed(withoutUrl, image));
  assert(roomEventAllowed(withoutUrl, message()));
  assert(eventAllowed(parseRoomEventFilter({}), { type: "m.presence", sender: "@x:y" }));
});

Deno.test("filter: the whole Filter, defaults and validation errors", () => {
  const filter = parseSyncFilter({
    room: {
      timeline: { limit: 10, lazy_load_members: true, unread_thread_notifications: true },
      state: { lazy_load_members: true, include_redundant_members: true },
      include_leave: true,
    },
    event_fields: ["type", "content.body"],
  });
  assertEquals(filter.room.timeline.limit, 10);
  assert(filter.room.timeline.lazyLoadMembers);
  assert(filter.room.timeline.unreadThreadNotifications);
  assert(filter.room.state.includeRedundantMembers);
  assert(filter.room.includeLeave);
  assertEquals(filter.eventFormat, "client");
  assertEquals(parseSyncFilter({}).room.timeline.limit, undefined);
  const bad = [
    { room: { timeline: { limit: -1 } } },
    { room: { timeline: { limit: 1.5 } } },
    { room: { timeline: { types: "m.room.message" } } },
    { room: { rooms: ["#alias:example.org"] } },
    { presence: { senders: ["bob"] } },
    { event_format: "xml" },
    { room: "all" },
    { room: { state: { lazy_load_members: "yes" } } },
  ];
  for (const value of bad) {
    const err = assertThrows(() => parseSyncFilter(value), MatrixError);
    assertEquals((err as MatrixError).code, "M_BAD_JSON", JSON.stringify(value));
  }
});

Deno.test("filter: event_fields keep the named paths, with escaped dots", () => {
  assertEquals(splitPropertyPath("content.m\\.relates_to.rel_type"), [
    "content",
    "m.relates_to",
    "rel_type",
  ]);
  assertEquals(splitPropertyPath("a\\\\b.c"), ["a\\b", "c"]);
  assertEquals(splitPropertyPath("a\\xb"), ["a\\xb"]);
  const event = {
    type: "m.room.message",
    sender: "@bob:example.org",
    content: { body: "hi", msgtype: "m.text", "m.relates_to": { rel_type: "m.thread" } },
  };
  assertEquals(projectEventFields(event, ["type", "content.body", "content.m\\.relates_to"]), {
    type: "m.room.message",
    content: { body: "hi", "m.relates_to": { rel_type: "m.thread" } },
  });
  assertEquals(projectEventFields(event, ["missing.path"]), {});
  assertEquals(projectEventFields(event, undefined), event);
});
