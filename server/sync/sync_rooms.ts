/**
 * The `rooms` part of a `/sync` response: one section per room the user is joined to, invited
 * to, knocking on or has left, computed between two positions.
 *
 * State vs timeline (spec: "Syncing"): `timeline` holds the newest events of the range (at most
 * the filter's limit, `limited` when more exist, `prev_batch` just before the first); `state`
 * is the state at the start of the timeline: everything for an initial sync, a newly joined
 * room or `full_state`; otherwise the state that changed between `since` and the start of the
 * timeline (empty when the timeline is not limited, as its state events cover the range).
 * With `use_state_after` (spec v1.16) the section is `state_after` and leads to the end of the
 * timeline instead: the whole state there, or every change between `since` and there, those
 * the timeline shows included, since the client then takes no state from the timeline.
 * "Newly joined" means a real join after `since` (or a leave and a new join), not a member
 * event that only changed the user's profile; a room joined and left within the range is sent
 * with its whole state as well. A newly joined room's timeline is `limited` unless it reaches
 * the room's creation. The timeline shows the room's current state events even where history
 * visibility hides them, and leaves out non-state events of users the user ignores.
 *
 * The work is done on state maps (event IDs by type and state key) and stored events: the
 * state to send is chosen by key first, so with lazy-loaded members only the timeline's
 * senders' member events are loaded and formatted. The start state is the state before the
 * first timeline event (its state group); the summary and the unread counts use the state at
 * the end of the range, which is the room's current state unless events arrived after it.
 *
 * @module
 */

import { MIN_TIMELINE_POSITION } from "../rooms/room_store.ts";
import { backwardExtremities } from "../federation/backfill.ts";
import { type StateMap, stateTupleKey } from "../../federation/types.ts";
import { clientEvents } from "../client/client_event.ts";
import type { Homeserver } from "../homeserver.ts";
import type { PushRuleset } from "../push/default_rules.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { RoomHead } from "../rooms/schema.ts";
import type { AccountDataEntry } from "../store/account_data.ts";
import type { ReceiptEntry } from "../store/receipts.ts";
import { receiptEvent } from "../store/receipts.ts";
import { roomAllowed, roomEventAllowed, type RoomEventFilter, type SyncFilter } from "./filter.ts";
import { roomFacts, roomSummary } from "./room_facts.ts";
import { formatForFilter } from "./event_format.ts";
import { hiddenByIgnore } from "./ignored_users.ts";
import { type LazyMemberTracker, withoutKnownMembers } from "./lazy_members.ts";
import { filterView, selectState, stateRef, timelineMembers } from "./state_section.ts";
import { joinedThroughout, joinedWithin, noteArrivals } from "./membership_changes.ts";
import { stateAfterEnds, stateBeforeEnds } from "./state_ends.ts";
import { stateAtPosition, storedPage, type TimelineItem } from "./room_reader.ts";
import type { ClientEvent, MembershipEntry, RoomSource } from "./room_source.ts";
import { formatEvents } from "./rooms_adapter.ts";
import { hasThread, personalFor, type SharedSections, sharedSections } from "./shared_sections.ts";
import { positionToken } from "./token.ts";
import { unreadCounts } from "./unread_counts.ts";

export { MAX_UNREAD_SCAN } from "./unread_counts.ts";

/** Default timeline length when the filter sets none. */
export const DEFAULT_TIMELINE_LIMIT = 20;
/** Largest timeline a sync returns per room. */
export const MAX_TIMELINE_LIMIT = 500;

const MEMBER_TYPE = "m.room.member";

/** Everything the room sections need besides the room itself. */
export interface RoomSyncContext {
  hs: Homeserver;
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
  /** Whether a receipt of the user in the room is among this sync's receipt changes. */
  ownReceiptChanged: (roomId: string) => boolean;
  /** Room account data to deliver, by room. */
  roomAccountData: Map<string, AccountDataEntry[]>;
  ruleset: PushRuleset;
  /** Heads of the rooms this sync looks at (read once, in batches). */
  heads: ReadonlyMap<string, RoomHead | null>;
  /** Users the syncing user ignores (`m.ignored_user_list`): their non-state events are left out. */
  ignored: ReadonlySet<string>;
  /** With lazy-loaded members (not redundant ones): what the device already has. */
  lazy: LazyMemberTracker | null;
  /**
   * With `use_state_after` (spec v1.16, MSC4222): the key of the state section (`state_after`,
   * or the MSC4222 name matrix-js-sdk asks for), which then leads to the end of the timeline
   * instead of its start. Undefined: `state`.
   */
  stateAfter?: string;
  /**
   * Filled by incremental syncs for presence: users who joined or were invited to a joined room
   * in the range (from its timeline and state), and the rooms the user newly joined.
   */
  newcomers?: { users: Set<string>; rooms: string[] };
}

