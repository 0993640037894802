/**
 * The m.room.power_levels auth rule per room version: value formats, the users map, and who
 * may change which level.
 */
import type { JsonObject } from "../../federation/types.ts";
import {
  ALICE,
  ALL_VERSIONS,
  BOB,
  buildEvent,
  CAROL,
  check,
  checkWithAuthEvents,
  defaultPowerLevels,
  expectRejection,
  expectVerdict,
  makeRoom,
  rulesOf,
  setMember,
  type TestRoom,
} from "./auth_rules_fixture.ts";

function powerLevels(room: TestRoom, sender: string, content: JsonObject) {
  return buildEvent(room, { type: "m.room.power_levels", stateKey: "", sender, content });
}

/** A room where Bob (joined) has 50 and Alice 100 (v12: Alice is a creator, so infinite). */
function roomWithBob(v: string, extra: JsonObject = {}): TestRoom {
  const room = makeRoom(v, { powerLevels: { ...basePl(v), ...extra } });
  setMember(room, BOB, "join");
  return room;
}

function basePl(v: string): JsonObject {
  const users = defaultPowerLevels(rulesOf(v)).users as JsonObject;
  return { users: { ...users, [BOB]: 50 } };
}

for (const v of ALL_VERSIONS) {
  const rules = rulesOf(v);

  Deno.test(`power_levels v${v}: the first power levels event is allowed`, () => {
    const room = makeRoom(v, { powerLevels: null });
    const pl = powerLevels(room, ALICE, defaultPowerLevels(rules));
    expectVerdict(check(room, pl), true, "initial power levels");
    expectVerdict(checkWithAuthEvents(room, pl), true, "by auth events");
  });

  Deno.test(`power_levels v${v}: integer-like strings accepted in v1-v9 only`, () => {
    const room = makeRoom(v);
    const content = {
      ...defaultPowerLevels(rules),
      ban: " +50 ",
      events: { "m.room.name": "050" },
      users_default: "0",
    };
    expectVerdict(check(room, powerLevels(room, ALICE, content)), !rules.integerPowerLevels, "s");
    const user = { users: { ...defaultPowerLevels(rules).users as JsonObject, [BOB]: "20" } };
    expectVerdict(check(room, powerLevels(room, ALICE, user)), !rules.integerPowerLevels, "u");
    const junk = { ...defaultPowerLevels(rules), kick: "5x" };
    expectRejection(check(room, powerLevels(room, ALICE, junk)), "kick", "junk string");
  });

  Deno.test(`power_levels v${v}: floats accepted (truncated) in v1-v5 only`, () => {
    const room = makeRoom(v);
    const content = { ...defaultPowerLevels(rules), state_default: 50.7 };
    expectVerdict(check(room, powerLevels(room, ALICE, content)), !rules.strictCanonicalJson, "f");
  });

  Deno.test(`power_levels v${v}: users must map user IDs to levels`, () => {
    const room = makeRoom(v);
    const badKey = { users: { ...defaultPowerLevels(rules).users as JsonObject, "bob": 10 } };
    expectRejection(check(room, powerLevels(room, ALICE, badKey)), "user ID", "bad key");
    const notObject = { users: [ALICE] };
    expectRejection(check(room, powerLevels(room, ALICE, notObject)), "users", "not object");
    const badValue = { users: { ...defaultPowerLevels(rules).users as JsonObject, [BOB]: true } };
    expectRejection(check(room, powerLevels(room, ALICE, badValue)), BOB, "boolean level");
  });

  Deno.test(`power_levels v${v}: events and notifications must hold levels`, () => {
    const room = makeRoom(v);
    const events = { ...defaultPowerLevels(rules), events: { "m.room.name": null } };
    expectVerdict(check(room, powerLevels(room, ALICE, events)), false, "null level");
    const notifications = { ...defaultPowerLevels(rules), notifications: "room" };
    expectVerdict(check(room, powerLevels(room, ALICE, notifications)), false, "not object");
  });

  Deno.test(`power_levels v${v}: changes within the sender's level are allowed`, () => {
    const room = roomWithBob(v, { kick: 40 });
    const content = { ...basePl(v), kick: 30, events: { "m.room.topic": 50 }, invite: 50 };
    expectVerdict(check(room, powerLevels(room, ALICE, content)), true, "alice edits");
    // Bob needs state_default (50) to send power levels at all; he has exactly 50.
    expectVerdict(check(room, powerLevels(room, BOB, content)), true, "bob edits within 50");
  });

  Deno.test(`power_levels v${v}: top-level levels above the sender are refused`, () => {
    const room = roomWithBob(v, { ban: 60 });
    expectRejection(
      check(room, powerLevels(room, BOB, { ...basePl(v), ban: 40 })),
      "current ban",
      "lowering a level above bob",
    );
    expectRejection(
      check(room, powerLevels(room, BOB, { ...basePl(v), ban: 60, kick: 70 })),
      "new kick",
      "raising a level above bob",
    );
    // Removing a property only checks the current value (as Synapse does).
    const removed = check(room, powerLevels(room, ALICE, basePl(v)));
    expectVerdict(removed, true, "alice removes ban");
  });

  if (!rules.integerPowerLevels) {
    Deno.test(`power_levels v${v}: the same level written as a string is not a change`, () => {
      const room = roomWithBob(v, { ban: 60 });
      expectVerdict(check(room, powerLevels(room, BOB, { ...basePl(v), ban: "60" })), true, "60");
    });
  }

  Deno.test(`power_levels v${v}: events entries above the sender are refused`, () => {
    const room = roomWithBob(v, { events: { "m.room.tombstone": 100 } });
    const lower = { ...basePl(v), events: { "m.room.tombstone": 40 } };
    expectRejection(check(room, powerLevels(room, BOB, lower)), "events", "changing 100");
    const drop = { ...basePl(v), events: {} };
    expectRejection(check(room, powerLevels(room, BOB, drop)), "events", "removing 100");
    const add = { ...basePl(v), events: { "m.room.tombstone": 100, "m.room.name": 60 } };
    expectRejection(check(room, powerLevels(room, BOB, add)), "m.room.name", "adding 60");
  });

  Deno.test(`power_levels v${v}: notifications limited in v6+ only`, () => {
    const room = roomWithBob(v, { notifications: { room: 80 } });
    const change = { ...basePl(v), notifications: { room: 20 } };
    const limited = rules.limitNotificationsPowerLevels;
    expectVerdict(check(room, powerLevels(room, BOB, change)), !limited, "changing room: 80");
    const add = { ...basePl(v), notifications: { room: 80, custom: 90 } };
    expectVerdict(check(room, powerLevels(room, BOB, add)), !limited, "adding custom: 90");
  });

  Deno.test(`power_levels v${v}: users at or above the sender cannot be changed`, () => {
    const room = roomWithBob(v);
    setMember(room, CAROL, "join");
    const users = basePl(v).users as JsonObject;
    const promote = { users: { ...users, [CAROL]: 50 } };
    expectVerdict(check(room, powerLevels(room, BOB, promote)), true, "bob promotes to 50");
    const over = { users: { ...users, [CAROL]: 51 } };
    expectRejection(check(room, powerLevels(room, BOB, over)), "above", "bob promotes to 51");
    const demoteSelf = { users: { ...users, [BOB]: 10 } };
    expectVerdict(check(room, powerLevels(room, BOB, demoteSelf)), true, "bob demotes himself");
    if (!rules.privilegedCreators) {
      const demoteAlice = { users: { ...users, [ALICE]: 10 } };
      expectRejection(check(room, powerLevels(room, BOB, demoteAlice)), ALICE, "demote alice");
    }
  });

  Deno.test(`power_levels v${v}: equal-level peers cannot demote each other`, () => {
    const room = makeRoom(v, {
      powerLevels: {
        users: { ...defaultPowerLevels(rules).users as JsonObject, [BOB]: 50, [CAROL]: 50 },
      },
    });
    setMember(room, BOB, "join");
    const content = {
      users: { ...defaultPowerLevels(rules).users as JsonObject, [BOB]: 50, [CAROL]: 0 },
    };
    expectRejection(check(room, powerLevels(room, BOB, content)), CAROL, "peer demotion");
  });

  Deno.test(`power_levels v${v}: creators must not be listed in users (v12)`, () => {
    const room = makeRoom(v);
    const content = { users: { [ALICE]: 100 } };
    expectVerdict(check(room, powerLevels(room, ALICE, content)), !rules.privilegedCreators, "c");
  });
}

