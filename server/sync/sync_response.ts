/**
 * One `/sync` response for one device between a token and the visible stream position:
 * top-level account data, presence, the E2EE fields and the room sections. The route
 * (`server/client/sync.ts`) decides whether to wait for changes.
 *
 * An incremental sync touches only rooms where something happened: rooms whose newest event is
 * after `since` (read from the room heads in batches), membership changes, and rooms with new
 * typing, receipts or account data. Initial syncs process rooms with bounded concurrency.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { e2eeSyncFields, type MembershipView } from "../e2ee/sync_fields.ts";
import { visibleAccountDataContent } from "../client/account_data.ts";
import { cachedPushRules, PUSH_RULES_TYPE, renderPushRules } from "../push/rules_store.ts";
import type { MembershipRecord, RoomHead } from "../rooms/schema.ts";
import {
  accountDataBetween,
  type AccountDataEntry,
  listAccountData,
} from "../store/account_data.ts";
import {
  getPresence,
  presenceChangedBetween,
  presenceTracker,
  remoteUsersWithPresence,
} from "../store/presence.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { sharesRoomWith } from "./room_access.ts";
import {
  ownReceipts,
  type ReceiptEntry,
  receiptsBetween,
  receiptsOfRoom,
} from "../store/receipts.ts";
import { eventAllowed, type SyncFilter, typeAllowed } from "./filter.ts";
import type { MembershipEntry, RoomSource } from "./room_source.ts";
import {
  joinedRoom,
  leftRoom,
  type RoomSyncContext,
  roomWanted,
  strippedRoom,
} from "./sync_rooms.ts";
import { presenceChangesInMemory, streamChanged } from "./positions.ts";
import { ignoredUsers } from "./ignored_users.ts";
import { invitesBlocked } from "../client/invite_permission.ts";
import { lazyMemberTracker } from "./lazy_members.ts";
import { formatSyncToken, type SyncToken } from "./token.ts";
import { typingTracker } from "./typing.ts";
import { mapLimited } from "../concurrency.ts";

/** Rooms processed at once. */
const ROOM_CONCURRENCY = 16;

type Json = Record<string, unknown>;

/** What the room side supplies besides the {@link RoomSource}. */
export interface SyncRoomsAccess {
  source: RoomSource;
  membershipView: MembershipView;
  /**
   * Every membership record of the user (forgotten rooms included); `cached` allows a copy
   * kept since the user's last membership change (forgetting a room may not show in it).
   */
  userRooms(userId: string, options?: { cached?: boolean }): Promise<MembershipRecord[]>;
  /**
   * The heads of rooms (null for unknown rooms), read in batches; with `visible`, a read that
   * started once the stream's visible position had reached it may be reused.
   */
  heads(
    roomIds: readonly string[],
    options?: { visible?: number },
  ): Promise<Map<string, RoomHead | null>>;
  /** A membership view that reuses the user's rooms and heads a sync already read. */
  syncMembershipView(
    userId: string,
    read: { records: readonly MembershipRecord[]; heads: ReadonlyMap<string, RoomHead | null> },
  ): MembershipView;
  /** Local users who share a joined room with `userId` (and `userId`). */
  usersSharingRoomsWith(userId: string): Promise<Set<string>>;
}

/** The parameters of one sync. */
export interface SyncParams {
  since: SyncToken | null;
  filter: SyncFilter;
  fullState: boolean;
  /**
   * `use_state_after` (spec v1.16): the key the rooms' state sections go under, leading to the
   * end of their timelines. Undefined: `state` (the start of the timelines).
   */
  stateAfter?: string;
}

/** A computed response and whether it carries anything new. */
export interface SyncResult {
  body: Json;
  empty: boolean;
}

function groupByRoom(entries: readonly AccountDataEntry[]): Map<string, AccountDataEntry[]> {
  const byRoom = new Map<string, AccountDataEntry[]>();
  for (const entry of entries) {
    let list = byRoom.get(entry.roomId);
    if (!list) byRoom.set(entry.roomId, list = []);
    list.push(entry);
  }
  return byRoom;
}

/** Most users an incremental sync sends presence for because they are newly met. */
const MAX_NEWLY_MET = 1000;

/** Users other than `userId` newly met in an incremental sync (see `RoomSyncContext`). */
async function newlyMet(
  ctx: RoomSyncContext,
  source: RoomSource,
  userId: string,
): Promise<Set<string>> {
  const met = new Set(ctx.newcomers?.users ?? []);
  for (const roomId of ctx.newcomers?.rooms ?? []) {
    if (met.size >= MAX_NEWLY_MET) break;
    for (const member of await source.joinedMembers(roomId)) met.add(member);
  }
  met.delete(userId);
  return new Set([...met].slice(0, MAX_NEWLY_MET));
}

