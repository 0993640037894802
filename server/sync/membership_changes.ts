/**
 * Membership changes as an incremental sync sees them (spec: "Syncing"): whether a member event
 * of the user after `since` is a new join (the client lacks the room's state) or only a profile
 * change of a join it knows, whether a room now left was joined within the range, and who
 * arrived in a joined room (their presence comes with the sync, as Synapse sends it).
 *
 * The user's earlier member events are found through the state before each (its state group),
 * so these checks read a few events and cached state maps, and only for rooms whose membership
 * record moved after `since`.
 *
 * @module
 */

import { stateTupleKey } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { StateItemRef } from "./lazy_members.ts";
import { stateBeforeEvent } from "./room_reader.ts";

const MEMBER_TYPE = "m.room.member";
/** Most of a user's own member events {@link joinedThroughout} walks back over. */
const MAX_MEMBER_WALK = 20;
/** Memberships by which a user arrives in a room. */
const ARRIVING = new Set(["join", "invite", "knock"]);

/**
 * Whether the user whose join event is `eventId` was joined from position `since` through it:
 * true when it only changed their profile (display name, avatar) of a join at or before
 * `since`; false when they joined, or left and joined again, after `since` (or when it cannot
 * tell within a few steps, which sends the room's whole state: the safe side).
 */
export async function joinedThroughout(
  hs: Homeserver,
  eventId: string,
  since: number,
): Promise<boolean> {
  let id = eventId;
  for (let step = 0; step < MAX_MEMBER_WALK; step++) {
    const stored = await hs.rooms.event(id);
    if (!stored || stored.event.content.membership !== "join") return false;
    const { pos } = stored.meta;
    if (pos === null) return false;
    if (pos <= since) return true;
    const before = await stateBeforeEvent(hs, stored);
    const previous = before?.state.get(stateTupleKey(MEMBER_TYPE, stored.event.stateKey!));
    if (previous === undefined) return false;
    id = previous;
  }
  return false;
}

/**
 * Whether the user joined, within `(since, ...)`, a room their member event `leaveId` (after
 * `since`) has now left: a join and a leave in one batch. The client never had the room's
 * state then, so all of it is sent.
 */
export async function joinedWithin(
  hs: Homeserver,
  leaveId: string,
  where: { userId: string; since: number },
): Promise<boolean> {
  const leave = await hs.rooms.event(leaveId);
  if (!leave) return false;
  const before = await stateBeforeEvent(hs, leave);
  const previous = before?.state.get(stateTupleKey(MEMBER_TYPE, where.userId));
  if (previous === undefined) return false;
  const stored = await hs.rooms.event(previous);
  if (stored?.event.content.membership !== "join") return false;
  return !(await joinedThroughout(hs, previous, where.since));
}

/** Adds to `users` whoever a section shows arriving (joining, invited, knocking). */
export function noteArrivals(
  users: Set<string>,
  section: { state: readonly StateItemRef[]; timeline: readonly StoredEvent[] },
): void {
  for (const ref of section.state) {
    if (ref.member !== null && ARRIVING.has(ref.membership ?? "")) users.add(ref.member);
  }
  for (const { event } of section.timeline) {
    const membership = event.content.membership;
    if (
      event.type === MEMBER_TYPE && event.stateKey !== undefined &&
      typeof membership === "string" && ARRIVING.has(membership)
    ) {
      users.add(event.stateKey);
    }
  }
}
