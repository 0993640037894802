/**
 * Auth rules for m.room.create, the create-event checks every event goes through (present,
 * v12 room ID, m.federate) and the creator's first join, in every room version.
 */
import { checkAuth } from "../../federation/auth_rules.ts";
import { fakeEvent } from "../support/room_builder.ts";
import {
  ALICE,
  ALL_VERSIONS,
  BOB,
  buildEvent,
  CAROL,
  check,
  checkWithAuthEvents,
  expectRejection,
  expectVerdict,
  makeCreate,
  makeRoom,
  rulesOf,
  setMember,
} from "./auth_rules_fixture.ts";

function noState() {
  return undefined;
}

for (const v of ALL_VERSIONS) {
  const rules = rulesOf(v);

  Deno.test(`create v${v}: a well-formed create event is accepted`, () => {
    expectVerdict(checkAuth(makeCreate(v), noState, rules), true, "create");
  });

  Deno.test(`create v${v}: prev_events are rejected`, () => {
    const create = makeCreate(v);
    const withPrev = { ...create, prevEvents: ["$OTHER"] };
    expectRejection(checkAuth(withPrev, noState, rules), "prev_events", "create with prev");
  });

  Deno.test(`create v${v}: room_id domain must match the sender (v1-v11); v12 has none`, () => {
    const create = makeCreate(v);
    if (rules.roomIdFromCreateEvent) {
      const withRoomId = { ...create, pdu: { ...create.pdu, room_id: "!CREATE" } };
      expectRejection(checkAuth(withRoomId, noState, rules), "room_id", "v12 create with room_id");
    } else {
      const foreign = { ...create, roomId: "!room:other.org" };
      expectRejection(checkAuth(foreign, noState, rules), "domain", "foreign room_id");
    }
  });

  Deno.test(`create v${v}: unknown room_version is rejected`, () => {
    expectRejection(
      checkAuth(makeCreate(v, { room_version: "99" }), noState, rules),
      "room_version",
      "unknown version",
    );
    expectVerdict(checkAuth(makeCreate(v, { room_version: 5 }), noState, rules), false, "number");
    const noVersion = makeCreate(v);
    delete (noVersion.content as Record<string, unknown>).room_version;
    expectVerdict(checkAuth(noVersion, noState, rules), true, "absent room_version");
  });

  Deno.test(`create v${v}: content.creator required in v1-v10 only`, () => {
    const create = makeCreate(v);
    const { creator: _, ...content } = create.content;
    const verdict = checkAuth({ ...create, content }, noState, rules);
    expectVerdict(verdict, !rules.createHasCreator, "create without creator");
  });

  Deno.test(`create v${v}: additional_creators must be user IDs (checked in v12 only)`, () => {
    const bad = makeCreate(v, { additional_creators: ["not-a-user"] });
    expectVerdict(checkAuth(bad, noState, rules), !rules.privilegedCreators, "bad entry");
    const notArray = makeCreate(v, { additional_creators: BOB });
    expectVerdict(checkAuth(notArray, noState, rules), !rules.privilegedCreators, "not array");
    const good = makeCreate(v, { additional_creators: [BOB, CAROL] });
    expectVerdict(checkAuth(good, noState, rules), true, "valid additional_creators");
  });

  Deno.test(`create v${v}: an event without a create event in state is rejected`, () => {
    const room = makeRoom(v);
    const msg = buildEvent(room, { type: "m.room.message", sender: ALICE, content: {} });
    const lookup = (type: string, key: string) =>
      type === "m.room.create" ? undefined : room.lookup(type, key);
    expectRejection(checkAuth(msg, lookup, rules), "m.room.create", "no create");
  });

  Deno.test(`create v${v}: m.federate false keeps other servers out`, () => {
    const room = makeRoom(v, { createContent: { "m.federate": false } });
    expectRejection(check(room, buildJoin(room, CAROL)), "m.federate", "foreign join");
    expectVerdict(check(room, buildJoin(room, BOB)), true, "same-server join");
  });

  Deno.test(`create v${v}: the creator's first join needs only the create event`, () => {
    const room = makeRoom(v, { createOnly: true });
    const join = buildJoin(room, ALICE);
    expectVerdict(check(room, join), true, "creator's first join");
    expectVerdict(checkWithAuthEvents(room, join), true, "first join by auth events");
    expectVerdict(check(room, buildJoin(room, BOB)), false, "someone else's first join");
  });

  Deno.test(`create v${v}: first join names content.creator (v1-v10) or the sender (v11+)`, () => {
    const room = makeRoom(v, { createOnly: true, createContent: { creator: BOB } });
    expectVerdict(check(room, buildJoin(room, BOB)), rules.createHasCreator, "content.creator");
    expectVerdict(check(room, buildJoin(room, ALICE)), !rules.createHasCreator, "create sender");
  });

  Deno.test(`create v${v}: the first-join shortcut needs the create as only prev event`, () => {
    const room = makeRoom(v, { createOnly: true });
    const join = buildEvent(room, {
      type: "m.room.member",
      stateKey: ALICE,
      sender: ALICE,
      content: { membership: "join" },
      prevEvents: ["$CREATE", "$OTHER"],
    });
    // With no join rules the room counts as invite-only, so the join is then refused.
    expectVerdict(check(room, join), false, "two prev events");
  });
}

Deno.test("create v12: an event whose room_id is not the create event's ID is rejected", () => {
  const room = makeRoom("12");
  setMember(room, BOB, "join");
  const msg = buildEvent(room, { type: "m.room.message", sender: BOB, roomId: "!ELSEWHERE" });
  expectRejection(check(room, msg), "room_id", "wrong room");
});

Deno.test("create v1-v11: an event in a room with another create ID is still judged by state", () => {
  // Before v12 the room ID does not name the create event; any create in state counts.
  const room = makeRoom("11");
  const create = fakeEvent({
    id: "$OTHER",
    type: "m.room.create",
    stateKey: "",
    sender: ALICE,
    content: {},
  });
  const msg = buildEvent(room, { type: "m.room.message", sender: ALICE });
  const lookup = (type: string, key: string) =>
    type === "m.room.create" ? create : room.lookup(type, key);
  expectVerdict(checkAuth(msg, lookup, room.rules), true, "v11 message");
});

function buildJoin(room: ReturnType<typeof makeRoom>, user: string) {
  return buildEvent(room, {
    type: "m.room.member",
    stateKey: user,
    sender: user,
    content: { membership: "join" },
  });
}
