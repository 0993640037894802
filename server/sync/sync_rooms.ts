/**
 * The `rooms` part of a `/sync` response: one section per room the user is joined to, invited
 * to, knocking on or has left, computed from the {@link RoomSource} between two positions.
 *
 * State vs timeline (spec: "Syncing"): `timeline` holds the newest events of the range (at most
 * the filter's limit, `limited` when more exist, `prev_batch` just before the first); `state`
 * is the state at the start of the timeline: everything for an initial sync, a newly joined
 * room or `full_state`; otherwise the state that changed between `since` and the start of the
 * timeline (empty when the timeline is not limited, as its state events cover the range).
 *
 * @module
 */

import type { PushRuleset } from "../push/default_rules.ts";
import type { PushEvent } from "../push/evaluator.ts";
import type { AccountDataEntry } from "../store/account_data.ts";
import type { ReceiptEntry } from "../store/receipts.ts";
import { receiptEvent } from "../store/receipts.ts";
import {
  projectEventFields,
  roomAllowed,
  roomEventAllowed,
  type RoomEventFilter,
  type SyncFilter,
} from "./filter.ts";
import type { ClientEvent, MembershipEntry, RoomSource, SyncEvent } from "./room_source.ts";
import { positionToken } from "./token.ts";
import { countUnread, type ReadMarks, type UnreadCounts } from "./unread.ts";

/** Default timeline length when the filter sets none. */
export const DEFAULT_TIMELINE_LIMIT = 20;
/** Largest timeline a sync returns per room. */
export const MAX_TIMELINE_LIMIT = 500;
/** Most events after the read marks that unread counts look at (counts stop growing there). */
export const MAX_UNREAD_SCAN = 500;
/** Most heroes in a room summary. */
const MAX_HEROES = 5;

/** Everything the room sections need besides the room itself. */
export interface RoomSyncContext {
  userId: string;
  /** The syncing device (its own events carry their transaction IDs). */
  deviceId?: string;
  source: RoomSource;
  filter: SyncFilter;
  /** Position of `since`, or null for an initial sync. */
  since: number | null;
  upto: number;
  fullState: boolean;
  /** Typing: users typing per room now, and whether a room's typing changed since the token. */
  typing: { typingIn(roomId: string): string[]; changedSince(roomId: string): boolean };
  /** Receipts to deliver per room (incremental); for an initial sync the room's receipts. */
  receipts: (roomId: string) => Promise<ReceiptEntry[]>;
  /** The user's own receipts in a room (for unread counts). */
  ownReceipts: (roomId: string) => Promise<ReceiptEntry[]>;
  /** Room account data to deliver, by room. */
  roomAccountData: Map<string, AccountDataEntry[]>;
  ruleset: PushRuleset;
  /** Power level of a user in a state (the rooms code knows the version-specific rules). */
  powerLevelOf: (state: Map<string, ClientEvent>, userId: string) => number;
}

type Json = Record<string, unknown>;

function formatEvent(ctx: RoomSyncContext, event: ClientEvent): Json {
  const { room_id: _roomId, ...rest } = event;
  return projectEventFields(rest, ctx.filter.eventFields);
}

