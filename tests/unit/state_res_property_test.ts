/**
 * Properties of state resolution on random rooms: from a valid start, 2-4 forks each make a
 * few random changes (topics, memberships, power levels, join rules, custom state, merges),
 * keeping only events that pass the auth rules. For every case and algorithm (v1, v2 under
 * room versions 2-11, v2.1), the result must not depend on the order of the states or of the
 * event lookup; resolving [S, S] gives S; and every key the states agree on keeps its value.
 */
import { resolveState } from "../../federation/state_res/mod.ts";
import type { JsonObject, RoomEvent, StateMap } from "../../federation/types.ts";
import { assertEquals } from "./assert.ts";
import {
  ALICE,
  appendEvent,
  BOB,
  buildDag,
  CHARLIE,
  type Dag,
  describeState,
  ELLA,
  type EventSpec,
  initialEvents,
  rulesOf,
  ZARA,
} from "./state_res_fixture.ts";

const USERS = [ALICE, BOB, CHARLIE, ZARA, ELLA];
const CASES = 300;

/** A small seeded PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function shuffled<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) out.push([item, ...p]);
  });
  return out;
}

/** A random change by a random user; it may well fail auth, and is then dropped. */
function randomChange(random: () => number, id: string): Omit<EventSpec, "prev"> {
  const sender = pick(random, USERS);
  const other = pick(random, USERS);
  switch (Math.floor(random() * 6)) {
    case 0:
      return { id, sender, type: "m.room.topic", stateKey: "", content: { topic: id } };
    case 1: {
      const membership = pick(random, ["join", "leave", "ban", "invite", "leave"]);
      const target = membership === "join" ? sender : other;
      return { id, sender, type: "m.room.member", stateKey: target, content: { membership } };
    }
    case 2: {
      const users: JsonObject = { [ALICE]: 100 };
      for (const user of USERS.slice(1)) {
        if (random() < 0.6) users[user] = pick(random, [0, 25, 50, 75, 100]);
      }
      const content: JsonObject = { users };
      if (random() < 0.3) content.state_default = pick(random, [0, 50]);
      if (random() < 0.3) content.ban = pick(random, [25, 50]);
      return { id, sender, type: "m.room.power_levels", stateKey: "", content };
    }
    case 3: {
      const rule = pick(random, ["public", "invite"]);
      return { id, sender, type: "m.room.join_rules", stateKey: "", content: { join_rule: rule } };
    }
    case 4: {
      const key = pick(random, ["a", "b", "c"]);
      return { id, sender, type: "org.example.thing", stateKey: key, content: { v: id } };
    }
    default:
      return { id, sender, type: "m.room.message", content: { body: id } };
  }
}

interface Case {
  dag: Dag;
  states: StateMap[];
}

function randomCase(seed: number, version: string): Case {
  const random = prng(seed);
  const rules = rulesOf(version);
  const start = initialEvents(rules, {
    users: { [ALICE]: 100, [BOB]: pick(random, [50, 100]), [CHARLIE]: pick(random, [0, 50]) },
  });
  const dag = buildDag(start, rules);
  // A few changes on the common trunk first.
  let trunk = "$IMZ";
  const trunkEvents = ["$IJR", "$IMB", "$IMC", "$IMZ"];
  let counter = 0;
  for (let i = Math.floor(random() * 6); i > 0; i--) {
    const id = `$TRUNK-${counter++}`;
    if (appendEvent(dag, { ...randomChange(random, id), prev: [trunk] }).ok) {
      trunk = id;
      trunkEvents.push(id);
    }
  }
  const forks = 2 + Math.floor(random() * 3);
  const heads: string[] = [];
  for (let f = 0; f < forks; f++) {
    let head = pick(random, trunkEvents);
    for (let i = 2 + Math.floor(random() * 10); i > 0; i--) {
      const id = `$F${f}-${counter++}`;
      // Now and then, merge with an earlier fork's head.
      const prev = heads.length > 0 && random() < 0.15 ? [head, pick(random, heads)] : [head];
      if (prev.length === 2 && prev[0] === prev[1]) prev.pop();
      if (appendEvent(dag, { ...randomChange(random, id), prev }).ok) head = id;
    }
    heads.push(head);
  }
  return { dag, states: heads.map((id) => dag.stateAfter.get(id)!) };
}

const VERSIONS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];

Deno.test(`state res properties: ${CASES} random forked rooms`, () => {
  const counts = { v1: 0, v2: 0, "v2.1": 0, conflicted: 0 };
  for (let n = 0; n < CASES; n++) {
    // Every third case each: v1 (room 1), v2 (rooms 2-11 in turn), v2.1 (room 12).
    const version = n % 3 === 0 ? "1" : n % 3 === 1 ? VERSIONS[1 + ((n - 1) / 3) % 10] : "12";
    const seed = 1000 + n;
    const { dag, states } = randomCase(seed, version);
    const rules = dag.rules;
    counts[rules.stateResolution]++;
    const where = `case ${n} (seed ${seed}, room version ${version})`;
    const lookup = (id: string) => dag.events.get(id);
    const expected = describeState(resolveState(states, lookup, rules));

    const random = prng(seed ^ 0x5bd1e995);
    const orders = states.length <= 3
      ? permutations(states)
      : Array.from({ length: 6 }, () => shuffled(random, states));
    for (const order of orders) {
      assertEquals(describeState(resolveState(order, lookup, rules)), expected, `${where}: order`);
    }
    const reinserted = new Map<string, RoomEvent>(
      shuffled(random, [...dag.events.values()]).map((e) => [e.eventId, e]),
    );
    const viaShuffled = resolveState(shuffled(random, states), (id) => reinserted.get(id), rules);
    assertEquals(describeState(viaShuffled), expected, `${where}: lookup order`);

    for (const state of states) {
      const same = resolveState([state, new Map(state)], lookup, rules);
      assertEquals(describeState(same), describeState(state), `${where}: idempotence`);
    }

    const resolved = resolveState(states, lookup, rules);
    let conflicted = false;
    for (const [key, id] of states[0]) {
      if (states.every((s) => s.get(key) === id)) {
        assertEquals(resolved.get(key), id, `${where}: unconflicted ${key}`);
      } else conflicted = true;
    }
    if (conflicted) counts.conflicted++;
  }
  // The generator must actually produce conflicts, for every algorithm.
  assertEquals(counts.v1 + counts.v2 + counts["v2.1"], CASES);
  if (counts.conflicted < CASES / 2) {
    throw new Error(`only ${counts.conflicted} of ${CASES} cases had a conflict`);
  }
});
