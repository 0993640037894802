/**
 * Engine section: the room engine's hot paths on real signed events, each beside a ceiling
 * measured in the same run.
 *
 * - PDU signature checks (redact, canonical JSON, Ed25519) per second, against raw WebCrypto
 *   Ed25519 verifications of the same bytes.
 * - Auth checks per second in a room with 10,000 members, against raw KV single-key commits
 *   (how many events' auth checks fit in the time of one commit).
 * - State resolution of about 1,000 conflicted state events (v2 and v2.1), against the time
 *   of 1,000 raw KV single-key commits.
 */
import { canonicalJsonBytes } from "../crypto/canonical_json.ts";
import { decodeBase64 } from "../crypto/base64.ts";
import { SigningKey, verifyEd25519, verifyJsonSignature } from "../crypto/signing.ts";
import { checkAuth, checkAuthEvents } from "../federation/auth_rules.ts";
import { buildPdu, type EventTemplate } from "../federation/build_event.ts";
import { redactPdu } from "../federation/redaction.ts";
import { ROOM_VERSIONS, type RoomVersionRules } from "../federation/room_versions.ts";
import { resolveState, stateAfterEvent } from "../federation/state_res/mod.ts";
import {
  type JsonObject,
  type RoomEvent,
  type StateMap,
  stateTupleKey,
} from "../federation/types.ts";
import type { KvCeilings } from "./ceilings.ts";
import type { BenchRow } from "./report.ts";

const ORIGIN = "bench.gemeng";

/** A room being built in memory: events by ID and the state after its latest event. */
class BenchRoom {
  readonly events = new Map<string, RoomEvent>();
  roomId: string | undefined;
  #ts = 1_700_000_000_000;

  constructor(readonly rules: RoomVersionRules, readonly key: SigningKey) {
    if (!rules.roomIdFromCreateEvent) this.roomId = `!bench:${ORIGIN}`;
  }

  lookupIn(state: StateMap) {
    return (type: string, stateKey: string) => {
      const id = state.get(stateTupleKey(type, stateKey));
      return id === undefined ? undefined : this.events.get(id);
    };
  }

  /** Appends an event after `head` with the given state before it; returns the new head. */
  async append(
    template: EventTemplate,
    head: { event: RoomEvent | undefined; state: StateMap },
  ): Promise<{ event: RoomEvent; state: StateMap }> {
    const event = await buildPdu(template, {
      rules: this.rules,
      roomId: this.roomId,
      origin: ORIGIN,
      signingKey: this.key,
      prevEvents: head.event ? [head.event] : [],
      state: this.lookupIn(head.state),
      originServerTs: this.#ts++,
      eventIdLocalpart: `e${this.#ts}`,
    });
    this.roomId ??= event.roomId;
    this.events.set(event.eventId, event);
    return { event, state: stateAfterEvent(head.state, event) };
  }
}

const user = (i: number) => `@u${i}:${ORIGIN}`;
const ALICE = `@alice:${ORIGIN}`;
const BOB = `@bob:${ORIGIN}`;

async function roomWithMembers(rules: RoomVersionRules, key: SigningKey, members: number) {
  const room = new BenchRoom(rules, key);
  let head: { event: RoomEvent | undefined; state: StateMap } = {
    event: undefined,
    state: new Map(),
  };
  const create: JsonObject = rules.createHasCreator ? { creator: ALICE } : {};
  head = await room.append(
    {
      type: "m.room.create",
      stateKey: "",
      sender: ALICE,
      content: { ...create, room_version: rules.id },
    },
    head,
  );
  head = await room.append(
    { type: "m.room.member", stateKey: ALICE, sender: ALICE, content: { membership: "join" } },
    head,
  );
  const users: JsonObject = rules.privilegedCreators ? { [BOB]: 50 } : { [ALICE]: 100, [BOB]: 50 };
  head = await room.append(
    { type: "m.room.power_levels", stateKey: "", sender: ALICE, content: { users } },
    head,
  );
  head = await room.append(
    { type: "m.room.join_rules", stateKey: "", sender: ALICE, content: { join_rule: "public" } },
    head,
  );
  head = await room.append(
    { type: "m.room.member", stateKey: BOB, sender: BOB, content: { membership: "join" } },
    head,
  );
  for (let i = 0; i < members; i++) {
    head = await room.append(
      {
        type: "m.room.member",
        stateKey: user(i),
        sender: user(i),
        content: { membership: "join" },
      },
      head,
    );
  }
  return { room, head };
}

/** Like {@link rate} for synchronous work, without a microtask per operation. */
function rateSync(ms: number, batch: number, fn: () => unknown) {
  let ops = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
  }
  return ops / ((performance.now() - t0) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs fn repeatedly for about `ms` milliseconds; returns operations per second. */
async function rate(ms: number, batch: number, fn: () => unknown | Promise<unknown>) {
  let ops = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < batch; i++) await fn();
    ops += batch;
  }
  return ops / ((performance.now() - t0) / 1000);
}

