/**
 * History visibility (spec: Client-Server API, "Room History Visibility", server behaviour):
 * which events a user may see. `/event`, `/messages`, `/context`, `/sync`, `/relations` and
 * `/search` all filter through {@link filterVisibleEvents}.
 *
 * The rules read the room state *at* the event (its state group); for state events both the
 * state before and after count, which covers the spec's rule for `m.room.history_visibility`
 * events and lets a user see their own join and leave.
 *
 * Erasure (spec: `erase` in "Account deactivation"): an event of an erased account is served
 * redacted to a user who sees it only through the history visibility, not as a member joined
 * when it was sent (Synapse's rule), so people who join later never read it.
 *
 * @module
 */

import { redactContent } from "../../federation/redaction.ts";
import type { JsonObject } from "../../federation/types.ts";
import { stateTupleKey } from "../../federation/types.ts";
import { getUser } from "../store/accounts.ts";
import type { RoomStore, StoredEvent } from "./room_store.ts";
import type { MembershipRecord } from "./schema.ts";

interface StateFacts {
  visibility: string;
  membership: string;
}

const KNOWN_VISIBILITIES = new Set(["world_readable", "shared", "invited", "joined"]);

/**
 * The events of `events` that `userId` may see, in the same order. Rejected and outlier
 * events are never visible.
 *
 * @param options.membership the user's current membership record in the events' room (pass it
 *   when known to save a read; all events must then be from that room)
 */
export async function filterVisibleEvents(
  rooms: RoomStore,
  userId: string,
  events: readonly StoredEvent[],
  options: { membership?: MembershipRecord | null } = {},
): Promise<StoredEvent[]> {
  const facts = new Map<number, StateFacts>();
  const memberships = new Map<string, MembershipRecord | null>();
  if (options.membership !== undefined && events.length > 0) {
    memberships.set(events[0].event.roomId, options.membership);
  }
  const factsAt = async (group: number): Promise<StateFacts> => {
    let found = facts.get(group);
    if (found) return found;
    const state = await rooms.states.stateOf(group);
    const hvId = state.get(stateTupleKey("m.room.history_visibility", ""));
    const memberId = state.get(stateTupleKey("m.room.member", userId));
    const loaded = await rooms.events([hvId, memberId].filter((id) => id !== undefined));
    const hv = hvId ? loaded.get(hvId)?.event.content.history_visibility : undefined;
    const membership = memberId ? loaded.get(memberId)?.event.content.membership : undefined;
    found = {
      visibility: typeof hv === "string" && KNOWN_VISIBILITIES.has(hv) ? hv : "shared",
      membership: typeof membership === "string" ? membership : "leave",
    };
    facts.set(group, found);
    return found;
  };

  const erased = new Map<string, Promise<boolean>>();
  const isErased = (userId: string) => {
    let found = erased.get(userId);
    if (!found) {
      found = getUser(rooms.kv, userId).then((user) => user?.erased === true);
      erased.set(userId, found);
    }
    return found;
  };

  const visible: StoredEvent[] = [];
  for (const stored of await dropExpired(rooms, events)) {
    const { meta } = stored;
    if (meta.rejected !== null || meta.outlier || meta.stateGroup === null) continue;
    let current = memberships.get(meta.roomId);
    if (current === undefined) {
      current = await rooms.membership(meta.roomId, userId);
      memberships.set(meta.roomId, current);
    }
    const groups = new Set([meta.stateGroup]);
    if (stored.event.stateKey !== undefined && meta.stateGroupBefore !== null) {
      groups.add(meta.stateGroupBefore);
    }
    let seen = false, asMember = false;
    for (const group of groups) {
      const facts = await factsAt(group);
      if (allowed(facts, meta.pos ?? 0, current)) seen = true;
      if (facts.membership === "join") asMember = true;
    }
    if (!seen) continue;
    visible.push(!asMember && await isErased(stored.event.sender) ? erasedCopy(stored) : stored);
  }
  return visible;
}

/**
 * The events of `events` not past their room's max_lifetime (all of them unless `[retention]`
 * is enabled). State events never expire.
 */
export async function dropExpired(
  rooms: RoomStore,
  events: readonly StoredEvent[],
  now = Date.now(),
): Promise<StoredEvent[]> {
  const config = rooms.retention;
  if (!config?.enabled || events.every((e) => e.event.stateKey !== undefined)) return [...events];
  const cutoffs = new Map<string, number | null>();
  const out: StoredEvent[] = [];
  for (const stored of events) {
    const { roomId, stateKey, originServerTs } = stored.event;
    if (stateKey !== undefined) {
      out.push(stored);
      continue;
    }
    if (!cutoffs.has(roomId)) {
      const policy = await rooms.currentStateEvent(roomId, "m.room.retention", "");
      const own = policy?.event.content.max_lifetime;
      const max = typeof own === "number" && Number.isSafeInteger(own) && own >= 0
        ? own
        : config.defaultMaxLifetimeMs;
      cutoffs.set(roomId, max === null ? null : now - max);
    }
    const cutoff = cutoffs.get(roomId)!;
    if (cutoff === null || originServerTs >= cutoff) out.push(stored);
  }
  return out;
}

/** An erased account's event as a later member is served it: redacted (not cached). */
function erasedCopy(stored: StoredEvent): StoredEvent {
  const content = redactContent(
    stored.event.type,
    stored.event.content as JsonObject,
    stored.rules,
  );
  return { ...stored, event: { ...stored.event, content } };
}

/**
 * The event as `userId` may see it (redacted for an erased sender where the erasure rule says
 * so), or null when they may not see it.
 */
export async function visibleEvent(
  rooms: RoomStore,
  userId: string,
  stored: StoredEvent,
): Promise<StoredEvent | null> {
  return (await filterVisibleEvents(rooms, userId, [stored]))[0] ?? null;
}

/** Whether `userId` may see one event. */
export async function canSeeEvent(
  rooms: RoomStore,
  userId: string,
  stored: StoredEvent,
): Promise<boolean> {
  return (await filterVisibleEvents(rooms, userId, [stored])).length === 1;
}

/** The spec's five rules, given the state at the event and the user's membership history. */
function allowed(at: StateFacts, eventPos: number, current: MembershipRecord | null): boolean {
  if (at.visibility === "world_readable") return true;
  if (at.membership === "join") return true;
  if (
    at.visibility === "shared" && current?.lastJoinPos != null && current.lastJoinPos >= eventPos
  ) {
    return true;
  }
  return at.visibility === "invited" && at.membership === "invite";
}
