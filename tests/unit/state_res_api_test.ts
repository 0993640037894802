/**
 * The state resolution entry points: dispatch, stateAfterEvent, errors, rejected auth events,
 * and the v2.1 conflicted state subgraph.
 */
import {
  resolveState,
  resolveStateV2,
  stateAfterEvent,
  StateResolutionError,
} from "../../federation/state_res/mod.ts";
import type { StateMap } from "../../federation/types.ts";
import { stateTupleKey } from "../../federation/types.ts";
import { fakeEvent, indexEvents, stateOf } from "../support/room_builder.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  ALICE,
  BOB,
  buildDag,
  describeState,
  ELLA,
  initialEvents,
  member,
  powerLevels,
  rulesOf,
  topic,
  ZARA,
} from "./state_res_fixture.ts";

const TOPIC = stateTupleKey("m.room.topic", "");
const POWER = stateTupleKey("m.room.power_levels", "");

Deno.test("stateAfterEvent: a state event replaces its key, a message changes nothing", () => {
  const before: StateMap = new Map([[TOPIC, "$OLD"]]);
  const state = fakeEvent({ id: "$NEW", type: "m.room.topic", sender: ALICE, stateKey: "" });
  const after = stateAfterEvent(before, state);
  assertEquals(after.get(TOPIC), "$NEW");
  assertEquals(before.get(TOPIC), "$OLD", "the input is not modified");
  const msg = fakeEvent({ id: "$MSG", type: "m.room.message", sender: ALICE });
  const same = stateAfterEvent(before, msg);
  assertEquals(same, before);
  assert(same !== before, "a new map is returned");
  const empty = fakeEvent({ id: "$EMPTY", type: "org.example", sender: ALICE, stateKey: "" });
  assertEquals(stateAfterEvent(new Map(), empty).size, 1);
});

Deno.test("resolveState: no states, one state, identical states", () => {
  for (const version of ["1", "5", "12"]) {
    const rules = rulesOf(version);
    assertEquals(resolveState([], () => undefined, rules), new Map());
    const only: StateMap = new Map([[TOPIC, "$T"]]);
    const copy = resolveState([only], () => undefined, rules);
    assertEquals(copy, only);
    assert(copy !== only, "a new map is returned");
    // No conflict: no event is needed at all.
    assertEquals(resolveState([only, new Map(only)], () => undefined, rules), only);
  }
});

Deno.test("resolveState: a missing event is a StateResolutionError naming it", () => {
  for (const version of ["1", "2", "11", "12"]) {
    const rules = rulesOf(version);
    const dag = buildDag([
      ...initialEvents(rules),
      topic("$T1", ALICE, ["$IMZ"]),
      topic("$T2", ALICE, ["$IMZ"]),
    ], rules);
    const states = [dag.stateAfter.get("$T1")!, dag.stateAfter.get("$T2")!];
    for (const missing of ["$T2", "$IPOWER"]) {
      const error = assertThrows(
        () => resolveState(states, (id) => id === missing ? undefined : dag.events.get(id), rules),
        StateResolutionError,
        missing,
      ) as StateResolutionError;
      assertEquals([error.code, error.eventId], ["MISSING_EVENT", missing], version);
    }
  }
});

Deno.test("resolveState: auth events that form a cycle are reported", () => {
  const rules = rulesOf("10");
  const a = fakeEvent({
    id: "$A",
    type: "m.room.power_levels",
    sender: ALICE,
    stateKey: "",
    authEvents: ["$B"],
  });
  const b = fakeEvent({
    id: "$B",
    type: "m.room.power_levels",
    sender: ALICE,
    stateKey: "",
    authEvents: ["$A"],
  });
  const events = indexEvents([a, b]);
  const error = assertThrows(
    () => resolveState([stateOf([a]), stateOf([b])], (id) => events.get(id), rules),
    StateResolutionError,
  ) as StateResolutionError;
  assertEquals(error.code, "AUTH_CYCLE");
});

Deno.test("resolveState: the input states are not modified", () => {
  const rules = rulesOf("12");
  const dag = buildDag([
    ...initialEvents(rules),
    topic("$T1", ALICE, ["$IMZ"]),
    powerLevels("$PA", ALICE, { users: { [BOB]: 0 } }, ["$IMZ"]),
  ], rules);
  const states = [dag.stateAfter.get("$T1")!, dag.stateAfter.get("$PA")!];
  const snapshot = states.map((s) => describeState(s));
  resolveState(states, (id) => dag.events.get(id), rules);
  assertEquals(states.map((s) => describeState(s)), snapshot);
});

