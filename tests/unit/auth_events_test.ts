/**
 * Auth events selection (server-server API) per room version.
 */
import { authEventTypes, selectAuthEvents } from "../../federation/auth_events.ts";
import type { JsonObject } from "../../federation/types.ts";
import { assertEquals } from "./assert.ts";
import {
  ALICE,
  ALL_VERSIONS,
  BOB,
  CAROL,
  makeRoom,
  rulesOf,
  setMember,
} from "./auth_rules_fixture.ts";

function subject(type: string, sender: string, stateKey?: string, content: JsonObject = {}) {
  return { type, sender, stateKey, content };
}

for (const v of ALL_VERSIONS) {
  const rules = rulesOf(v);
  const create: Array<[string, string]> = rules.roomIdFromCreateEvent
    ? []
    : [["m.room.create", ""]];
  const base: Array<[string, string]> = [...create, ["m.room.power_levels", ""]];

  Deno.test(`auth events v${v}: the create event has none`, () => {
    assertEquals(authEventTypes(subject("m.room.create", ALICE, ""), rules), []);
  });

  Deno.test(`auth events v${v}: messages and state cite create (v1-v11), PL, sender`, () => {
    const expected = [...base, ["m.room.member", BOB]];
    assertEquals(authEventTypes(subject("m.room.message", BOB), rules), expected);
    assertEquals(authEventTypes(subject("m.room.topic", BOB, ""), rules), expected);
  });

  Deno.test(`auth events v${v}: memberships add the target and join rules`, () => {
    for (const membership of ["join", "invite", "knock"]) {
      assertEquals(
        authEventTypes(subject("m.room.member", ALICE, BOB, { membership }), rules),
        [...base, ["m.room.member", ALICE], ["m.room.member", BOB], ["m.room.join_rules", ""]],
        membership,
      );
    }
    for (const membership of ["leave", "ban"]) {
      assertEquals(
        authEventTypes(subject("m.room.member", ALICE, BOB, { membership }), rules),
        [...base, ["m.room.member", ALICE], ["m.room.member", BOB]],
        membership,
      );
    }
    assertEquals(
      authEventTypes(subject("m.room.member", BOB, BOB, { membership: "join" }), rules),
      [...base, ["m.room.member", BOB], ["m.room.join_rules", ""]],
      "own join",
    );
  });

  Deno.test(`auth events v${v}: third-party invites add the invite token`, () => {
    const content = {
      membership: "invite",
      third_party_invite: { display_name: "c", signed: { mxid: CAROL, token: "tok" } },
    };
    const pairs = authEventTypes(subject("m.room.member", ALICE, CAROL, content), rules);
    assertEquals(pairs.at(-1), ["m.room.third_party_invite", "tok"]);
  });

  Deno.test(`auth events v${v}: restricted joins add the authoriser (v8+)`, () => {
    const content = { membership: "join", join_authorised_via_users_server: ALICE };
    const pairs = authEventTypes(subject("m.room.member", CAROL, CAROL, content), rules);
    const hasAuthoriser = pairs.some(([t, k]) => t === "m.room.member" && k === ALICE);
    assertEquals(hasAuthoriser, rules.restrictedJoins);
  });

  Deno.test(`auth events v${v}: selection picks the IDs present in state`, () => {
    const room = makeRoom(v);
    setMember(room, BOB, "join");
    const ids = selectAuthEvents(subject("m.room.message", BOB), room.lookup, rules);
    const expected = [
      ...create.map(() => room.createId),
      room.lookup("m.room.power_levels", "")!.eventId,
      room.lookup("m.room.member", BOB)!.eventId,
    ];
    assertEquals(ids, expected);
    const join = selectAuthEvents(
      subject("m.room.member", CAROL, CAROL, { membership: "join" }),
      room.lookup,
      rules,
    );
    assertEquals(join, [
      ...create.map(() => room.createId),
      room.lookup("m.room.power_levels", "")!.eventId,
      room.lookup("m.room.join_rules", "")!.eventId,
    ]);
  });
}
