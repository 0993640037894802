/**
 * The remaining auth rules per room version: the v1-v2 redaction rule, v1-v5 aliases,
 * third-party invites, "sender must be joined", the m.room.third_party_invite level, the
 * required power level of an event type, user-ID state keys, and the auth_events list rules.
 */
import { checkAuthEvents } from "../../federation/auth_rules.ts";
import type { JsonObject, RoomEvent } from "../../federation/types.ts";
import { SigningKey, signJson } from "../../crypto/signing.ts";
import { encodeBase64Url } from "../../crypto/base64.ts";
import { fakeEvent } from "../support/room_builder.ts";
import {
  ALICE,
  ALL_VERSIONS,
  apply,
  BOB,
  buildEvent,
  CAROL,
  check,
  checkWithAuthEvents,
  DAVE,
  defaultPowerLevels,
  expectRejection,
  expectVerdict,
  makeRoom,
  rulesOf,
  setMember,
  type TestRoom,
} from "./auth_rules_fixture.ts";

const identityKey = await SigningKey.generate("0");
const otherKey = await SigningKey.generate("1");

async function signedBlock(mxid: string, token: string, key = identityKey): Promise<JsonObject> {
  return await signJson({ mxid, token, sender: ALICE }, "id.example.org", key) as JsonObject;
}

function message(room: TestRoom, sender: string, extra: Partial<JsonObject> = {}) {
  return buildEvent(room, { type: "m.room.message", sender, content: { body: "hi", ...extra } });
}