Deno.test("resolveState: rejected auth events are not used to fill in state (v2.1)", () => {
  // Ella joins ($ME) and sets a note ($N, citing $ME, so $ME is in every state's auth chain);
  // then alice and ella set the topic on two forks (ella's later). In v2.1 the iterative auth
  // checks start empty, so ella's membership is taken from her topic's auth events: if her
  // join was rejected it may not be used, and ella's topic fails. In v2 her membership comes
  // from the unconflicted state, which the rejection flag does not touch.
  const power = { users: { [ALICE]: 100 }, events: { "m.room.topic": 0, "org.example.note": 0 } };
  for (const version of ["11", "12"]) {
    const rules = rulesOf(version);
    const dag = buildDag([
      ...initialEvents(rules, power),
      member("$ME", ELLA, ELLA, "join", ["$IMZ"]),
      { id: "$N", sender: ELLA, type: "org.example.note", stateKey: "", prev: ["$ME"] },
      topic("$TA", ALICE, ["$N"]),
      topic("$TE", ELLA, ["$N"]),
    ], rules);
    const states = [dag.stateAfter.get("$TA")!, dag.stateAfter.get("$TE")!];
    const lookup = (id: string) => dag.events.get(id);
    assertEquals(resolveState(states, lookup, rules).get(TOPIC), "$TE");
    const rejected = resolveState(states, lookup, rules, { isRejected: (id) => id === "$ME" });
    assertEquals(rejected.get(TOPIC), version === "12" ? "$TA" : "$TE", version);
  }
});

Deno.test("resolveState: each state's own events count in its auth chain (as Synapse)", () => {
  // Ella's join $ME is in both states, but only the second state's events cite it (her
  // topic). Counting each state's own events in its full auth chain, as Synapse does, $ME is
  // in both chains, so it is not in the auth difference and is not replayed. v2.1 starts
  // from an empty map, $ME is marked rejected so it cannot stand in for ella's membership,
  // and ella's topic $TE fails: alice's $TA wins. (The spec's literal wording would leave
  // $ME out of the first chain, replay it, and keep $TE.)
  const power = { users: { [ALICE]: 100 }, events: { "m.room.topic": 0 } };
  const rules = rulesOf("12");
  const dag = buildDag([
    ...initialEvents(rules, power),
    member("$ME", ELLA, ELLA, "join", ["$IMZ"]),
    topic("$TA", ALICE, ["$ME"]),
    topic("$TE", ELLA, ["$ME"]),
  ], rules);
  const states = [dag.stateAfter.get("$TA")!, dag.stateAfter.get("$TE")!];
  const lookup = (id: string) => dag.events.get(id);
  const resolved = resolveState(states, lookup, rules, { isRejected: (id) => id === "$ME" });
  assertEquals(resolved.get(TOPIC), "$TA");
  // Without the rejection, ella is joined in the agreed state and the later topic wins.
  assertEquals(resolveState(states, lookup, rules).get(TOPIC), "$TE");
});

Deno.test("resolveState: v2.1 replays the conflicted state subgraph", () => {
  // Alice gives bob 50 ($P1), bob changes his display name ($BN, citing $P1) and then the
  // power levels ($P2, which needs his 50). The second state is a reset one: it has bob's
  // $BN but the room's first power levels. $P1 is in both states' auth chains, so it is not
  // in the auth difference; it is on the auth path from $P2 to $IPOWER, the conflicted state
  // subgraph. v2.1 replays $IPOWER, $P1, $BN, $P2 and keeps $P2; v2 checks $P2 against
  // $IPOWER (bob at 0) and keeps $IPOWER.
  for (const version of ["11", "12"]) {
    const rules = rulesOf(version);
    const dag = buildDag([
      ...initialEvents(rules),
      powerLevels("$P1", ALICE, { users: { [ALICE]: 100, [BOB]: 50 } }, ["$IMZ"]),
      {
        id: "$BN",
        sender: BOB,
        type: "m.room.member",
        stateKey: BOB,
        content: { membership: "join", displayname: "Bob" },
      },
      powerLevels("$P2", BOB, { users: { [ALICE]: 100, [BOB]: 50, [ZARA]: 50 } }),
    ], rules);
    const s1 = dag.stateAfter.get("$P2")!;
    const s2 = new Map(s1).set(POWER, "$IPOWER");
    const lookup = (id: string) => dag.events.get(id);
    const expected = version === "12" ? "$P2" : "$IPOWER";
    assertEquals(resolveState([s1, s2], lookup, rules).get(POWER), expected, version);
    const other = version === "12" ? "v2" : "v2.1";
    assertEquals(
      resolveStateV2([s1, s2], lookup, rules, { algorithm: other }).get(POWER),
      version === "12" ? "$IPOWER" : "$P2",
    );
  }
});