/** Computes one sync response up to `upto` (the visible position when the sync started). */
export async function computeSync(
  hs: Homeserver,
  device: { userId: string; deviceId: string },
  options: SyncParams & { rooms: SyncRoomsAccess; upto: number; typingSerial: number },
): Promise<SyncResult> {
  const { userId } = device;
  const { since, filter, rooms, upto } = options;
  const sincePos = since?.pos ?? null;
  const typing = typingTracker(hs);

  // Account data: everything for an initial sync, else what changed.
  // Incremental syncs skip the streams that memory knows have nothing after `since`.
  const accountData = sincePos === null
    ? await listAccountData(hs, userId)
    : streamChanged(hs, "account_data", { since: sincePos, userId })
    ? await accountDataBetween(hs, userId, { since: sincePos, upto })
    : [];
  const byRoom = groupByRoom(accountData);
  const globalEntries = byRoom.get("") ?? [];
  byRoom.delete("");
  const pushRulesStored = globalEntries.some((entry) => entry.type === PUSH_RULES_TYPE);
  const globalEvents: Json[] = globalEntries
    .filter((entry) => eventAllowed(filter.accountData, { type: entry.type }))
    .map((entry) => ({
      type: entry.type,
      content: visibleAccountDataContent(userId, entry.type, entry.content),
    }));
  if (
    sincePos === null && !pushRulesStored &&
    eventAllowed(filter.accountData, { type: PUSH_RULES_TYPE })
  ) {
    globalEvents.push({
      type: PUSH_RULES_TYPE,
      content: { global: renderPushRules(userId, null) },
    });
  }
  const ruleset = await cachedPushRules(hs, userId);

  // Receipts: per room for an initial sync, else the changes of the range.
  const changedReceipts: Map<string, ReceiptEntry[]> =
    sincePos === null || !streamChanged(hs, "receipt", { since: sincePos })
      ? new Map()
      : await receiptsBetween(hs, { since: sincePos, upto });

  const records = await rooms.userRooms(userId, { cached: sincePos !== null });
  const ignored = await ignoredUsers(hs, userId);
  const blockInvites = await invitesBlocked(hs, userId);
  const memberships: MembershipEntry[] = records
    .filter((r) => !r.forgotten && roomWanted({ filter } as RoomSyncContext, r.roomId))
    // Invites from ignored users are never sent (spec: "Ignoring Users"), and no invite at all
    // while the user blocks invites (spec v1.18, "Invite permission").
    .filter((r) => r.membership !== "invite" || (!blockInvites && !ignored.has(r.sender)))
    .map((r) => ({
      roomId: r.roomId,
      membership: r.membership as MembershipEntry["membership"],
      pos: r.pos,
      eventId: r.eventId,
      record: r,
    }));
  // Heads of the rooms with a timeline section (and, for device lists, of every joined room
  // and every room whose membership changed).
  const headed = records.filter((r) =>
    r.membership === "join" || sincePos === null || r.pos > sincePos
  ).map((r) => r.roomId);
  const heads = await rooms.heads(headed, { visible: upto });
  let active: MembershipEntry[];
  if (sincePos === null) {
    active = memberships;
  } else {
    active = memberships.filter((m) => {
      if (m.pos > sincePos && m.pos <= upto) return true;
      if (m.membership !== "join" || m.pos > upto) return false;
      return options.fullState || (heads.get(m.roomId)?.lastPos ?? 0) > sincePos ||
        typing.changedSince(m.roomId, since!.typing) || changedReceipts.has(m.roomId) ||
        byRoom.has(m.roomId);
    });
  }

  const ctx: RoomSyncContext = {
    hs,
    userId,
    deviceId: device.deviceId,
    source: rooms.source,
    filter,
    since: sincePos,
    upto,
    fullState: options.fullState,
    typing: {
      typingIn: (roomId) => typing.typingIn(roomId),
      changedSince: (roomId) => typing.changedSince(roomId, since?.typing ?? 0),
    },
    receipts: (roomId) =>
      sincePos === null
        ? receiptsOfRoom(hs, roomId)
        : Promise.resolve(changedReceipts.get(roomId) ?? []),
    ownReceipts: (roomId) => ownReceipts(hs, roomId, userId),
    ownReceiptChanged: (roomId) =>
      changedReceipts.get(roomId)?.some((receipt) => receipt.userId === userId) ?? false,
    roomAccountData: byRoom,
    ruleset,
    heads,
    ignored,
    lazy: filter.room.state.lazyLoadMembers && !filter.room.state.includeRedundantMembers
      ? lazyMemberTracker(hs, device, { since: sincePos, upto, fullState: options.fullState })
      : null,
    newcomers: sincePos === null ? undefined : { users: new Set(), rooms: [] },
    stateAfter: options.stateAfter,
  };

  const join: Json = {};
  const invite: Json = {};
  const knock: Json = {};
  const leave: Json = {};
  await mapLimited(active, ROOM_CONCURRENCY, async (m) => {
    if (m.membership === "join") {
      const section = await joinedRoom(ctx, m);
      if (section) join[m.roomId] = section;
    } else if (m.membership === "invite" || m.membership === "knock") {
      if (m.pos > upto) return;
      (m.membership === "invite" ? invite : knock)[m.roomId] = await strippedRoom(ctx, m);
    } else if (sincePos !== null || filter.room.includeLeave) {
      if (m.pos > upto) return;
      leave[m.roomId] = await leftRoom(ctx, m);
    }
  });

  // Presence of the users who share a room with the requester, and (as Synapse sends it) of
  // everyone newly met: the members of rooms the user joined, and who joined their rooms.
  const presence: Json[] = [];
  const now = Date.now();
  // A filter that lets no presence event through (`types: []`, or no sender) spares the
  // lookups below: who was newly met, whose presence changed, who shares a room.
  const presenceWanted = typeAllowed(filter.presence, "m.presence") &&
    filter.presence.senders?.length !== 0;
  const met = presenceWanted ? await newlyMet(ctx, rooms.source, userId) : new Set<string>();
  const candidates = !presenceWanted ? [] : sincePos === null
    ? [
      ...await rooms.usersSharingRoomsWith(userId),
      ...await remoteUsersWithPresence(hs, userId),
    ]
    : streamChanged(hs, "presence", { since: sincePos })
    ? await presenceChangesInMemory(hs, { since: sincePos, upto }) ??
      await presenceChangedBetween(hs, { since: sincePos, upto })
    : [];
  const sharing = sincePos === null || candidates.length === 0
    ? null
    : await rooms.usersSharingRoomsWith(userId);
  const tracker = presenceTracker(hs);
  for (const other of candidates) {
    // `sharing` holds local users; a remote one (presence from its server) is looked up.
    if (
      sharing && !sharing.has(other) &&
      (serverNameOf(other) === hs.config.serverName || !(await sharesRoomWith(hs, userId, other)))
    ) continue;
    if (!eventAllowed(filter.presence, { type: "m.presence", sender: other })) continue;
    const record = await getPresence(hs, other);
    if (!record || record.pos > upto) continue;
    met.delete(other);
    presence.push({
      type: "m.presence",
      sender: other,
      content: tracker.content(other, record, now),
    });
  }
  for (const other of met) {
    if (!eventAllowed(filter.presence, { type: "m.presence", sender: other })) continue;
    const record = await getPresence(hs, other);
    // A change after `upto` comes with the next sync.
    if (record && record.pos > upto) continue;
    presence.push({
      type: "m.presence",
      sender: other,
      // Someone never seen online is offline.
      content: record ? tracker.content(other, record, now) : { presence: "offline" },
    });
  }

  const e2ee = await e2eeSyncFields(hs, device, {
    since: sincePos,
    toDeviceSince: since?.toDevice ?? sincePos,
    upto,
    rooms: rooms.syncMembershipView(userId, { records, heads }),
  });

  const nextBatch = formatSyncToken({
    pos: upto,
    typing: options.typingSerial,
    toDevice: e2ee.toDeviceReached,
  });
  const body: Json = {
    next_batch: nextBatch,
    account_data: { events: globalEvents },
    presence: { events: presence },
    rooms: { join, invite, knock, leave },
    to_device: e2ee.to_device,
    device_one_time_keys_count: e2ee.device_one_time_keys_count,
    device_unused_fallback_key_types: e2ee.device_unused_fallback_key_types,
  };
  if (e2ee.device_lists) body.device_lists = e2ee.device_lists;
  const empty = Object.keys(join).length === 0 && Object.keys(invite).length === 0 &&
    Object.keys(knock).length === 0 && Object.keys(leave).length === 0 &&
    globalEvents.length === 0 && presence.length === 0 && e2ee.to_device.events.length === 0 &&
    (e2ee.device_lists === undefined ||
      (e2ee.device_lists.changed.length === 0 && e2ee.device_lists.left.length === 0));
  return { body, empty };
}
