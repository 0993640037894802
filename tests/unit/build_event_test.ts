/**
 * The engine end to end: build real, signed rooms in every version with `buildPdu`, then check
 * every event the way a receiving server would (parse, signature, auth events, auth rules).
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { SigningKey, verifyJsonSignature } from "../../crypto/signing.ts";
import { computeContentHash } from "../../crypto/hashes.ts";
import { BuildEventError, buildPdu, type EventTemplate } from "../../federation/build_event.ts";
import { checkAuth, checkAuthEvents } from "../../federation/auth_rules.ts";
import { MAX_PDU_BYTES, parsePdu } from "../../federation/event_format.ts";
import { canonicalJsonBytes } from "../../crypto/canonical_json.ts";
import { redactPdu } from "../../federation/redaction.ts";
import { ROOM_VERSIONS, type RoomVersionRules } from "../../federation/room_versions.ts";
import { stateAfterEvent } from "../../federation/state_res/mod.ts";
import {
  type JsonObject,
  type RoomEvent,
  type StateMap,
  stateTupleKey,
} from "../../federation/types.ts";

const ORIGIN = "gemeng.test";
const ALICE = `@alice:${ORIGIN}`;
const BOB = `@bob:${ORIGIN}`;
const key = await SigningKey.generate("test");

/** A tiny in-memory room that builds events and checks them as a receiver would. */
class TestRoom {
  readonly events = new Map<string, RoomEvent>();
  state: StateMap = new Map();
  extremities: RoomEvent[] = [];
  roomId: string | undefined;
  #counter = 0;

  constructor(readonly rules: RoomVersionRules) {
    if (!rules.roomIdFromCreateEvent) this.roomId = `!room:${ORIGIN}`;
  }

  lookup = (type: string, stateKey: string) => {
    const id = this.state.get(stateTupleKey(type, stateKey));
    return id === undefined ? undefined : this.events.get(id);
  };

  async build(template: EventTemplate): Promise<RoomEvent> {
    return await buildPdu(template, {
      rules: this.rules,
      roomId: this.roomId,
      origin: ORIGIN,
      signingKey: key,
      prevEvents: this.extremities,
      state: this.lookup,
      originServerTs: 1_700_000_000_000 + this.#counter,
      eventIdLocalpart: `e${++this.#counter}`,
    });
  }

  /** Builds an event, checks it like a receiving server, and appends it if accepted. */
  async send(
    template: EventTemplate,
  ): Promise<{ event: RoomEvent; accepted: boolean; reason?: string }> {
    const event = await this.build(template);
    this.roomId ??= event.roomId;
    // Receive it again from its wire form, as another server would.
    const wire = this.rules.eventFormat === "v1" ? event.pdu : { ...event.pdu };
    const parsed = parsePdu(JSON.parse(JSON.stringify(wire)), this.rules);
    assert(parsed.ok, parsed.ok ? "" : parsed.reason);
    assertEquals(parsed.event.eventId, event.eventId);
    const redacted = redactPdu(event.pdu, this.rules);
    assert(
      await verifyJsonSignature(redacted, ORIGIN, key.keyId, key.publicKey, {
        strict: this.rules.strictCanonicalJson,
      }),
      "signature verifies over the redacted event",
    );
    assertEquals(
      (event.pdu.hashes as { sha256: string }).sha256,
      computeContentHash(event.pdu, { strict: this.rules.strictCanonicalJson }),
    );
    const authEvents = event.authEvents.map((id) => this.events.get(id)!);
    let verdict = checkAuthEvents(event, authEvents, this.rules);
    if (verdict.ok) verdict = checkAuth(event, this.lookup, this.rules);
    if (!verdict.ok) return { event, accepted: false, reason: verdict.reason };
    this.events.set(event.eventId, event);
    this.state = stateAfterEvent(this.state, event);
    this.extremities = [event];
    return { event, accepted: true };
  }
}

async function createRoom(rules: RoomVersionRules): Promise<TestRoom> {
  const room = new TestRoom(rules);
  const createContent: JsonObject = rules.createHasCreator
    ? { creator: ALICE, room_version: rules.id }
    : { room_version: rules.id };
  const steps: EventTemplate[] = [
    { type: "m.room.create", stateKey: "", sender: ALICE, content: createContent },
    { type: "m.room.member", stateKey: ALICE, sender: ALICE, content: { membership: "join" } },
    {
      type: "m.room.power_levels",
      stateKey: "",
      sender: ALICE,
      content: { users: rules.privilegedCreators ? {} : { [ALICE]: 100 } },
    },
    { type: "m.room.join_rules", stateKey: "", sender: ALICE, content: { join_rule: "invite" } },
  ];
  for (const step of steps) {
    const result = await room.send(step);
    assert(result.accepted, `room ${rules.id} setup ${step.type}: ${result.reason}`);
  }
  return room;
}

