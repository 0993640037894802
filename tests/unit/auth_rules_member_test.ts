/**
 * Auth rules for m.room.member: joins (public, invite, knock, restricted, knock_restricted),
 * invites, leaves, kicks, bans and knocks, per room version.
 */
import type { JsonObject } from "../../federation/types.ts";
import {
  addEvent,
  ALICE,
  ALL_VERSIONS,
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

function member(
  room: TestRoom,
  sender: string,
  target: string,
  membership: string,
  extra: JsonObject = {},
  signatures?: JsonObject,
) {
  const event = buildEvent(room, {
    type: "m.room.member",
    stateKey: target,
    sender,
    content: { membership, ...extra },
  });
  if (signatures) event.pdu.signatures = signatures;
  return event;
}

for (const v of ALL_VERSIONS) {
  const rules = rulesOf(v);

  Deno.test(`member v${v}: state_key and membership are required`, () => {
    const room = makeRoom(v);
    const noKey = buildEvent(room, {
      type: "m.room.member",
      sender: BOB,
      content: { membership: "join" },
    });
    expectRejection(check(room, noKey), "state_key", "no state_key");
    const noMembership = buildEvent(room, { type: "m.room.member", stateKey: BOB, sender: BOB });
    expectRejection(check(room, noMembership), "membership", "no membership");
    expectRejection(check(room, member(room, BOB, BOB, "dance")), "unknown", "unknown membership");
  });

  Deno.test(`member v${v}: join a public room`, () => {
    const room = makeRoom(v);
    const join = member(room, BOB, BOB, "join");
    expectVerdict(check(room, join), true, "public join");
    expectVerdict(checkWithAuthEvents(room, join), true, "public join by auth events");
    expectRejection(check(room, member(room, ALICE, BOB, "join")), "sender", "join for another");
  });

  Deno.test(`member v${v}: banned users cannot join`, () => {
    const room = makeRoom(v);
    setMember(room, BOB, "ban", ALICE);
    expectRejection(check(room, member(room, BOB, BOB, "join")), "banned", "banned join");
  });

  Deno.test(`member v${v}: invite-only rooms need an invite (or a prior join)`, () => {
    const room = makeRoom(v, { joinRule: "invite" });
    expectVerdict(check(room, member(room, BOB, BOB, "join")), false, "uninvited");
    setMember(room, BOB, "invite", ALICE);
    expectVerdict(check(room, member(room, BOB, BOB, "join")), true, "invited");
    setMember(room, BOB, "join");
    expectVerdict(check(room, member(room, BOB, BOB, "join")), true, "re-join");
  });

  Deno.test(`member v${v}: without join rules the room counts as invite-only`, () => {
    const room = makeRoom(v, { joinRule: null });
    expectVerdict(check(room, member(room, BOB, BOB, "join")), false, "uninvited");
    setMember(room, BOB, "invite", ALICE);
    expectVerdict(check(room, member(room, BOB, BOB, "join")), true, "invited");
  });

  Deno.test(`member v${v}: join rules without a join_rule count as invite (as Synapse)`, () => {
    const room = makeRoom(v, { joinRule: null });
    addEvent(room, { type: "m.room.join_rules", stateKey: "", sender: ALICE, content: {} });
    expectVerdict(check(room, member(room, BOB, BOB, "join")), false, "uninvited");
    setMember(room, BOB, "invite", ALICE);
    expectVerdict(check(room, member(room, BOB, BOB, "join")), true, "invited");
    expectVerdict(check(room, member(room, CAROL, CAROL, "knock")), false, "knock");
  });

  Deno.test(`member v${v}: unknown join rules refuse joins`, () => {
    const room = makeRoom(v, { joinRule: "private" });
    expectVerdict(check(room, member(room, BOB, BOB, "join")), false, "private");
  });

  Deno.test(`member v${v}: knock join rule lets invited users join (v7+)`, () => {
    const room = makeRoom(v, { joinRule: "knock" });
    setMember(room, BOB, "invite", ALICE);
    expectVerdict(check(room, member(room, BOB, BOB, "join")), rules.knocking, "invited join");
    expectVerdict(check(room, member(room, CAROL, CAROL, "join")), false, "uninvited join");
  });

  Deno.test(`member v${v}: knocking (v7+, knock rooms)`, () => {
    const room = makeRoom(v, { joinRule: "knock" });
    const knock = member(room, BOB, BOB, "knock");
    expectVerdict(check(room, knock), rules.knocking, "knock");
    if (rules.knocking) expectVerdict(checkWithAuthEvents(room, knock), true, "by auth events");
    expectVerdict(check(room, member(room, ALICE, BOB, "knock")), false, "knock for another");
    setMember(room, CAROL, "ban", ALICE);
    expectVerdict(check(room, member(room, CAROL, CAROL, "knock")), false, "banned knock");
    setMember(room, DAVE, "join");
    expectVerdict(check(room, member(room, DAVE, DAVE, "knock")), false, "joined knock");
  });

  Deno.test(`member v${v}: knocking in a public room is rejected`, () => {
    const room = makeRoom(v);
    expectVerdict(check(room, member(room, BOB, BOB, "knock")), false, "public knock");
  });

  Deno.test(`member v${v}: knocking on knock_restricted rooms (v10+)`, () => {
    const room = makeRoom(v, { joinRule: "knock_restricted" });
    expectVerdict(check(room, member(room, BOB, BOB, "knock")), rules.knockRestricted, "knock");
  });

  Deno.test(`member v${v}: leaving after a knock (v7+)`, () => {
    const room = makeRoom(v, { joinRule: "knock" });
    setMember(room, BOB, "knock");
    expectVerdict(check(room, member(room, BOB, BOB, "leave")), rules.knocking, "rescind");
  });

  for (const joinRule of ["restricted", "knock_restricted"]) {
    const supported = joinRule === "restricted" ? rules.restrictedJoins : rules.knockRestricted;
    const signed = { "example.org": { "ed25519:a": "sig" }, "other.org": { "ed25519:b": "sig" } };

    Deno.test(`member v${v}: ${joinRule} join authorised by a joined inviter`, () => {
      const room = makeRoom(v, { joinRule });
      const via = { join_authorised_via_users_server: ALICE };
      const join = member(room, CAROL, CAROL, "join", via, signed);
      expectVerdict(check(room, join), supported, `${joinRule} join`);
      if (supported) expectVerdict(checkWithAuthEvents(room, join), true, "by auth events");
    });

    Deno.test(`member v${v}: ${joinRule} join without or with a bad authoriser`, () => {
      const room = makeRoom(v, {
        joinRule,
        powerLevels: { ...defaultPowerLevels(rules), invite: 50 },
      });
      setMember(room, BOB, "join");
      const none = member(room, CAROL, CAROL, "join", {}, signed);
      expectVerdict(check(room, none), false, "no authoriser");
      const weak = member(room, CAROL, CAROL, "join", { join_authorised_via_users_server: BOB });
      weak.pdu.signatures = signed;
      expectVerdict(check(room, weak), false, "authoriser below invite level");
      const absent = member(room, CAROL, CAROL, "join", { join_authorised_via_users_server: DAVE });
      absent.pdu.signatures = signed;
      expectVerdict(check(room, absent), false, "authoriser not joined");
      const unsigned = member(room, CAROL, CAROL, "join", {
        join_authorised_via_users_server: ALICE,
      }, { "other.org": { "ed25519:b": "sig" } });
      const verdict = check(room, unsigned);
      expectVerdict(verdict, false, "not signed by the authorising server");
      if (supported) expectRejection(verdict, "not signed", "unsigned reason");
    });

    Deno.test(`member v${v}: ${joinRule} rooms let invited users join`, () => {
      const room = makeRoom(v, { joinRule });
      setMember(room, CAROL, "invite", ALICE);
      expectVerdict(check(room, member(room, CAROL, CAROL, "join")), supported, "invited");
    });
  }

  Deno.test(`member v${v}: invites`, () => {
    const room = makeRoom(v, { powerLevels: { ...defaultPowerLevels(rules), invite: 10 } });
    const invite = member(room, ALICE, BOB, "invite");
    expectVerdict(check(room, invite), true, "invite");
    expectVerdict(checkWithAuthEvents(room, invite), true, "invite by auth events");
    expectRejection(check(room, member(room, CAROL, BOB, "invite")), "not joined", "outsider");
    setMember(room, CAROL, "join");
    expectRejection(check(room, member(room, CAROL, BOB, "invite")), "invite level", "weak");
    setMember(room, BOB, "join");
    expectRejection(check(room, member(room, ALICE, BOB, "invite")), "join", "already joined");
    setMember(room, DAVE, "ban", ALICE);
    expectRejection(check(room, member(room, ALICE, DAVE, "invite")), "ban", "banned target");
  });

  Deno.test(`member v${v}: leaving`, () => {
    const room = makeRoom(v);
    expectVerdict(check(room, member(room, BOB, BOB, "leave")), false, "leave from nothing");
    setMember(room, BOB, "invite", ALICE);
    expectVerdict(check(room, member(room, BOB, BOB, "leave")), true, "reject invite");
    setMember(room, BOB, "join");
    expectVerdict(check(room, member(room, BOB, BOB, "leave")), true, "leave");
    setMember(room, BOB, "ban", ALICE);
    expectVerdict(check(room, member(room, BOB, BOB, "leave")), false, "banned leave");
  });

  Deno.test(`member v${v}: kicks need the kick level and more power than the target`, () => {
    const room = makeRoom(v, {
      powerLevels: { users: { ...defaultPowerLevels(rules).users as JsonObject, [BOB]: 50 } },
    });
    setMember(room, BOB, "join");
    setMember(room, CAROL, "join");
    setMember(room, DAVE, "join");
    expectVerdict(check(room, member(room, BOB, CAROL, "leave")), true, "kick");
    expectVerdict(check(room, member(room, CAROL, DAVE, "leave")), false, "kick without level");
    expectVerdict(check(room, member(room, BOB, ALICE, "leave")), false, "kick a stronger user");
    setMember(room, BOB, "leave");
    expectRejection(check(room, member(room, BOB, CAROL, "leave")), "not joined", "outsider");
  });

  Deno.test(`member v${v}: unbanning needs the ban level too`, () => {
    const room = makeRoom(v, {
      powerLevels: {
        ...defaultPowerLevels(rules),
        ban: 60,
        users: { ...defaultPowerLevels(rules).users as JsonObject, [BOB]: 50 },
      },
    });
    setMember(room, BOB, "join");
    setMember(room, CAROL, "ban", ALICE);
    expectRejection(check(room, member(room, BOB, CAROL, "leave")), "ban level", "weak unban");
    expectVerdict(check(room, member(room, ALICE, CAROL, "leave")), true, "unban");
  });

  Deno.test(`member v${v}: bans`, () => {
    const room = makeRoom(v);
    setMember(room, BOB, "join");
    expectVerdict(check(room, member(room, ALICE, BOB, "ban")), true, "ban");
    expectVerdict(check(room, member(room, ALICE, CAROL, "ban")), true, "ban a non-member");
    expectVerdict(check(room, member(room, BOB, ALICE, "ban")), false, "ban without level");
    expectVerdict(check(room, member(room, CAROL, BOB, "ban")), false, "ban by outsider");
  });
}

Deno.test("member v12: creators cannot be kicked or banned, even by other creators", () => {
  const room = makeRoom("12", { createContent: { additional_creators: [BOB] } });
  setMember(room, BOB, "join");
  setMember(room, CAROL, "join");
  expectVerdict(check(room, member(room, BOB, ALICE, "leave")), false, "kick a creator");
  expectVerdict(check(room, member(room, BOB, ALICE, "ban")), false, "ban a creator");
  expectVerdict(check(room, member(room, BOB, CAROL, "ban")), true, "creator bans a member");
});

Deno.test("member v11: a power level 100 user can be kicked by nobody below 100", () => {
  const room = makeRoom("11", { powerLevels: { users: { [ALICE]: 100, [BOB]: 100 } } });
  setMember(room, BOB, "join");
  expectVerdict(check(room, member(room, BOB, ALICE, "leave")), false, "equal power kick");
});