function timelineLimit(filter: RoomEventFilter): number {
  return Math.min(filter.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
}

function stateEventKey(event: ClientEvent): string {
  return `${event.type}\u0000${event.state_key ?? ""}`;
}

/** Picks the state to send from the state at the start of the timeline. */
function selectState(
  ctx: RoomSyncContext,
  options: {
    roomId: string;
    startState: Map<string, ClientEvent>;
    sinceState: Map<string, ClientEvent> | null;
    timeline: SyncEvent[];
    full: boolean;
  },
): ClientEvent[] {
  const filter = ctx.filter.room.state;
  const lazy = filter.lazyLoadMembers;
  const senders = new Set(options.timeline.map((entry) => entry.event.sender));
  for (const entry of options.timeline) {
    // Members named by state events in the timeline are shown with them.
    if (entry.event.type === "m.room.member" && entry.event.state_key) {
      senders.add(entry.event.state_key);
    }
  }
  const out: ClientEvent[] = [];
  for (const [key, event] of options.startState) {
    if (!roomEventAllowed(filter, { ...event, room_id: options.roomId })) continue;
    const changed = options.sinceState === null ||
      options.sinceState.get(key)?.event_id !== event.event_id;
    if (!options.full && !changed) continue;
    if (lazy && event.type === "m.room.member") {
      const member = event.state_key ?? "";
      // Members changed in the gap are always sent; otherwise only the timeline's senders
      // (and, with full state, the user's own membership).
      const wanted = senders.has(member) || (options.full && member === ctx.userId) ||
        (!options.full && changed);
      if (!wanted) continue;
    }
    out.push(event);
  }
  if (lazy && !options.full) {
    // Senders whose membership did not change in the gap may still be unknown to the client.
    for (const sender of senders) {
      const event = options.startState.get(`m.room.member\u0000${sender}`);
      if (event && !out.includes(event)) out.push(event);
    }
  }
  return out;
}

function summaryOf(state: Map<string, ClientEvent>, userId: string): Json {
  let joined = 0;
  let invited = 0;
  const heroes: string[] = [];
  const others: string[] = [];
  for (const event of state.values()) {
    if (event.type !== "m.room.member") continue;
    const membership = event.content.membership;
    if (membership === "join") joined++;
    else if (membership === "invite") invited++;
    const member = event.state_key ?? "";
    if (member === userId) continue;
    if (membership === "join" || membership === "invite") heroes.push(member);
    else if (membership === "leave" || membership === "ban") others.push(member);
  }
  heroes.sort();
  others.sort();
  const list = heroes.length > 0 ? heroes : others;
  return {
    "m.heroes": list.slice(0, MAX_HEROES),
    "m.joined_member_count": joined,
    "m.invited_member_count": invited,
  };
}

async function unreadCounts(
  ctx: RoomSyncContext,
  options: { roomId: string; joinPos: number; state: Map<string, ClientEvent> },
): Promise<{ room: UnreadCounts; threads: Map<string, UnreadCounts>; main: UnreadCounts }> {
  const receipts = await ctx.ownReceipts(options.roomId);
  const threads = new Map<string, number>();
  let unthreaded = options.joinPos;
  for (const receipt of receipts) {
    if (receipt.threadKey === "") unthreaded = Math.max(unthreaded, receipt.eventOrder);
    else {threads.set(
        receipt.threadKey,
        Math.max(threads.get(receipt.threadKey) ?? 0, receipt.eventOrder),
      );}
  }
  const marks: ReadMarks = { unthreaded, threads };
  const lowest = Math.min(unthreaded, ...threads.values());
  const page = await ctx.source.events(options.roomId, {
    userId: ctx.userId,
    after: lowest,
    upto: ctx.upto,
    limit: MAX_UNREAD_SCAN,
    newest: true,
    accept: (event) => event.sender !== ctx.userId,
  });
  let memberCount = 0;
  for (const event of options.state.values()) {
    if (event.type === "m.room.member" && event.content.membership === "join") memberCount++;
  }
  const power = options.state.get("m.room.power_levels\u0000")?.content;
  const notifications = typeof power?.notifications === "object" && power.notifications !== null
    ? power.notifications as Record<string, number>
    : undefined;
  const displayName = options.state.get(`m.room.member\u0000${ctx.userId}`)?.content.displayname;
  return countUnread(
    page.events.map((entry) => ({ pos: entry.pos, event: entry.event as unknown as PushEvent })),
    {
      userId: ctx.userId,
      ruleset: ctx.ruleset,
      marks,
      context: (event) => ({
        userId: ctx.userId,
        displayName: typeof displayName === "string" ? displayName : null,
        memberCount,
        senderPowerLevel: ctx.powerLevelOf(options.state, event.sender),
        notificationPowerLevels: notifications,
      }),
    },
  );
}

/** The sections of one room with a timeline (joined or left). */
async function timelineSections(
  ctx: RoomSyncContext,
  options: { roomId: string; upto: number; newlyJoined: boolean },
): Promise<{ json: Json; hasNews: boolean; state: Map<string, ClientEvent> }> {
  const { roomId } = options;
  const filter = ctx.filter.room.timeline;
  const full = ctx.since === null || options.newlyJoined || ctx.fullState;
  const after = ctx.since === null || options.newlyJoined ? 0 : ctx.since;
  const page = await ctx.source.events(roomId, {
    userId: ctx.userId,
    deviceId: ctx.deviceId,
    after,
    upto: options.upto,
    limit: timelineLimit(filter),
    newest: true,
    accept: (event) => roomEventAllowed(filter, { ...event, room_id: roomId }),
  });
  const firstPos = page.events.length > 0 ? page.events[0].pos : options.upto + 1;
  const startState = await ctx.source.stateAt(roomId, firstPos - 1);
  const sinceState = full || !page.limited || ctx.since === null
    ? null
    : await ctx.source.stateAt(roomId, ctx.since);
  // Not limited: the timeline's own state events cover the range, so only lazily loaded
  // members are added (sinceState = startState marks nothing as changed).
  const state = selectState(ctx, {
    roomId,
    startState,
    sinceState: full ? null : sinceState ?? startState,
    timeline: page.events,
    full,
  });
  const json: Json = {
    timeline: {
      events: page.events.map((entry) => formatEvent(ctx, entry.event)),
      limited: page.limited,
      prev_batch: positionToken(firstPos - 1),
    },
    state: { events: state.map((event) => formatEvent(ctx, event)) },
  };
  const endState = new Map(startState);
  for (const entry of page.events) {
    if (entry.event.state_key !== undefined) endState.set(stateEventKey(entry.event), entry.event);
  }
  return { json, hasNews: page.events.length > 0 || state.length > 0, state: endState };
}

function accountDataSection(ctx: RoomSyncContext, roomId: string): Json[] {
  const filter = ctx.filter.room.accountData;
  return (ctx.roomAccountData.get(roomId) ?? [])
    .filter((entry) => roomEventAllowed(filter, { type: entry.type, room_id: roomId }))
    .map((entry) => ({ type: entry.type, content: entry.content }));
}

/** The `rooms.join` entry of one room, or null when nothing changed for it. */
export async function joinedRoom(ctx: RoomSyncContext, m: MembershipEntry): Promise<Json | null> {
  const newlyJoined = ctx.since !== null && m.pos > ctx.since;
  const { json, hasNews, state } = await timelineSections(ctx, {
    roomId: m.roomId,
    upto: ctx.upto,
    newlyJoined,
  });
  const ephemeral: Json[] = [];
  const ephemeralFilter = ctx.filter.room.ephemeral;
  const typingUsers = ctx.typing.typingIn(m.roomId);
  const typingChanged = ctx.since === null
    ? typingUsers.length > 0
    : ctx.typing.changedSince(m.roomId);
  if (typingChanged && roomEventAllowed(ephemeralFilter, { type: "m.typing", room_id: m.roomId })) {
    ephemeral.push({ type: "m.typing", content: { user_ids: typingUsers } });
  }
  if (roomEventAllowed(ephemeralFilter, { type: "m.receipt", room_id: m.roomId })) {
    const receipts = receiptEvent(await ctx.receipts(m.roomId), ctx.userId);
    if (receipts) ephemeral.push(receipts);
  }
  const accountData = accountDataSection(ctx, m.roomId);
  if (ctx.since !== null && !hasNews && ephemeral.length === 0 && accountData.length === 0) {
    return null;
  }
  const counts = await unreadCounts(ctx, { roomId: m.roomId, joinPos: m.pos, state });
  const threaded = ctx.filter.room.timeline.unreadThreadNotifications;
  json.ephemeral = { events: ephemeral };
  json.account_data = { events: accountData };
  json.unread_notifications = threaded ? counts.main : counts.room;
  if (threaded) {
    json.unread_thread_notifications = Object.fromEntries(counts.threads);
  }
  json.summary = summaryOf(state, ctx.userId);
  return json;
}

/** The `rooms.leave` entry of a room the user left or was banned from (or null). */
export async function leftRoom(ctx: RoomSyncContext, m: MembershipEntry): Promise<Json | null> {
  const { json } = await timelineSections(ctx, {
    roomId: m.roomId,
    upto: Math.min(m.pos, ctx.upto),
    newlyJoined: false,
  });
  json.account_data = { events: accountDataSection(ctx, m.roomId) };
  return json;
}

/** The `rooms.invite` or `rooms.knock` entry of a room. */
export async function strippedRoom(
  ctx: RoomSyncContext,
  m: MembershipEntry,
): Promise<Json> {
  const events = await ctx.source.strippedState(m.roomId, m.eventId);
  const key = m.membership === "invite" ? "invite_state" : "knock_state";
  return { [key]: { events } };
}

/** Whether the room passes the filter's room lists. */
export function roomWanted(ctx: RoomSyncContext, roomId: string): boolean {
  return roomAllowed(ctx.filter.room, roomId);
}
