/**
 * Room creation (spec: Client-Server API, "Creation"): `POST /v3/createRoom`. The request is
 * validated completely before the first event, then the events are sent in the spec's order:
 * create, the creator's join, power levels, canonical alias, the preset's join rules, history
 * visibility and guest access, `initial_state`, name, topic, invites.
 *
 * Invite blocking (v1.18): a local invitee who blocks invites, or a remote one whose server
 * answers M_INVITE_BLOCKED, is left out (not invited, no power, not a creator); the room is
 * still created with the others invited, and the answer is 403 M_INVITE_BLOCKED with the
 * new room's `room_id`, as the spec allows ("one of the invited users rejected whilst the room
 * creation as a whole succeeds"). For room version 12, `trusted_private_chat` makes the
 * invitees `additional_creators` (v1.16, MSC4289) instead of giving them power level 100.
 *
 * @module
 */

import { Hono } from "hono";
import { DEFAULT_ROOM_VERSION, roomVersion } from "../../federation/room_versions.ts";
import { isValidUserId, serverNameOf } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { badJson, invalidParam, jsonResponse, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import {
  optionalBoolean,
  optionalObject,
  optionalString,
  optionalStringArray,
} from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { createAlias, localAlias, setPublished } from "../rooms/aliases.ts";
import { inviteTarget, inviteUser, setMembership } from "../rooms/membership.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import { defaultEncryptionEvent } from "../e2ee/default_encryption.ts";
import { InviteBlockedError, invitesBlocked } from "./invite_permission.ts";
import { INTERNAL_ROOM_TYPE } from "../rooms/internal_rooms.ts";

const V3 = "/_matrix/client/v3";
const PRESETS = ["private_chat", "trusted_private_chat", "public_chat"] as const;
type Preset = typeof PRESETS[number];

/** A validated createRoom request. */
interface CreateRoomRequest {
  preset: Preset;
  visibility: "public" | "private";
  rules: RoomVersionRules;
  alias?: string;
  name?: string;
  topic?: string;
  invite: string[];
  isDirect: boolean;
  initialState: { type: string; stateKey: string; content: JsonObject }[];
  creationContent: JsonObject;
  powerLevelOverride?: JsonObject;
}

/** Routes of the room creation module. */
export function createRoomRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(`${V3}/createRoom`, requireAuth(hs), async (c) => {
    const request = await parseRequest(hs, await readBody(hs, c, { allowEmpty: true }));
    const roomId = await createRoom(hs, c.var.auth.userId, request);
    return jsonResponse({ room_id: roomId });
  });
  return app;
}

/**
 * Creates a room as `creator` from a `createRoom` request body, checked as the endpoint checks
 * it (server-side callers, e.g. the admin API's replacement room); returns the room ID.
 */
export async function createRoomAs(
  hs: Homeserver,
  creator: string,
  body: Record<string, unknown>,
): Promise<string> {
  return await createRoom(hs, creator, await parseRequest(hs, body));
}