Deno.test("power_levels v12: additional creators are infinite and must not be listed", () => {
  const room = makeRoom("12", { createContent: { additional_creators: [BOB] } });
  setMember(room, BOB, "join");
  const listed = buildEvent(room, {
    type: "m.room.power_levels",
    stateKey: "",
    sender: BOB,
    content: { users: { [BOB]: 100 } },
  });
  expectRejection(check(room, listed), BOB, "additional creator listed");
  const big = buildEvent(room, {
    type: "m.room.power_levels",
    stateKey: "",
    sender: BOB,
    content: { users: { [CAROL]: 1_000_000 }, ban: 1_000_000, events: { x: 9_000_000 } },
  });
  expectVerdict(check(room, big), true, "creator sets any level");
});

Deno.test("power_levels v11: without a power levels event the creator has 100, others 0", () => {
  const room = makeRoom("11", { powerLevels: null });
  setMember(room, BOB, "join");
  const byBob = buildEvent(room, {
    type: "m.room.power_levels",
    stateKey: "",
    sender: BOB,
    content: {},
  });
  expectRejection(check(room, byBob), "requires power level 50", "bob has 0");
  const topic = buildEvent(room, {
    type: "m.room.topic",
    stateKey: "",
    sender: ALICE,
    content: { topic: "x" },
  });
  expectVerdict(check(room, topic), true, "alice has 100");
});