async function signatureRows(key: SigningKey, quick: boolean): Promise<BenchRow[]> {
  const rules = ROOM_VERSIONS.get("12")!;
  const { room, head } = await roomWithMembers(rules, key, 10);
  const message = await room.append({
    type: "m.room.message",
    sender: user(3),
    content: { msgtype: "m.text", body: "Moien! D'Sëtzung ass um 14 Auer." },
  }, head);
  const pdu = message.event.pdu;
  const ms = quick ? 400 : 1500;
  const engine = await rate(ms, 50, async () => {
    const ok = await verifyJsonSignature(redactPdu(pdu, rules), ORIGIN, key.keyId, key.publicKey, {
      strict: true,
    });
    if (!ok) throw new Error("signature did not verify");
  });
  const { signatures: _s, unsigned: _u, ...signed } = redactPdu(pdu, rules);
  const bytes = canonicalJsonBytes(signed, { strict: true });
  const sig = decodeBase64(
    (pdu.signatures as Record<string, Record<string, string>>)[ORIGIN][key.keyId],
  );
  const raw = await rate(ms, 50, async () => {
    if (!(await verifyEd25519(key.publicKey, bytes, sig))) throw new Error("raw verify failed");
  });
  return [{
    section: "engine",
    name: "PDU signature checks (redact + canonical JSON + Ed25519)",
    value: engine,
    unit: "/s",
    ceilingName: "raw WebCrypto Ed25519 verify/s",
    ceiling: raw,
    ratio: engine / raw,
  }];
}

async function authRows(key: SigningKey, kv: KvCeilings, quick: boolean): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const version of ["10", "12"]) {
    const rules = ROOM_VERSIONS.get(version)!;
    const members = 10_000;
    const { room, head } = await roomWithMembers(rules, key, members);
    const lookup = room.lookupIn(head.state);
    const messages: RoomEvent[] = [];
    for (let i = 0; i < 200; i++) {
      messages.push(
        (await room.append(
          { type: "m.room.message", sender: user((i * 7919) % members), content: { body: `${i}` } },
          head,
        )).event,
      );
    }
    let n = 0;
    const perSec = rateSync(quick ? 300 : 1000, 200, () => {
      const event = messages[n++ % messages.length];
      const authEvents = event.authEvents.map((id) => room.events.get(id)!);
      const a = checkAuthEvents(event, authEvents, rules);
      const b = checkAuth(event, lookup, rules);
      if (!a.ok || !b.ok) throw new Error("auth check failed");
    });
    rows.push({
      section: "engine",
      name: `auth checks, room v${version} with ${members.toLocaleString("en-US")} members`,
      value: perSec,
      unit: "/s",
      ceilingName: "raw KV single commits/s",
      ceiling: kv.singleCommitsPerSec,
      ratio: perSec / kv.singleCommitsPerSec,
      note: "ratio = auth checks per KV commit time",
    });
  }
  return rows;
}

/**
 * Two forks of a 200-member room with 500 state events each on shared keys: alice kicks and
 * bans members and changes power levels; the members change names and bob rewrites custom
 * state. About 1,000 events conflict.
 */
async function conflictedRoom(rules: RoomVersionRules, key: SigningKey) {
  const { room, head: base } = await roomWithMembers(rules, key, 200);
  let a = base;
  for (let i = 0; i < 200; i++) {
    a = await room.append({
      type: "m.room.member",
      stateKey: user(i),
      sender: ALICE,
      content: { membership: i % 2 ? "ban" : "leave" },
    }, a);
    if (i % 20 === 19) {
      const users: JsonObject = rules.privilegedCreators
        ? { [BOB]: 50, [user(i)]: 10 }
        : { [ALICE]: 100, [BOB]: 50, [user(i)]: 10 };
      a = await room.append(
        { type: "m.room.power_levels", stateKey: "", sender: ALICE, content: { users } },
        a,
      );
    }
  }
  for (let i = 0; a.state.size < base.state.size + 300 && i < 300; i++) {
    a = await room.append(
      { type: "org.example.s", stateKey: `k${i}`, sender: ALICE, content: { v: i } },
      a,
    );
  }
  let b = base;
  for (let i = 0; i < 200; i++) {
    b = await room.append({
      type: "m.room.member",
      stateKey: user(i),
      sender: user(i),
      content: { membership: "join", displayname: `User ${i}` },
    }, b);
  }
  for (let i = 0; i < 300; i++) {
    b = await room.append(
      { type: "org.example.s", stateKey: `k${i}`, sender: BOB, content: { v: -i } },
      b,
    );
  }
  let conflicted = 0;
  for (const [k, v] of a.state) if (b.state.get(k) !== v) conflicted++;
  return { room, states: [a.state, b.state], conflicted };
}

async function stateResRows(key: SigningKey, kv: KvCeilings, quick: boolean): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const commitMs1000 = 1000 / kv.singleCommitsPerSec * 1000;
  for (const version of ["11", "12"]) {
    const rules = ROOM_VERSIONS.get(version)!;
    const { room, states, conflicted } = await conflictedRoom(rules, key);
    const lookup = (id: string) => room.events.get(id);
    const times: number[] = [];
    for (let i = 0; i < (quick ? 3 : 9); i++) {
      const t0 = performance.now();
      resolveState(i % 2 ? states : [...states].reverse(), lookup, rules);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({
      section: "engine",
      name:
        `state resolution ${rules.stateResolution}, ${conflicted} conflicted keys (~1,000 events)`,
      value: ms,
      unit: "ms",
      ceilingName: "1,000 raw KV commits, ms",
      ceiling: commitMs1000,
      ratio: commitMs1000 / ms,
      note: "ratio > 1: faster than writing the events",
    });
  }
  return rows;
}

/** Runs the engine section. */
export async function runEngineBench(
  options: { quick: boolean; kv: KvCeilings },
): Promise<BenchRow[]> {
  const key = await SigningKey.generate("bench");
  return [
    ...(await signatureRows(key, options.quick)),
    ...(await authRows(key, options.kv, options.quick)),
    ...(await stateResRows(key, options.kv, options.quick)),
  ];
}