for (const rules of ROOM_VERSIONS.values()) {
  Deno.test(`buildPdu: a signed room in version ${rules.id} passes a receiver's checks`, async () => {
    const room = await createRoom(rules);
    const roomId = room.roomId!;
    if (rules.roomIdFromCreateEvent) {
      assert(/^![A-Za-z0-9_-]{43}$/.test(roomId), `v12 room ID ${roomId}`);
    } else assert(roomId.endsWith(`:${ORIGIN}`) || roomId.includes(":"), roomId);
    const idPattern = {
      v1: /^\$e\d+:gemeng\.test$/,
      v3: /^\$[A-Za-z0-9+/]{43}$/,
      v4: /^\$[A-Za-z0-9_-]{43}$/,
    };
    for (const event of room.events.values()) {
      assert(idPattern[rules.eventIdFormat].test(event.eventId), event.eventId);
    }

    // Bob cannot join an invite-only room uninvited; after an invite he can.
    const early = await room.send({
      type: "m.room.member",
      stateKey: BOB,
      sender: BOB,
      content: { membership: "join" },
    });
    assert(!early.accepted, "uninvited join is rejected");
    const invite = await room.send({
      type: "m.room.member",
      stateKey: BOB,
      sender: ALICE,
      content: { membership: "invite" },
    });
    assert(invite.accepted, invite.reason);
    const join = await room.send({
      type: "m.room.member",
      stateKey: BOB,
      sender: BOB,
      content: { membership: "join" },
    });
    assert(join.accepted, join.reason);
    assertEquals(join.event.depth, invite.event.depth + 1);
    assertEquals(join.event.prevEvents, [invite.event.eventId]);

    const message = await room.send({
      type: "m.room.message",
      sender: BOB,
      content: { msgtype: "m.text", body: "moien" },
    });
    assert(message.accepted, message.reason);
    // Bob (power 0) may not change the room name (state_default 50).
    const name = await room.send({
      type: "m.room.name",
      stateKey: "",
      sender: BOB,
      content: { name: "x" },
    });
    assert(!name.accepted);
    // Alice redacts Bob's message; the redacts field sits where the version wants it.
    const redaction = await room.send({
      type: "m.room.redaction",
      sender: ALICE,
      content: {},
      redacts: message.event.eventId,
    });
    assert(redaction.accepted, redaction.reason);
    assertEquals(redaction.event.redacts, message.event.eventId);
    assertEquals("redacts" in redaction.event.pdu, !rules.redactsInContent);
    assertEquals("redacts" in redaction.event.content, rules.redactsInContent);
  });
}

Deno.test("buildPdu: rejects templates that break the event format", async () => {
  const rules = ROOM_VERSIONS.get("10")!;
  const room = await createRoom(rules);
  await assertRejects(
    () =>
      room.build({ type: "m.room.message", sender: ALICE, content: { body: "x".repeat(70_000) } }),
    BuildEventError,
  );
  await assertRejects(
    () => room.build({ type: "m.room.message", sender: ALICE, content: { n: 1.5 } }),
    BuildEventError,
  );
  await assertRejects(
    () =>
      buildPdu({ type: "m.room.message", sender: ALICE, content: {} }, {
        rules,
        origin: ORIGIN,
        signingKey: key,
        prevEvents: [],
        state: () => undefined,
        originServerTs: 0,
      }),
    BuildEventError,
    "room ID",
  );
});

Deno.test("buildPdu: the size limit holds to the byte (the size is not encoded again)", async () => {
  for (const version of ["1", "10"]) {
    const room = await createRoom(ROOM_VERSIONS.get(version)!);
    const message = (body: string) =>
      room.build({ type: "m.room.message", sender: ALICE, content: { body } });
    // The whole signed event's canonical size for a given body, measured on the wire form.
    const sizeOf = (event: RoomEvent) =>
      canonicalJsonBytes(
        room.rules.eventFormat === "v1" ? event.pdu : { ...event.pdu },
      ).length;
    const small = await message("é");
    // Each "é" is two bytes, so use ASCII to land exactly on the limit.
    const fill = MAX_PDU_BYTES - sizeOf(small) + 2;
    const exact = await message("x".repeat(fill));
    assertEquals(sizeOf(exact), MAX_PDU_BYTES);
    await assertRejects(() => message("x".repeat(fill + 1)), BuildEventError, "bytes");
  }
});

Deno.test("buildPdu: at most 20 prev_events, the deepest, when the room has more extremities", async () => {
  const rules = ROOM_VERSIONS.get("11")!;
  const room = await createRoom(rules);
  const forks: RoomEvent[] = [];
  const base = room.extremities;
  for (let i = 0; i < 25; i++) {
    room.extremities = base;
    forks.push(
      (await room.send({ type: "m.room.message", sender: ALICE, content: { body: `${i}` } })).event,
    );
  }
  room.extremities = forks;
  const merge = await room.build({
    type: "m.room.message",
    sender: ALICE,
    content: { body: "merge" },
  });
  assertEquals(merge.prevEvents.length, 20);
  assertEquals(merge.depth, forks[0].depth + 1);
});
