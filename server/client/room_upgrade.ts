/**
 * Room upgrades (spec: Client-Server API, "Room Upgrades"): `POST /rooms/{roomId}/upgrade`.
 * Checks the tombstone permission, creates the replacement room (predecessor, room type),
 * copies the transferable state and bans, invites the local members of a non-public room,
 * moves local aliases and the canonical alias, sends the tombstone (first, before v12, so that
 * the predecessor names it) and restricts the old room's power levels. The upgrader's tags and
 * `m.direct` entry follow them. A room this server does not hold is 404.
 *
 * @module
 */

import { Hono } from "hono";
import { isValidUserId, serverNameOf } from "../../federation/identifiers.ts";
import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { JsonObject, JsonValue } from "../../federation/types.ts";
import { randomString } from "../../crypto/tokens.ts";
import {
  badJson,
  forbidden,
  invalidParam,
  jsonResponse,
  MatrixError,
  notFound,
} from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalString, optionalStringArray } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { setPublished } from "../rooms/aliases.ts";
import { getAccountData, setAccountData, updateAccountData } from "../store/account_data.ts";
import { roomIdParam, setMembership } from "../rooms/membership.ts";
import { powerView } from "../rooms/power.ts";
import type { StateReader } from "../rooms/event_pipeline.ts";
import { type AliasRecord, roomKeys } from "../rooms/schema.ts";

const V3 = "/_matrix/client/v3";

/** State copied into the replacement room (the spec's recommended list). */
const TRANSFERABLE = [
  "m.room.server_acl",
  "m.room.encryption",
  "m.room.name",
  "m.room.avatar",
  "m.room.topic",
  "m.room.guest_access",
  "m.room.history_visibility",
  "m.room.join_rules",
];

const LEVEL_KEYS = [
  "ban",
  "events_default",
  "invite",
  "kick",
  "redact",
  "state_default",
  "users_default",
];

/** Routes of the room upgrade module. */
export function roomUpgradeRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(`${V3}/rooms/:roomId/upgrade`, requireAuth(hs), async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const body = await readBody(hs, c);
    const versionId = optionalString(body, "new_version");
    if (versionId === undefined) throw badJson("'new_version' is required");
    const rules = roomVersion(versionId);
    if (!rules) {
      throw new MatrixError(
        "M_UNSUPPORTED_ROOM_VERSION",
        `Room version '${versionId}' is not supported`,
      );
    }
    // Ignored for versions without additional creators (the spec's words), checked otherwise.
    const additional = rules.privilegedCreators
      ? optionalStringArray(body, "additional_creators", { maxItems: 50 }) ?? []
      : [];
    for (const user of additional) {
      if (!isValidUserId(user, { historical: true })) {
        throw invalidParam(`'additional_creators' holds '${user.slice(0, 300)}', not a user ID`);
      }
    }
    // A room this server does not hold cannot be upgraded here, whichever server named it.
    if (!(await hs.rooms.room(roomId))) throw notFound(`Room ${roomId} not found`);
    const upgrader = c.var.auth.userId;
    const creators = [...new Set(additional)].filter((user) => user !== upgrader);
    const replacement = await upgradeRoom(hs, roomId, upgrader, rules, creators);
    return jsonResponse({ replacement_room: replacement });
  });
  return app;
}

