/**
 * A large resolution must stay fast: two forks of a 200-member room, each with 500 state
 * events on the same keys (alice kicks and bans members and changes the power levels; bob
 * and the members change profiles and custom state), so about 1,000 events conflict and a
 * few hundred of them are power events. The bound is loose (to survive slow CI machines);
 * the figure is printed so regressions show.
 */
import { partitionStates, resolveState } from "../../federation/state_res/mod.ts";
import type { JsonObject } from "../../federation/types.ts";
import { stateTupleKey } from "../../federation/types.ts";
import { assert } from "./assert.ts";
import {
  ALICE,
  BOB,
  buildDag,
  type EventSpec,
  initialEvents,
  member,
  powerLevels,
  rulesOf,
} from "./state_res_fixture.ts";

const MEMBERS = 200;
const CUSTOM = 300;
const BOUND_MS = 3000;

function user(i: number): string {
  return `@user${i}:example.org`;
}

function bigRoom(version: string) {
  const rules = rulesOf(version);
  const specs: EventSpec[] = initialEvents(rules, { users: { [ALICE]: 100, [BOB]: 50 } });
  for (let i = 0; i < MEMBERS; i++) specs.push(member(`$J${i}`, user(i), user(i), "join"));
  const base = specs[specs.length - 1].id;
  // Fork A: alice removes every member and changes the power levels every 20 events.
  let prev = base;
  for (let i = 0; i < MEMBERS; i++) {
    const spec = member(`$A-KICK${i}`, ALICE, user(i), i % 2 ? "ban" : "leave", [prev]);
    specs.push(spec);
    prev = spec.id;
    if (i % 20 === 19) {
      const users: JsonObject = { [ALICE]: 100, [BOB]: 50, [user(i)]: 10 };
      specs.push(powerLevels(`$A-PL${i}`, ALICE, { users }, [prev]));
      prev = `$A-PL${i}`;
    }
  }
  for (let i = 0; i < CUSTOM; i++) {
    specs.push({
      id: `$A-S${i}`,
      sender: ALICE,
      type: "org.example.s",
      stateKey: `k${i}`,
      prev: [prev],
    });
    prev = `$A-S${i}`;
  }
  const headA = prev;
  // Fork B: the members change their display names, bob writes the same custom keys.
  prev = base;
  for (let i = 0; i < MEMBERS; i++) {
    const id = `$B-NAME${i}`;
    specs.push({
      id,
      sender: user(i),
      type: "m.room.member",
      stateKey: user(i),
      content: { membership: "join", displayname: `User ${i}` },
      prev: [prev],
    });
    prev = id;
  }
  for (let i = 0; i < CUSTOM; i++) {
    specs.push({
      id: `$B-S${i}`,
      sender: BOB,
      type: "org.example.s",
      stateKey: `k${i}`,
      prev: [prev],
    });
    prev = `$B-S${i}`;
  }
  const dag = buildDag(specs, rules);
  return { dag, states: [dag.stateAfter.get(headA)!, dag.stateAfter.get(prev)!] };
}

for (const version of ["1", "10", "12"]) {
  Deno.test(`state res performance: ~1,000 conflicted events (room version ${version})`, () => {
    const { dag, states } = bigRoom(version);
    const rules = dag.rules;
    const lookup = (id: string) => dag.events.get(id);
    const { conflicted } = partitionStates(states);
    assert(conflicted.size >= 1000, `${conflicted.size} conflicted events`);
    resolveState(states, lookup, rules); // warm up the JIT
    const runs = 5;
    const t0 = performance.now();
    let resolved = new Map<string, string>();
    for (let i = 0; i < runs; i++) resolved = resolveState(states, lookup, rules);
    const ms = (performance.now() - t0) / runs;
    console.log(`room version ${version}: ${ms.toFixed(1)} ms per resolution`);
    assert(resolved.size > MEMBERS + CUSTOM, "the result holds the room's state");
    assert(ms < BOUND_MS, `resolution took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
    if (rules.stateResolution !== "v1") {
      // Alice's removals are ordered first; a kicked member's profile change is then a rejoin
      // of a public room and passes, a banned member's fails.
      for (let i = 0; i < MEMBERS; i++) {
        const expected = i % 2 ? `$A-KICK${i}` : `$B-NAME${i}`;
        const actual = resolved.get(stateTupleKey("m.room.member", user(i)));
        assert(actual === expected, `member ${i}: expected ${expected}, got ${actual}`);
      }
    }
  });
}

Deno.test("state res performance: ~1,000 power levels events in the auth difference", () => {
  // Alice and bob each change the power levels 500 times on their own fork: only one key is
  // conflicted, but every one of those events is in the auth difference and is a power event.
  for (const version of ["10", "12"]) {
    const rules = rulesOf(version);
    const specs: EventSpec[] = initialEvents(rules, { users: { [ALICE]: 100, [BOB]: 50 } });
    const heads: string[] = [];
    for (const [sender, name] of [[ALICE, "A"], [BOB, "B"]]) {
      let prev = "$IMZ";
      for (let i = 0; i < 500; i++) {
        const users: JsonObject = { [ALICE]: 100, [BOB]: 50, [user(i % 50)]: i % 40 };
        specs.push(powerLevels(`$${name}-PL${i}`, sender, { users }, [prev]));
        prev = `$${name}-PL${i}`;
      }
      heads.push(prev);
    }
    const dag = buildDag(specs, rules);
    const states = heads.map((id) => dag.stateAfter.get(id)!);
    const lookup = (id: string) => dag.events.get(id);
    resolveState(states, lookup, rules);
    const t0 = performance.now();
    const resolved = resolveState(states, lookup, rules);
    const ms = performance.now() - t0;
    console.log(`room version ${version}: ${ms.toFixed(1)} ms for 1,000 power events`);
    assert(ms < BOUND_MS, `resolution took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
    // Both chains replay; alice's events (more power) go first at every step, so bob's last
    // change is applied last.
    assert(resolved.get(stateTupleKey("m.room.power_levels", "")) === "$B-PL499");
  }
});