async function parseRequest(hs: Homeserver, body: Record<string, unknown>) {
  const visibility = optionalString(body, "visibility") ?? "private";
  if (visibility !== "public" && visibility !== "private") {
    throw badJson("'visibility' must be 'public' or 'private'");
  }
  const presetValue = optionalString(body, "preset") ??
    (visibility === "public" ? "public_chat" : "private_chat");
  if (!(PRESETS as readonly string[]).includes(presetValue)) {
    throw badJson(`'preset' must be one of ${PRESETS.join(", ")}`);
  }
  const versionId = body.room_version === undefined
    ? DEFAULT_ROOM_VERSION
    : optionalString(body, "room_version") ?? DEFAULT_ROOM_VERSION;
  const rules = roomVersion(versionId);
  if (!rules) {
    throw new MatrixError(
      "M_UNSUPPORTED_ROOM_VERSION",
      `Room version '${versionId}' is not supported (1 to 12 are)`,
    );
  }
  const aliasName = optionalString(body, "room_alias_name", { maxBytes: 200 });
  let alias: string | undefined;
  if (aliasName !== undefined) {
    if (aliasName === "" || /[:\s#]/.test(aliasName)) {
      throw invalidParam("'room_alias_name' must be a non-empty local part without ':' or spaces");
    }
    alias = localAlias(hs, `#${aliasName}:${hs.config.serverName}`);
    if (await hs.rooms.alias(alias)) {
      throw new MatrixError("M_ROOM_IN_USE", `Room alias ${alias} already exists`);
    }
  }
  const invite = [...new Set(optionalStringArray(body, "invite", { maxItems: 100 }) ?? [])];
  for (const userId of invite) await inviteTarget(hs, userId);

  const initialState: CreateRoomRequest["initialState"] = [];
  const rawState = body.initial_state;
  if (rawState !== undefined && rawState !== null) {
    if (!Array.isArray(rawState)) throw badJson("'initial_state' must be an array");
    for (const item of rawState) {
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        throw badJson("'initial_state' entries must be objects");
      }
      const entry = item as Record<string, unknown>;
      const type = entry.type;
      const stateKey = entry.state_key ?? "";
      const content = entry.content;
      if (typeof type !== "string" || type === "") {
        throw badJson("'initial_state' entries need a 'type'");
      }
      if (typeof stateKey !== "string") throw badJson("'state_key' must be a string");
      if (typeof content !== "object" || content === null || Array.isArray(content)) {
        throw badJson("'initial_state' entries need a 'content' object");
      }
      if (type === "m.room.create" || type === "m.room.member") {
        throw badJson(`'initial_state' cannot contain ${type} events`);
      }
      initialState.push({ type, stateKey, content: content as JsonObject });
    }
  }
  const creationContent = { ...optionalObject(body, "creation_content") } as JsonObject;
  const additional = creationContent.additional_creators;
  if (additional !== undefined) {
    if (!rules.privilegedCreators) {
      throw badJson("'additional_creators' needs room version 12 or later");
    }
    if (
      !Array.isArray(additional) ||
      additional.some((u) => typeof u !== "string" || !isValidUserId(u, { historical: true }))
    ) {
      throw badJson("'additional_creators' must be an array of user IDs");
    }
  }
  const request: CreateRoomRequest = {
    preset: presetValue as Preset,
    visibility,
    rules,
    alias,
    name: optionalString(body, "name", { maxBytes: 1024 }),
    topic: optionalString(body, "topic", { maxBytes: 16 * 1024 }),
    invite,
    isDirect: optionalBoolean(body, "is_direct") ?? false,
    initialState,
    creationContent,
    powerLevelOverride: optionalObject(body, "power_level_content_override") as
      | JsonObject
      | undefined,
  };
  return request;
}

/** The preset's state events (spec table "preset"). */
function presetState(preset: Preset): { type: string; content: JsonObject }[] {
  const isPublic = preset === "public_chat";
  return [
    { type: "m.room.join_rules", content: { join_rule: isPublic ? "public" : "invite" } },
    { type: "m.room.history_visibility", content: { history_visibility: "shared" } },
    {
      type: "m.room.guest_access",
      content: { guest_access: isPublic ? "forbidden" : "can_join" },
    },
  ];
}