/** Performs the upgrade; returns the new room's ID. */
async function upgradeRoom(
  hs: Homeserver,
  oldRoomId: string,
  userId: string,
  rules: RoomVersionRules,
  additionalCreators: string[],
): Promise<string> {
  const oldRules = (await hs.rooms.rulesOf(oldRoomId))!;
  const reader: StateReader = (type, key) => hs.rooms.currentStateEvent(oldRoomId, type, key);
  const power = await powerView(reader, oldRules);
  const tombstoneLevel = power.levels.events.get("m.room.tombstone") ??
    power.levels.levels.state_default;
  const membership = await hs.rooms.membership(oldRoomId, userId);
  if (membership?.membership !== "join" || power.levelOf(userId) < tombstoneLevel) {
    throw forbidden(`Upgrading the room needs power level ${tombstoneLevel} in it`);
  }

  const oldCreate = await reader("m.room.create", "");
  const sendTombstone = (replacement: string) =>
    hs.pipeline.sendEvent(oldRoomId, {
      type: "m.room.tombstone",
      stateKey: "",
      sender: userId,
      content: { body: "This room has been replaced", replacement_room: replacement },
    });
  // Before v12 the new room's ID is chosen first, so the tombstone is the old room's last event
  // and the predecessor names it (as Synapse does). A v12 room ID is the hash of its create
  // event, which cannot name a tombstone that names the room: `event_id` is left out there
  // (the spec allows it since v1.16) and the tombstone follows the new room.
  let chosenId: string | undefined;
  let tombstoneId: string | undefined;
  if (!rules.roomIdFromCreateEvent) {
    chosenId = `!${randomString(18)}:${hs.config.serverName}`;
    tombstoneId = (await sendTombstone(chosenId)).event.eventId;
  }
  const createContent: JsonObject = {
    room_version: rules.id,
    predecessor: tombstoneId === undefined
      ? { room_id: oldRoomId }
      : { room_id: oldRoomId, event_id: tombstoneId },
  };
  if (rules.createHasCreator) createContent.creator = userId;
  const oldContent = oldCreate?.event.content ?? {};
  if (oldContent.type !== undefined) createContent.type = oldContent.type;
  if (oldContent["m.federate"] !== undefined) {
    createContent["m.federate"] = oldContent["m.federate"];
  }
  if (additionalCreators.length > 0) createContent.additional_creators = additionalCreators;

  const created = await hs.pipeline.createRoom(rules, { sender: userId, content: createContent }, {
    roomId: chosenId,
  });
  const newRoomId = created.event.roomId;
  const send = (type: string, stateKey: string, content: JsonObject) =>
    hs.pipeline.sendEvent(newRoomId, { type, stateKey, sender: userId, content });
  await setMembership(hs, {
    roomId: newRoomId,
    sender: userId,
    target: userId,
    membership: "join",
  });

  await carryUserState(hs, userId, { from: oldRoomId, to: newRoomId });

  const oldPl = (await reader("m.room.power_levels", ""))?.event.content ?? {};
  const creators = new Set([userId, ...additionalCreators]);
  await send("m.room.power_levels", "", convertPowerLevels(oldPl, rules, userId, creators));
  for (const type of TRANSFERABLE) {
    const event = await reader(type, "");
    if (event) await send(type, "", event.event.content);
  }
  for (const ban of await hs.rooms.members(oldRoomId, "ban")) {
    if (creators.has(ban)) continue;
    await setMembership(hs, { roomId: newRoomId, sender: userId, target: ban, membership: "ban" });
  }

  // Members of a room that is not public could not follow the tombstone: invite the local ones.
  const joinRule = (await reader("m.room.join_rules", ""))?.event.content.join_rule;
  if (joinRule !== "public") {
    for (const member of await hs.rooms.members(oldRoomId, "join")) {
      if (member === userId || serverNameOf(member) !== hs.config.serverName) continue;
      await setMembership(hs, {
        roomId: newRoomId,
        sender: userId,
        target: member,
        membership: "invite",
      }).catch((err) => console.error(`inviting ${member} after upgrade failed:`, err.message));
    }
  }

  // Local aliases and the canonical alias move to the new room.
  for (const alias of await hs.rooms.aliasesOf(oldRoomId)) {
    const entry = await hs.kv.get<AliasRecord>(roomKeys.alias(alias));
    if (!entry.value) continue;
    await hs.kv.atomic().check(entry)
      .set(entry.key, { ...entry.value, roomId: newRoomId })
      .delete(roomKeys.aliasOfRoom(oldRoomId, alias))
      .set(roomKeys.aliasOfRoom(newRoomId, alias), null)
      .commit();
  }
  const canonical = await reader("m.room.canonical_alias", "");
  if (canonical && Object.keys(canonical.event.content).length > 0) {
    await send("m.room.canonical_alias", "", canonical.event.content);
    await hs.pipeline.sendEvent(oldRoomId, {
      type: "m.room.canonical_alias",
      stateKey: "",
      sender: userId,
      content: {},
    }).catch(() => {});
  }
  if (await hs.rooms.isPublished(oldRoomId)) {
    await setPublished(hs, newRoomId, true);
    await setPublished(hs, oldRoomId, false);
  }

  if (tombstoneId === undefined) await sendTombstone(newRoomId);
  // Stop new messages and invites in the old room where the upgrader may change power levels.
  const usersDefault = typeof oldPl.users_default === "number" ? oldPl.users_default : 0;
  const restricted = Math.max(50, usersDefault + 1);
  await hs.pipeline.sendEvent(oldRoomId, {
    type: "m.room.power_levels",
    stateKey: "",
    sender: userId,
    content: { ...oldPl, events_default: restricted, invite: restricted },
  }).catch((err) => console.error(`restricting ${oldRoomId} failed:`, err.message));
  return newRoomId;
}

/**
 * The upgrader's own view of the old room follows them to the new one (as in Synapse): its
 * tags, and its place in `m.direct` (a direct chat stays a direct chat).
 */
async function carryUserState(
  hs: Homeserver,
  userId: string,
  rooms: { from: string; to: string },
): Promise<void> {
  const tags = await getAccountData(hs, userId, { roomId: rooms.from, type: "m.tag" });
  if (tags) await setAccountData(hs, userId, { roomId: rooms.to, type: "m.tag" }, tags.content);
  await updateAccountData(hs, userId, { roomId: "", type: "m.direct" }, (current) => {
    if (current === null) return null;
    let changed = false;
    const next: Record<string, unknown> = {};
    for (const [partner, list] of Object.entries(current)) {
      if (Array.isArray(list) && list.includes(rooms.from) && !list.includes(rooms.to)) {
        next[partner] = [...list, rooms.to];
        changed = true;
      } else {
        next[partner] = list;
      }
    }
    return changed ? next : null;
  });
}

/**
 * The old room's power levels made valid for the new version: integer levels (v10+), v12
 * creators out of `users`, and the upgrader at 100 where creators have no implicit power.
 */
function convertPowerLevels(
  content: JsonObject,
  rules: RoomVersionRules,
  upgrader: string,
  creators: ReadonlySet<string>,
): JsonObject {
  const toInt = (value: JsonValue | undefined): number | undefined => {
    const n = typeof value === "string" ? Number(value.trim()) : value;
    return typeof n === "number" && Number.isFinite(n) ? Math.trunc(n) : undefined;
  };
  const out: JsonObject = {};
  for (const key of LEVEL_KEYS) {
    const level = toInt(content[key]);
    if (level !== undefined) out[key] = level;
  }
  for (const map of ["users", "events", "notifications"]) {
    const source = content[map];
    if (typeof source !== "object" || source === null || Array.isArray(source)) continue;
    const converted: JsonObject = {};
    for (const [key, value] of Object.entries(source)) {
      const level = toInt(value);
      if (level !== undefined) converted[key] = level;
    }
    out[map] = converted;
  }
  const users = (out.users ?? {}) as JsonObject;
  if (rules.privilegedCreators) {
    for (const creator of creators) delete users[creator];
  } else {
    users[upgrader] = Math.max(toInt(users[upgrader]) ?? 0, 100);
  }
  out.users = users;
  return out;
}