for (const v of ALL_VERSIONS) {
  const rules = rulesOf(v);

  Deno.test(`misc v${v}: the sender must be joined`, () => {
    const room = makeRoom(v);
    expectRejection(check(room, message(room, BOB)), "not joined", "outsider message");
    setMember(room, BOB, "invite", ALICE);
    expectRejection(check(room, message(room, BOB)), "not joined", "invited message");
    setMember(room, BOB, "join");
    const msg = message(room, BOB);
    expectVerdict(check(room, msg), true, "member message");
    expectVerdict(checkWithAuthEvents(room, msg), true, "member message by auth events");
  });

  Deno.test(`misc v${v}: event types need their required power level`, () => {
    const room = makeRoom(v, {
      powerLevels: {
        ...defaultPowerLevels(rules),
        events: { "m.room.name": 0, "m.reaction": 10 },
        events_default: 5,
      },
    });
    setMember(room, BOB, "join");
    const state = (type: string) => buildEvent(room, { type, stateKey: "", sender: BOB });
    expectRejection(check(room, state("m.room.topic")), "requires power level 50", "topic");
    expectVerdict(check(room, state("m.room.name")), true, "name at 0");
    expectRejection(check(room, message(room, BOB)), "requires power level 5", "message");
    const reaction = buildEvent(room, { type: "m.reaction", sender: BOB });
    expectRejection(check(room, reaction), "requires power level 10", "reaction");
    expectVerdict(check(room, message(room, ALICE)), true, "alice message");
  });

  Deno.test(`misc v${v}: state keys naming another user are refused`, () => {
    const room = makeRoom(v);
    const own = buildEvent(room, { type: "org.example.x", stateKey: ALICE, sender: ALICE });
    expectVerdict(check(room, own), true, "own user key");
    const other = buildEvent(room, { type: "org.example.x", stateKey: BOB, sender: ALICE });
    expectRejection(check(room, other), "state_key", "other user key");
  });

  Deno.test(`misc v${v}: m.room.third_party_invite needs the invite level`, () => {
    const room = makeRoom(v, { powerLevels: { ...defaultPowerLevels(rules), invite: 20 } });
    setMember(room, BOB, "join");
    const invite = (sender: string) =>
      buildEvent(room, {
        type: "m.room.third_party_invite",
        stateKey: "tok",
        sender,
        content: { public_key: identityKey.publicKeyBase64 },
      });
    expectRejection(check(room, invite(BOB)), "invite level", "bob below invite level");
    expectVerdict(check(room, invite(ALICE)), true, "alice");
  });

  Deno.test(`misc v${v}: m.room.redaction rule (v1-v2 only)`, () => {
    const room = makeRoom(v, { powerLevels: { ...defaultPowerLevels(rules), redact: 50 } });
    setMember(room, CAROL, "join");
    const redaction = (id: string, redacts: string, sender = CAROL) =>
      buildEvent(room, { id, type: "m.room.redaction", sender, redacts, content: {} });
    expectVerdict(
      check(room, redaction("$r1:other.org", "$target:example.org")),
      !rules.authRedactionRule,
      "redacting another domain's event below the redact level",
    );
    expectVerdict(check(room, redaction("$r2:other.org", "$t:other.org")), true, "same domain");
    expectVerdict(check(room, redaction("$r3:example.org", "$t:other.org", ALICE)), true, "mod");
  });

  Deno.test(`misc v${v}: m.room.aliases (special rule in v1-v5)`, () => {
    const room = makeRoom(v);
    const aliases = (sender: string, stateKey: string) =>
      buildEvent(room, {
        type: "m.room.aliases",
        stateKey,
        sender,
        content: { aliases: ["#a:other.org"] },
      });
    // Carol is not a member; v1-v5 allow her server's aliases anyway.
    expectVerdict(check(room, aliases(CAROL, "other.org")), rules.specialCaseAliases, "own");
    expectVerdict(check(room, aliases(CAROL, "example.org")), false, "other domain");
    setMember(room, DAVE, "join");
    // v6+: an ordinary state event needing state_default (50); Dave has 0.
    expectVerdict(check(room, aliases(DAVE, "other.org")), rules.specialCaseAliases, "member");
  });

  Deno.test(`misc v${v}: third-party invites with a valid signature are allowed`, async () => {
    const room = makeRoom(v);
    addThirdPartyInvite(room, "tok", { public_key: identityKey.publicKeyBase64 });
    const invite = thirdPartyMember(room, ALICE, CAROL, await signedBlock(CAROL, "tok"));
    expectVerdict(check(room, invite), true, "3pid invite");
    expectVerdict(checkWithAuthEvents(room, invite), true, "3pid invite by auth events");
  });

  Deno.test(`misc v${v}: third-party invites accept keys from public_keys`, async () => {
    const room = makeRoom(v);
    addThirdPartyInvite(room, "tok", {
      public_key: otherKey.publicKeyBase64,
      public_keys: [{ public_key: encodeBase64Url(identityKey.publicKey) }],
    });
    const invite = thirdPartyMember(room, ALICE, CAROL, await signedBlock(CAROL, "tok"));
    expectVerdict(check(room, invite), true, "key from public_keys (URL-safe base64)");
  });

  Deno.test(`misc v${v}: third-party invites that do not match are refused`, async () => {
    const room = makeRoom(v);
    setMember(room, BOB, "join");
    addThirdPartyInvite(room, "tok", { public_key: identityKey.publicKeyBase64 });
    const good = await signedBlock(CAROL, "tok");
    const cases: Array<[string, RoomEvent, string]> = [
      [
        "wrong key",
        thirdPartyMember(room, ALICE, CAROL, await signedBlock(CAROL, "tok", otherKey)),
        "no signature",
      ],
      [
        "tampered",
        thirdPartyMember(room, ALICE, CAROL, { ...good, mxid: CAROL, token: "tok", extra: 1 }),
        "no signature",
      ],
      ["mxid mismatch", thirdPartyMember(room, ALICE, DAVE, good), "mxid"],
      [
        "unknown token",
        thirdPartyMember(room, ALICE, CAROL, await signedBlock(CAROL, "nope")),
        "token",
      ],
      ["other sender", thirdPartyMember(room, BOB, CAROL, good), "sender"],
      ["no signed", thirdPartyMember(room, ALICE, CAROL, undefined), "signed"],
      ["no token", thirdPartyMember(room, ALICE, CAROL, { mxid: CAROL }), "mxid and token"],
    ];
    for (const [what, event, reason] of cases) expectRejection(check(room, event), reason, what);
    setMember(room, CAROL, "ban", ALICE);
    expectRejection(check(room, thirdPartyMember(room, ALICE, CAROL, good)), "banned", "banned");
  });

  Deno.test(`misc v${v}: auth_events lists are checked`, () => {
    const room = makeRoom(v);
    setMember(room, BOB, "join");
    const msg = message(room, BOB);
    const auth = msg.authEvents.map((id) => room.events.get(id)!);
    expectVerdict(checkAuthEvents(msg, auth, rules), true, "selected auth events");
    const joinRules = room.lookup("m.room.join_rules", "")!;
    const extra = { ...msg, authEvents: [...msg.authEvents, joinRules.eventId] };
    expectRejection(
      checkAuthEvents(extra, [...auth, joinRules], rules),
      "not selected",
      "join rules for a message",
    );
    const oldPl = fakeEvent({
      id: "$OLD-PL",
      type: "m.room.power_levels",
      stateKey: "",
      sender: ALICE,
      roomId: room.roomId,
    });
    const dup = { ...msg, authEvents: [...msg.authEvents, oldPl.eventId] };
    expectRejection(checkAuthEvents(dup, [...auth, oldPl], rules), "duplicate", "two PLs");
    const foreign = fakeEvent({
      id: "$FOREIGN",
      type: "m.room.power_levels",
      stateKey: "",
      sender: ALICE,
      roomId: "!elsewhere:example.org",
    });
    const noPl = auth.filter((e) => e.type !== "m.room.power_levels");
    const wrongRoom = { ...msg, authEvents: [...noPl.map((e) => e.eventId), "$FOREIGN"] };
    expectRejection(
      checkAuthEvents(wrongRoom, [...noPl, foreign], rules),
      "belongs to room",
      "auth event from another room",
    );
    const unlisted = checkAuthEvents({ ...msg, authEvents: [] }, auth, rules);
    expectRejection(unlisted, "not listed", "events not in auth_events");
  });

  Deno.test(`misc v${v}: the create event is required (v1-v11) or forbidden (v12)`, () => {
    const room = makeRoom(v);
    setMember(room, BOB, "join");
    const msg = message(room, BOB);
    const auth = msg.authEvents.map((id) => room.events.get(id)!);
    const create = room.events.get(room.createId)!;
    if (rules.roomIdFromCreateEvent) {
      const withCreate = { ...msg, authEvents: [...msg.authEvents, create.eventId] };
      expectRejection(checkAuthEvents(withCreate, [...auth, create], rules), "must not", "v12");
    } else {
      const rest = auth.filter((e) => e.type !== "m.room.create");
      const without = { ...msg, authEvents: rest.map((e) => e.eventId) };
      expectRejection(checkAuthEvents(without, rest, rules), "no m.room.create", "no create");
    }
  });
}

function addThirdPartyInvite(room: TestRoom, token: string, content: JsonObject): RoomEvent {
  const event = buildEvent(room, {
    type: "m.room.third_party_invite",
    stateKey: token,
    sender: ALICE,
    content: { display_name: "c...@example.com", key_validity_url: "https://id/", ...content },
  });
  return apply(room, event);
}

function thirdPartyMember(
  room: TestRoom,
  sender: string,
  target: string,
  signed: JsonObject | undefined,
): RoomEvent {
  const thirdPartyInvite: JsonObject = { display_name: "c...@example.com" };
  if (signed !== undefined) thirdPartyInvite.signed = signed;
  return buildEvent(room, {
    type: "m.room.member",
    stateKey: target,
    sender,
    content: { membership: "invite", third_party_invite: thirdPartyInvite },
  });
}
