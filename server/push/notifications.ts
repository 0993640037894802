/**
 * What push rules make of room events for one user: the evaluation of one event (for the
 * push worker), the unread badge a gateway gets (the sum of the notification counts `/sync`
 * shows, from the same cached counter), and the list `GET /notifications` answers, evaluated
 * from the rooms' timelines when asked rather than stored for every member of every room, so
 * that sending an event costs nothing for users without pushers.
 *
 * @module
 */

import { stateTupleKey } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { StateMap } from "../../federation/types.ts";
import { ownReceipts, type ReceiptEntry } from "../store/receipts.ts";
import { powerLevelIn, type RoomFacts, roomFacts } from "../sync/room_facts.ts";
import { ignoredUsers } from "../sync/ignored_users.ts";
import { threadOf } from "../sync/unread.ts";
import { pushViewOf, unreadCounts } from "../sync/unread_counts.ts";
import type { PushRuleset } from "./default_rules.ts";
import { evaluatePushRules, type PushOutcome } from "./evaluator.ts";
import { cachedPushRules } from "./rules_store.ts";

/** Joined rooms looked at, at most, for a badge or a page of notifications. */
export const MAX_ROOMS = 500;
/** Timeline entries per room read, at most, for one page of notifications. */
export const SCAN_PER_ROOM = 200;
/** Largest page of `GET /notifications`. */
export const MAX_NOTIFICATIONS_LIMIT = 100;

/** A room's state with what push conditions need of it. */
export interface PushRoomState {
  state: StateMap;
  facts: RoomFacts;
}

/** The state of the room at (after) a timeline event, with its facts. */
export async function stateAtEvent(
  hs: Homeserver,
  stored: StoredEvent,
): Promise<PushRoomState | null> {
  const group = stored.meta.roomStateAfter ?? stored.meta.stateGroup;
  if (group === null) return null;
  const state = await hs.rooms.states.stateOf(group);
  const facts = await roomFacts(hs, { roomId: stored.event.roomId, group, state });
  return { state, facts };
}

/** The room's current state, with its facts. */
async function currentRoomState(hs: Homeserver, roomId: string): Promise<PushRoomState | null> {
  const head = await hs.rooms.head(roomId);
  if (!head) return null;
  const state = await hs.rooms.states.stateOf(head.stateGroup);
  const facts = await roomFacts(hs, { roomId, group: head.stateGroup, state });
  return { state, facts };
}

/** A user's membership and display name in a state. */
export async function memberIn(
  hs: Homeserver,
  state: StateMap,
  userId: string,
): Promise<{ membership: string | null; displayName: string | null }> {
  const id = state.get(stateTupleKey("m.room.member", userId));
  const member = id === undefined ? null : await hs.rooms.event(id);
  const content = member?.event.content;
  return {
    membership: typeof content?.membership === "string" ? content.membership : null,
    displayName: typeof content?.displayname === "string" ? content.displayname : null,
  };
}

/** The push rules' verdict on an event for a user, given the room's state. */
export function evaluateFor(
  stored: StoredEvent,
  user: { userId: string; displayName: string | null; ruleset: PushRuleset },
  room: PushRoomState,
): PushOutcome {
  const event = pushViewOf(stored);
  return evaluatePushRules(user.ruleset, event, {
    userId: user.userId,
    displayName: user.displayName,
    memberCount: room.facts.joined,
    senderPowerLevel: powerLevelIn(room.facts, event.sender),
    notificationPowerLevels: room.facts.notificationLevels,
  });
}

/** The highest read mark of a user in a room for an event's thread. */
function readUpTo(receipts: readonly ReceiptEntry[], thread: string | null): number {
  let mark = 0;
  for (const receipt of receipts) {
    if (receipt.threadKey === "" || receipt.threadKey === (thread ?? "main")) {
      mark = Math.max(mark, receipt.eventOrder);
    }
  }
  return mark;
}

/**
 * The user's unread badge: the notification counts of their joined rooms added up, as
 * `/sync` reports them (spec: `counts.unread`, "unread messages across all rooms").
 */
export async function unreadBadge(hs: Homeserver, userId: string): Promise<number> {
  const memberships = (await hs.rooms.roomsOfUser(userId))
    .filter((m) => m.membership === "join").slice(0, MAX_ROOMS);
  const ruleset = await cachedPushRules(hs, userId);
  const ignored = await ignoredUsers(hs, userId);
  const upto = hs.stream.visiblePosition;
  let total = 0;
  for (const m of memberships) {
    const room = await currentRoomState(hs, m.roomId);
    if (!room) continue;
    const counts = await unreadCounts(hs, {
      userId,
      roomId: m.roomId,
      joinPos: m.pos,
      upto,
      since: null,
      ownReceiptChanged: true,
      loadReceipts: () => ownReceipts(hs, m.roomId, userId),
      ruleset,
      ignored,
      facts: room.facts,
      displayName: async () => (await memberIn(hs, room.state, userId)).displayName,
    });
    total += counts.room.notification_count;
  }
  return total;
}

/** One entry of `GET /notifications`, before the event is formatted. */
export interface NotificationItem {
  pos: number;
  stored: StoredEvent;
  actions: PushOutcome["actions"];
  highlight: boolean;
  read: boolean;
}

/**
 * The newest notifications of a user below stream position `before` (exclusive), newest
 * first, in the rooms the user is joined to: events of others that the user's push rules make
 * notify. `more` tells whether an older page may exist.
 */
export async function listNotifications(
  hs: Homeserver,
  userId: string,
  options: { before: number; limit: number; onlyHighlight: boolean },
): Promise<{ items: NotificationItem[]; more: boolean }> {
  const memberships = (await hs.rooms.roomsOfUser(userId))
    .filter((m) => m.membership === "join").slice(0, MAX_ROOMS);
  const ruleset = await cachedPushRules(hs, userId);
  const ignored = await ignoredUsers(hs, userId);
  const found: NotificationItem[] = [];
  let more = false;
  for (const m of memberships) {
    const entries = await hs.rooms.timeline(m.roomId, {
      dir: "b",
      from: options.before,
      to: m.lastJoinPos ?? m.pos,
      limit: SCAN_PER_ROOM,
    });
    if (entries.length === SCAN_PER_ROOM) more = true;
    const others = entries.filter((e) =>
      e.sender !== userId && e.pos > 0 && !ignored.has(e.sender)
    );
    if (others.length === 0) continue;
    const room = await currentRoomState(hs, m.roomId);
    if (!room) continue;
    const { displayName } = await memberIn(hs, room.state, userId);
    const loaded = await hs.rooms.events(others.map((e) => e.eventId));
    let receipts: ReceiptEntry[] | null = null;
    let inRoom = 0;
    for (const entry of others) {
      const stored = loaded.get(entry.eventId);
      if (!stored || stored.meta.rejected !== null || stored.meta.outlier) continue;
      const outcome = evaluateFor(stored, { userId, displayName, ruleset }, room);
      if (!outcome.notify || (options.onlyHighlight && !outcome.highlight)) continue;
      receipts ??= await ownReceipts(hs, m.roomId, userId);
      const read = entry.pos <= readUpTo(receipts, threadOf(stored.event));
      found.push({
        pos: entry.pos,
        stored,
        actions: outcome.actions,
        highlight: outcome.highlight,
        read,
      });
      if (++inRoom >= options.limit) {
        more = true;
        break;
      }
    }
  }
  found.sort((a, b) => b.pos - a.pos);
  if (found.length > options.limit) more = true;
  return { items: found.slice(0, options.limit), more };
}