type Json = Record<string, unknown>;

function formatEvent(ctx: RoomSyncContext, event: ClientEvent, stored: StoredEvent): Json {
  return formatForFilter(ctx.filter, event, stored);
}

function timelineLimit(filter: RoomEventFilter): number {
  return Math.min(filter.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
}

/** The timeline and state sections of one room, before they become JSON for one user. */
interface ComputedSections {
  page: { events: TimelineItem[]; limited: boolean; byMembership: boolean };
  firstPos: number;
  timeline: ClientEvent[];
  state: ClientEvent[];
  /** The stored events of `state`, in the same order. */
  stateStored: StoredEvent[];
}

/**
 * Reads and formats the timeline and state sections of one room for `viewer` (an empty
 * user ID formats without a viewer, for {@link sharedSections}).
 */
async function computeSections(
  ctx: RoomSyncContext,
  options: { m: MembershipEntry; upto: number; newlyJoined: boolean },
  viewer: { userId: string; deviceId?: string },
): Promise<ComputedSections> {
  const { hs } = ctx;
  const roomId = options.m.roomId;
  const head = ctx.heads.get(roomId);
  const filter = ctx.filter.room.timeline;
  const full = ctx.since === null || options.newlyJoined || ctx.fullState;
  let endIds: Promise<ReadonlySet<string>> | null = null;
  const page = await storedPage(hs, roomId, {
    userId: ctx.userId,
    // From the very bottom: a room joined over federation has backfilled events below 0.
    after: ctx.since === null || options.newlyJoined ? MIN_TIMELINE_POSITION - 1 : ctx.since,
    upto: options.upto,
    limit: timelineLimit(filter),
    newest: true,
    membership: options.m.record,
    accept: (stored) =>
      roomEventAllowed(filter, filterView(stored)) && !hiddenByIgnore(ctx.ignored, stored.event),
    // The room's state events at the end of the range are shown even where history
    // visibility hides them (who joined while the user was away), as Synapse does.
    keep: () =>
      endIds ??= stateAtPosition(hs, roomId, { pos: options.upto, head })
        .then((end) => new Set(end.state.values())),
  });
  if (
    !page.limited && (ctx.since === null || options.newlyJoined) &&
    hs.config.federation.enabled && (await backwardExtremities(hs, roomId)).length > 0
  ) {
    // A room joined over federation whose older history is still on other servers: the
    // client is told there is more, and its /messages backfills it.
    page.limited = true;
  }
  if (
    ctx.since !== null && options.newlyJoined && !page.limited && page.events.length > 0 &&
    page.events[0].stored.event.prevEvents.length > 0
  ) {
    // A room new to the client in an incremental sync: its timeline does not reach the room's
    // creation, so there is history before it the client has never seen (Synapse and the
    // conformance suites expect `limited` here).
    page.limited = true;
  }
  const firstPos = page.events.length > 0 ? page.events[0].pos : options.upto + 1;
  const sincePos = full ? null : ctx.since;
  const { target, since: sinceState } = ctx.stateAfter !== undefined
    ? await stateAfterEnds(hs, { roomId, head, since: sincePos, upto: options.upto })
    : await stateBeforeEnds(hs, { roomId, head, since: sincePos, page, firstPos });
  const chosen = selectState(ctx.filter.room.state, ctx.userId, {
    target,
    since: sinceState,
    timeline: page.events,
    full,
  });
  const loaded = await hs.rooms.events([...chosen.filtered, ...chosen.extra]);
  const stateStored: StoredEvent[] = [];
  const stateFilter = ctx.filter.room.state;
  for (const id of chosen.filtered) {
    const stored = loaded.get(id);
    if (stored && roomEventAllowed(stateFilter, filterView(stored))) stateStored.push(stored);
  }
  for (const id of chosen.extra) {
    const stored = loaded.get(id);
    if (stored) stateStored.push(stored);
  }
  const [timeline, state] = await Promise.all([
    formatEvents(hs, page.events.map((item) => item.stored), viewer),
    clientEvents(hs.rooms, stateStored) as unknown as Promise<ClientEvent[]>,
  ]);
  return { page, firstPos, timeline, state, stateStored };
}

/**
 * The sections of an incremental sync of a room the user joined at or before `since`, shared
 * with every other such member ({@link sharedSections}); null when they may not be shared.
 */
async function sharedTimelineSections(
  ctx: RoomSyncContext,
  options: { m: MembershipEntry; upto: number; newlyJoined: boolean },
): Promise<{ json: Json; hasNews: boolean } | null> {
  const roomId = options.m.roomId;
  const shared = await sharedSections(
    ctx.hs,
    {
      roomId,
      since: ctx.since!,
      upto: options.upto,
      filter: ctx.filter,
      stateAfter: ctx.stateAfter !== undefined,
    },
    async (): Promise<SharedSections | null> => {
      const computed = await computeSections(ctx, options, { userId: "" });
      if (!computed.page.byMembership) return null;
      return {
        timeline: computed.page.events.map((item, i) => ({
          stored: item.stored,
          event: formatEvent(ctx, computed.timeline[i], item.stored),
          threaded: hasThread(computed.timeline[i]),
        })),
        limited: computed.page.limited,
        prevBatch: positionToken(computed.firstPos - 1),
        state: computed.state.map((event, i) => formatEvent(ctx, event, computed.stateStored[i])),
        stateRefs: computed.stateStored.map(stateRef),
        hasNews: computed.page.events.length > 0 || computed.state.length > 0,
      };
    },
  );
  if (!shared) return null;
  // What depends on the viewer is formatted again for this user.
  const personal = shared.timeline.filter((item) => personalFor(item, ctx.userId));
  const mine = personal.length === 0 ? [] : await formatEvents(
    ctx.hs,
    personal.map((item) => item.stored),
    { userId: ctx.userId, deviceId: ctx.deviceId },
  );
  const redone = new Map(
    personal.map((item, i) => [item, formatEvent(ctx, mine[i], item.stored)]),
  );
  const state = ctx.lazy
    ? withoutKnownMembers(ctx.lazy, roomId, {
      state: shared.state,
      refs: shared.stateRefs,
      timelineMembers: appliedTimelineMembers(ctx, shared.timeline),
    })
    : shared.state;
  const json: Json = {
    timeline: {
      events: shared.timeline.map((item) => redone.get(item) ?? item.event),
      limited: shared.limited,
      prev_batch: shared.prevBatch,
    },
    [ctx.stateAfter ?? "state"]: { events: state },
  };
  if (ctx.newcomers && options.m.membership === "join") {
    noteArrivals(ctx.newcomers.users, {
      state: shared.stateRefs,
      timeline: shared.timeline.map((item) => item.stored),
    });
  }
  return { json, hasNews: shared.hasNews };
}

/**
 * The member events of a timeline the client adds to its state: none with `state_after`,
 * where only that section counts (so the device does not have them yet).
 */
function appliedTimelineMembers(
  ctx: RoomSyncContext,
  timeline: readonly { stored: StoredEvent }[],
): [string, string][] {
  return ctx.stateAfter !== undefined ? [] : timelineMembers(timeline.map((item) => item.stored));
}

/** Whether the sections of a room may come from {@link sharedTimelineSections}. */
function shareable(
  ctx: RoomSyncContext,
  options: { m: MembershipEntry; upto: number; newlyJoined: boolean },
): boolean {
  const record = options.m.record;
  // An ignore list hides events per user, which a shared section cannot.
  return ctx.since !== null && !ctx.fullState && !options.newlyJoined && ctx.ignored.size === 0 &&
    options.m.membership === "join" && record !== undefined && record.membership === "join" &&
    record.pos <= ctx.since && options.upto === ctx.upto;
}

/** The sections of one room with a timeline (joined or left). */
async function timelineSections(
  ctx: RoomSyncContext,
  options: { m: MembershipEntry; upto: number; newlyJoined: boolean },
): Promise<{ json: Json; hasNews: boolean }> {
  if (shareable(ctx, options)) {
    const shared = await sharedTimelineSections(ctx, options);
    if (shared) return shared;
  }
  const { page, firstPos, timeline, state, stateStored } = await computeSections(ctx, options, {
    userId: ctx.userId,
    deviceId: ctx.deviceId,
  });
  const stateJson = state.map((event, i) => formatEvent(ctx, event, stateStored[i]));
  const json: Json = {
    timeline: {
      events: timeline.map((event, i) => formatEvent(ctx, event, page.events[i].stored)),
      limited: page.limited,
      prev_batch: positionToken(firstPos - 1),
    },
    [ctx.stateAfter ?? "state"]: {
      events: ctx.lazy
        ? withoutKnownMembers(ctx.lazy, options.m.roomId, {
          state: stateJson,
          refs: stateStored.map(stateRef),
          timelineMembers: appliedTimelineMembers(ctx, page.events),
        })
        : stateJson,
    },
  };
  if (ctx.newcomers && options.m.membership === "join") {
    noteArrivals(ctx.newcomers.users, {
      state: stateStored.map(stateRef),
      timeline: page.events.map((item) => item.stored),
    });
  }
  return { json, hasNews: page.events.length > 0 || state.length > 0 };
}

function accountDataSection(ctx: RoomSyncContext, roomId: string): Json[] {
  const filter = ctx.filter.room.accountData;
  return (ctx.roomAccountData.get(roomId) ?? [])
    .filter((entry) => roomEventAllowed(filter, { type: entry.type, room_id: roomId }))
    .map((entry) => ({ type: entry.type, content: entry.content }));
}

/** The user's display name in a state (from their member event). */
async function displayNameIn(ctx: RoomSyncContext, state: StateMap): Promise<string | null> {
  const id = state.get(stateTupleKey(MEMBER_TYPE, ctx.userId));
  const name = id === undefined ? undefined : (await ctx.hs.rooms.event(id))?.event.content
    .displayname;
  return typeof name === "string" ? name : null;
}

/** The `rooms.join` entry of one room, or null when nothing changed for it. */
export async function joinedRoom(ctx: RoomSyncContext, m: MembershipEntry): Promise<Json | null> {
  // A member event after `since` that only changed the user's profile is no new join: the
  // client has the room's state, and only the changes are sent.
  const newlyJoined = ctx.since !== null && m.pos > ctx.since &&
    !(await joinedThroughout(ctx.hs, m.eventId, ctx.since));
  if (newlyJoined) ctx.newcomers?.rooms.push(m.roomId);
  const { json, hasNews } = await timelineSections(ctx, { m, upto: ctx.upto, newlyJoined });
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
  const end = await stateAtPosition(ctx.hs, m.roomId, {
    pos: ctx.upto,
    head: ctx.heads.get(m.roomId),
  });
  const facts = await roomFacts(ctx.hs, { roomId: m.roomId, ...end });
  const counts = await unreadCounts(ctx.hs, {
    userId: ctx.userId,
    roomId: m.roomId,
    joinPos: m.pos,
    upto: ctx.upto,
    since: ctx.since,
    ownReceiptChanged: ctx.ownReceiptChanged(m.roomId),
    loadReceipts: () => ctx.ownReceipts(m.roomId),
    ruleset: ctx.ruleset,
    facts,
    displayName: () => displayNameIn(ctx, end.state),
    ignored: ctx.ignored,
  });
  const threaded = ctx.filter.room.timeline.unreadThreadNotifications;
  json.ephemeral = { events: ephemeral };
  json.account_data = { events: accountData };
  json.unread_notifications = threaded ? counts.main : counts.room;
  if (threaded) {
    json.unread_thread_notifications = Object.fromEntries(counts.threads);
  }
  json.summary = roomSummary(facts, ctx.userId);
  return json;
}

/** The `rooms.leave` entry of a room the user left or was banned from (or null). */
export async function leftRoom(ctx: RoomSyncContext, m: MembershipEntry): Promise<Json | null> {
  const { json } = await timelineSections(ctx, {
    m,
    upto: Math.min(m.pos, ctx.upto),
    // A join and a leave in one batch: the client never had the room's state.
    newlyJoined: ctx.since !== null && m.pos > ctx.since &&
      await joinedWithin(ctx.hs, m.eventId, { userId: ctx.userId, since: ctx.since }),
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