/** The default power levels for a new room, before `power_level_content_override`. */
function defaultPowerLevels(
  creator: string,
  request: CreateRoomRequest,
  options: { creators: ReadonlySet<string>; invitees: readonly string[] },
): JsonObject {
  const { rules, preset } = request;
  const users: JsonObject = {};
  if (!rules.privilegedCreators) users[creator] = 100;
  if (preset === "trusted_private_chat") {
    for (const invitee of options.invitees) {
      if (!options.creators.has(invitee)) users[invitee] = 100;
    }
  }
  return {
    users,
    users_default: 0,
    events: {
      "m.room.name": 50,
      "m.room.power_levels": 100,
      "m.room.history_visibility": 100,
      "m.room.canonical_alias": 50,
      "m.room.avatar": 50,
      // v12: only creators may upgrade the room.
      "m.room.tombstone": rules.privilegedCreators ? 150 : 100,
      "m.room.server_acl": 100,
      "m.room.encryption": 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: preset === "public_chat" ? 50 : 0,
    historical: 100,
  };
}

/** Creates a room from a validated request; returns its ID. */
async function createRoom(
  hs: Homeserver,
  creator: string,
  request: CreateRoomRequest,
): Promise<string> {
  const { rules } = request;
  // Local invitees who block invites are known now; remote ones only when their server answers.
  const blocked: string[] = [];
  const invitees: string[] = [];
  for (const invitee of request.invite) {
    if (await invitesBlocked(hs, invitee)) blocked.push(invitee);
    else invitees.push(invitee);
  }
  const createContent: JsonObject = { ...request.creationContent, room_version: rules.id };
  if (rules.createHasCreator) createContent.creator = creator;
  else delete createContent.creator;
  if (rules.privilegedCreators && request.preset === "trusted_private_chat") {
    // The spec's "same power level as the room creator" is being a creator from v12 on.
    const given = (createContent.additional_creators ?? []) as string[];
    const merged = [...new Set([...given, ...invitees])].filter((u) => u !== creator);
    if (merged.length > 0) createContent.additional_creators = merged;
  }
  const createEvent = await hs.pipeline.createRoom(rules, {
    sender: creator,
    content: createContent,
  });
  const roomId = createEvent.event.roomId;
  const send = (type: string, stateKey: string, content: JsonObject) =>
    hs.pipeline.sendEvent(roomId, { type, stateKey, sender: creator, content });

  await setMembership(hs, { roomId, sender: creator, target: creator, membership: "join" });
  const creators = new Set<string>([creator]);
  if (Array.isArray(createContent.additional_creators)) {
    for (const u of createContent.additional_creators) creators.add(u as string);
  }
  await send("m.room.power_levels", "", {
    ...defaultPowerLevels(creator, request, { creators, invitees }),
    ...request.powerLevelOverride,
  });
  if (request.alias) {
    if (!(await createAlias(hs, request.alias, roomId, creator))) {
      throw new MatrixError("M_ROOM_IN_USE", `Room alias ${request.alias} already exists`);
    }
    await send("m.room.canonical_alias", "", { alias: request.alias });
  }
  const given = new Set(request.initialState.map((e) => `${e.type}\u0000${e.stateKey}`));
  for (const event of presetState(request.preset)) {
    if (!given.has(`${event.type}\u0000`)) await send(event.type, "", event.content);
  }
  // Default encryption (`[e2ee] default_for`) counts as initial state the request did not give.
  const encryption = given.has("m.room.encryption\u0000") ? null : defaultEncryptionEvent(
    hs.config,
    { preset: request.preset, visibility: request.visibility, isDirect: request.isDirect },
  );
  if (encryption) await send(encryption.type, encryption.state_key, encryption.content);
  // `[rooms] internal_by_default`, unless the request set it or invites other servers' users.
  const ours = hs.config.serverName;
  if (
    hs.config.rooms.internalByDefault && !given.has(`${INTERNAL_ROOM_TYPE}\u0000`) &&
    invitees.every((u) => serverNameOf(u) === ours)
  ) {
    await send(INTERNAL_ROOM_TYPE, "", { internal: true });
  }
  for (const event of request.initialState) await send(event.type, event.stateKey, event.content);
  if (request.name !== undefined) await send("m.room.name", "", { name: request.name });
  if (request.topic !== undefined) {
    await send("m.room.topic", "", {
      topic: request.topic,
      "m.topic": { "m.text": [{ body: request.topic, mimetype: "text/plain" }] },
    });
  }
  for (const invitee of invitees) {
    // A user of another server is invited over federation (`inviteUser`).
    try {
      await inviteUser(hs, {
        roomId,
        sender: creator,
        target: invitee,
        extra: request.isDirect ? { is_direct: true } : undefined,
      });
    } catch (err) {
      if (!(err instanceof InviteBlockedError)) throw err;
      blocked.push(invitee);
    }
  }
  if (request.visibility === "public") await setPublished(hs, roomId, true);
  if (blocked.length > 0) {
    throw new InviteBlockedError(blocked.join(", "), { extra: { room_id: roomId } });
  }
  return roomId;
}
