/**
 * State resolution v1 (room version 1) on small hand-built rooms: keys only some states have
 * are kept, power levels / join rules / memberships are settled from the lowest depth up,
 * other conflicts go to the highest depth that passes auth, ties by SHA-1 of the event ID.
 */
import { resolveState, sha1Hex } from "../../federation/state_res/mod.ts";
import { assertEquals } from "./assert.ts";
import {
  ALICE,
  BOB,
  buildDag,
  type Dag,
  describeState,
  ELLA,
  type EventSpec,
  initialEvents,
  joinRules,
  member,
  powerLevels,
  rulesOf,
  stateOfIds,
  topic,
} from "./state_res_fixture.ts";

const V1 = rulesOf("1");
const START = ["$CREATE", "$IMA", "$IPOWER", "$IJR", "$IMB", "$IMC", "$IMZ"];

function scenario(events: EventSpec[], power: Record<string, number> = { [ALICE]: 100 }): Dag {
  return buildDag([...initialEvents(V1, { users: power }), ...events], V1);
}

function resolveHeads(dag: Dag, heads: string[]): string[] {
  const states = heads.map((id) => dag.stateAfter.get(id)!);
  const resolved = describeState(resolveState(states, (id) => dag.events.get(id), V1));
  const reversed = describeState(resolveState(states.reverse(), (id) => dag.events.get(id), V1));
  assertEquals(reversed, resolved, "the order of the states must not matter");
  return resolved;
}

/** The start's state with these events on top. */
function expected(dag: Dag, ids: string[]): string[] {
  const state = stateOfIds(dag, START);
  for (const [key, id] of stateOfIds(dag, ids)) state.set(key, id);
  return describeState(state);
}

Deno.test("sha1Hex: the SHA-1 of UTF-8 text as hex", () => {
  assertEquals(sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assertEquals(sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
});

Deno.test("state res v1: power levels settle from the lowest depth up", () => {
  // $PA (depth 8) is taken first; $PB (depth 9, after alice's topic on the other fork) passes
  // against it and replaces it. The topic is only in one state: not a conflict, kept.
  const dag = scenario([
    powerLevels("$PA", ALICE, { users: { [ALICE]: 100, [BOB]: 50 } }, ["$IMZ"]),
    topic("$T1", ALICE, ["$IMZ"]),
    powerLevels("$PB", ALICE, { users: { [ALICE]: 100, [ELLA]: 50 } }, ["$T1"]),
  ]);
  assertEquals(resolveHeads(dag, ["$PA", "$PB"]), expected(dag, ["$PB", "$T1"]));
});

Deno.test("state res v1: a ban at lower depth beats a later membership change", () => {
  // Bob's display name change (depth 9) is checked against R with the ban (depth 8) in place
  // and fails, so the ban stands; bob's topic is only in one state and survives (a known
  // weakness of v1 that v2 fixes).
  const dag = scenario([
    member("$MB", ALICE, BOB, "ban", ["$IMZ"]),
    topic("$TB", BOB, ["$IMZ"]),
    {
      id: "$BN",
      sender: BOB,
      type: "m.room.member",
      stateKey: BOB,
      content: { membership: "join", displayname: "Bob" },
    },
  ], { [ALICE]: 100, [BOB]: 50 });
  assertEquals(resolveHeads(dag, ["$MB", "$BN"]), expected(dag, ["$MB", "$TB"]));
});

Deno.test("state res v1: join rule evasion succeeds (ella's join is not a conflict)", () => {
  // The join rules conflict ($IJR vs $JR) goes to $JR (the higher one passes), but ella's
  // membership is only in one state, so v1 keeps it. v2 removes it (see the v2 tests).
  const dag = scenario([
    joinRules("$JR", ALICE, "invite", ["$IMZ"]),
    member("$ME", ELLA, ELLA, "join", ["$IMZ"]),
  ]);
  assertEquals(resolveHeads(dag, ["$JR", "$ME"]), expected(dag, ["$JR", "$ME"]));
});

Deno.test("state res v1: other conflicts take the highest event that passes auth", () => {
  // Alice demotes bob and sets a topic (depth 9); bob sets topics up to depth 10. The power
  // levels resolve to the demotion, so bob's deepest topic fails and alice's is taken.
  const dag = scenario([
    powerLevels("$PD", ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, ["$IMZ"]),
    topic("$T1", ALICE, ["$PD"]),
    topic("$T2", BOB, ["$IMZ"]),
    topic("$T3", BOB, ["$T2"]),
    topic("$T4", BOB, ["$T3"]),
  ], { [ALICE]: 100, [BOB]: 50 });
  assertEquals(resolveHeads(dag, ["$T1", "$T4"]), expected(dag, ["$PD", "$T1"]));
  // Without the demotion, bob's deepest topic wins.
  const kept = scenario([
    topic("$T1", ALICE, ["$IMZ"]),
    topic("$T2", BOB, ["$IMZ"]),
    topic("$T3", BOB, ["$T2"]),
  ], { [ALICE]: 100, [BOB]: 50 });
  assertEquals(resolveHeads(kept, ["$T1", "$T3"]), expected(kept, ["$T3"]));
});

Deno.test("state res v1: equal depths are ordered by the SHA-1 of the event ID", () => {
  // Two topics at the same depth: the lowest SHA-1 wins. Two power levels at the same depth:
  // the highest SHA-1 is taken first and the other replaces it if it passes.
  const ids = ["$TOPIC-ONE", "$TOPIC-TWO"];
  const dag = scenario([topic(ids[0], ALICE, ["$IMZ"]), topic(ids[1], ALICE, ["$IMZ"])]);
  const lowest = sha1Hex(ids[0]) < sha1Hex(ids[1]) ? ids[0] : ids[1];
  assertEquals(resolveHeads(dag, ids), expected(dag, [lowest]));

  const pls = ["$PL-ONE", "$PL-TWO"];
  const plDag = scenario([
    powerLevels(pls[0], ALICE, { users: { [ALICE]: 100, [BOB]: 10 } }, ["$IMZ"]),
    powerLevels(pls[1], ALICE, { users: { [ALICE]: 100, [BOB]: 20 } }, ["$IMZ"]),
  ]);
  const applied = sha1Hex(pls[0]) < sha1Hex(pls[1]) ? pls[0] : pls[1];
  assertEquals(resolveHeads(plDag, pls), expected(plDag, [applied]));
});

Deno.test("state res v1: a failing power levels event stops the pass", () => {
  // $PB was valid on its fork (bob had 50 there) but fails once alice's $PA (lower depth,
  // taken first) has demoted bob: $PA stays.
  const dag = scenario([
    powerLevels("$PA", ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, ["$IMZ"]),
    topic("$T1", BOB, ["$IMZ"]),
    powerLevels("$PB", BOB, { users: { [ALICE]: 100, [BOB]: 50 }, state_default: 40 }, ["$T1"]),
  ], { [ALICE]: 100, [BOB]: 50 });
  assertEquals(resolveHeads(dag, ["$PA", "$PB"]), expected(dag, ["$PA", "$T1"]));
});
