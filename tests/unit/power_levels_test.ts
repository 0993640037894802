/**
 * Parsing power levels per room version, their defaults, the room creators and a user's
 * effective power level.
 */
import {
  checkPowerLevelsContent,
  creatorsOf,
  NO_POWER_LEVELS_EVENT,
  notificationPowerLevel,
  parsePowerLevels,
  parsePowerLevelValue,
  POWER_LEVEL_DEFAULTS,
  requiredPowerForEvent,
  userPowerLevel,
} from "../../federation/power_levels.ts";
import type { JsonObject, StateLookup } from "../../federation/types.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  ALICE,
  ALL_VERSIONS,
  BOB,
  CAROL,
  defaultPowerLevels,
  makeCreate,
  makeRoom,
  rulesOf,
} from "./auth_rules_fixture.ts";

for (const v of ALL_VERSIONS) {
  const rules = rulesOf(v);
  const stringy = !rules.integerPowerLevels;
  const floaty = !rules.strictCanonicalJson;

  Deno.test(`power levels v${v}: value formats`, () => {
    assertEquals(parsePowerLevelValue(50, rules), 50);
    assertEquals(parsePowerLevelValue(-7, rules), -7);
    const strings: Array<[string, number]> = [
      ["100", 100],
      ["000100", 100],
      ["+100", 100],
      ["-100", -100],
      [" 100 ", 100],
      [" 00100 ", 100],
      [" +100 ", 100],
      [" -100 ", -100],
      ["\t5\n", 5],
    ];
    for (const [text, value] of strings) {
      assertEquals(parsePowerLevelValue(text, rules), stringy ? value : undefined, text);
    }
    for (
      const bad of ["", " ", "1.5", "1e3", "0x10", "+-1", "1 0", "ten", "99999999999999999999"]
    ) {
      assertEquals(parsePowerLevelValue(bad, rules), undefined, JSON.stringify(bad));
    }
    assertEquals(parsePowerLevelValue(51146.98, rules), floaty ? 51146 : undefined, "float");
    assertEquals(parsePowerLevelValue(5.114698e4, rules), floaty ? 51146 : undefined, "exp");
    assertEquals(parsePowerLevelValue(-0.5, rules), floaty ? 0 : undefined, "negative float");
    assertEquals(parsePowerLevelValue(Infinity, rules), undefined, "infinity");
    assertEquals(parsePowerLevelValue(NaN, rules), undefined, "NaN");
    for (const bad of [true, null, [], {}]) {
      assertEquals(parsePowerLevelValue(bad, rules), undefined, JSON.stringify(bad));
    }
  });

  Deno.test(`power levels v${v}: defaults fill absent levels`, () => {
    const pl = parsePowerLevels({}, rules)!;
    assertEquals(pl.levels, POWER_LEVEL_DEFAULTS);
    assertEquals(pl.levels, {
      users_default: 0,
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: 0,
    });
    assertEquals(pl.explicit, {});
    assertEquals(notificationPowerLevel("room", pl), 50);
    assertEquals(notificationPowerLevel("other", pl), undefined);
    assertEquals(requiredPowerForEvent("m.room.topic", true, pl), 50);
    assertEquals(requiredPowerForEvent("m.room.message", false, pl), 0);
    assertEquals(NO_POWER_LEVELS_EVENT.levels, pl.levels);
  });

  Deno.test(`power levels v${v}: explicit levels and maps`, () => {
    const pl = parsePowerLevels({
      ban: 60,
      users_default: 3,
      state_default: 40,
      events_default: 2,
      events: { "m.room.topic": 10, "m.reaction": 1 },
      notifications: { room: 20 },
      users: { [BOB]: 70 },
    }, rules)!;
    assertEquals(pl.explicit, { ban: 60, users_default: 3, state_default: 40, events_default: 2 });
    assertEquals(pl.levels.kick, 50);
    assertEquals(requiredPowerForEvent("m.room.topic", true, pl), 10);
    assertEquals(requiredPowerForEvent("m.room.name", true, pl), 40);
    assertEquals(requiredPowerForEvent("m.reaction", false, pl), 1);
    assertEquals(requiredPowerForEvent("m.room.message", false, pl), 2);
    assertEquals(notificationPowerLevel("room", pl), 20);
    assertEquals(pl.users.get(BOB), 70);
  });

  Deno.test(`power levels v${v}: invalid contents`, () => {
    const cases: JsonObject[] = [
      { users: { "not a user": 1 } },
      { users: [] },
      { events: "x" },
      { notifications: { room: "lots" } },
      { ban: null },
      { kick: true },
    ];
    for (const content of cases) {
      assertEquals(parsePowerLevels(content, rules), undefined, JSON.stringify(content));
      assert(!checkPowerLevelsContent(content, rules).ok, JSON.stringify(content));
    }
    const stringyContent = { ban: "10", users: { [BOB]: " 20" } };
    assertEquals(parsePowerLevels(stringyContent, rules) !== undefined, stringy, "strings");
  });

  Deno.test(`power levels v${v}: creators`, () => {
    const create = makeCreate(v, { additional_creators: [BOB] });
    const expected = rules.privilegedCreators ? [ALICE, BOB] : [ALICE];
    assertEquals([...creatorsOf(create, rules)], expected);
    const named = makeCreate(v, { creator: CAROL });
    assertEquals([...creatorsOf(named, rules)], rules.createHasCreator ? [CAROL] : [ALICE]);
  });

  Deno.test(`power levels v${v}: user levels with and without a power levels event`, () => {
    const without = makeRoom(v, { powerLevels: null });
    const creatorLevel = rules.privilegedCreators ? Infinity : 100;
    assertEquals(userPowerLevel(ALICE, without.lookup, rules), creatorLevel);
    assertEquals(userPowerLevel(BOB, without.lookup, rules), 0);
    const room = makeRoom(v, {
      powerLevels: { ...defaultPowerLevels(rules), users_default: 5, users: { [BOB]: 70 } },
    });
    assertEquals(
      userPowerLevel(ALICE, room.lookup, rules),
      rules.privilegedCreators ? Infinity : 5,
    );
    assertEquals(userPowerLevel(BOB, room.lookup, rules), 70);
    assertEquals(userPowerLevel(CAROL, room.lookup, rules), 5);
  });
}

Deno.test("power levels v12: additional creators are infinite; v11 ignores them", () => {
  for (const v of ["11", "12"]) {
    const room = makeRoom(v, { createContent: { additional_creators: [BOB] } });
    const level = userPowerLevel(BOB, room.lookup, rulesOf(v));
    assertEquals(level, v === "12" ? Infinity : 0, `v${v}`);
  }
});

Deno.test("power levels: parsing is memoised per content object", () => {
  const content = { users: { [BOB]: 10 } };
  const rules = rulesOf("10");
  assert(parsePowerLevels(content, rules) === parsePowerLevels(content, rules));
  const empty: StateLookup = () => undefined;
  assertEquals(userPowerLevel(BOB, empty, rules), 0);
});
