/**
 * Auth events selection (server-server API): which state events an event must cite in its
 * `auth_events`, and picking their IDs out of a room state.
 *
 * @module
 */

import type { RoomVersionRules } from "./room_versions.ts";
import type { JsonObject, StateLookup } from "./types.ts";
import { stateTupleKey } from "./types.ts";

/** The fields of an event that decide its auth events. */
export interface AuthEventsSubject {
  readonly type: string;
  readonly sender: string;
  readonly stateKey: string | undefined;
  readonly content: JsonObject;
}

function thirdPartyInviteToken(content: JsonObject): string | undefined {
  const invite = content.third_party_invite;
  if (typeof invite !== "object" || invite === null || Array.isArray(invite)) return undefined;
  const signed = invite.signed;
  if (typeof signed !== "object" || signed === null || Array.isArray(signed)) return undefined;
  return typeof signed.token === "string" ? signed.token : undefined;
}

/**
 * The (type, state_key) pairs an event's auth events are selected from: the create event
 * (v1-v11 only; in v12 the room ID stands for it), the power levels, the sender's membership,
 * and for m.room.member events the target's membership, the join rules (join, invite, knock),
 * the m.room.third_party_invite named by the invite's token, and (v8+) the membership of the
 * `join_authorised_via_users_server` user of a join. The create event itself has none.
 * Pairs are distinct, in that order.
 */
export function authEventTypes(
  event: AuthEventsSubject,
  rules: RoomVersionRules,
): Array<[string, string]> {
  if (event.type === "m.room.create") return [];
  const pairs: Array<[string, string]> = [];
  const seen = new Set<string>();
  const add = (type: string, stateKey: string) => {
    const key = stateTupleKey(type, stateKey);
    if (seen.has(key)) return;
    seen.add(key);
    pairs.push([type, stateKey]);
  };
  if (!rules.roomIdFromCreateEvent) add("m.room.create", "");
  add("m.room.power_levels", "");
  add("m.room.member", event.sender);
  if (event.type === "m.room.member" && event.stateKey !== undefined) {
    add("m.room.member", event.stateKey);
    const membership = event.content.membership;
    if (membership === "join" || membership === "invite" || membership === "knock") {
      add("m.room.join_rules", "");
    }
    if (membership === "invite") {
      const token = thirdPartyInviteToken(event.content);
      if (token !== undefined) add("m.room.third_party_invite", token);
    }
    const authoriser = event.content.join_authorised_via_users_server;
    if (membership === "join" && rules.restrictedJoins && typeof authoriser === "string") {
      add("m.room.member", authoriser);
    }
  }
  return pairs;
}

/**
 * The IDs of the auth events for an event, taken from a state (usually the state before it):
 * the events of {@link authEventTypes} that the state has, in that order.
 */
export function selectAuthEvents(
  event: AuthEventsSubject,
  state: StateLookup,
  rules: RoomVersionRules,
): string[] {
  const ids: string[] = [];
  for (const [type, stateKey] of authEventTypes(event, rules)) {
    const found = state(type, stateKey);
    if (found !== undefined) ids.push(found.eventId);
  }
  return ids;
}
