/**
 * Server notices (spec: Client-Server API, "Server Notices"), sent by admins over Synapse's
 * admin API:
 *
 * - `POST /_synapse/admin/v1/send_server_notice` with `{user_id, content, type?, state_key?}`
 * - `PUT /_synapse/admin/v1/send_server_notice/{txnId}`: the same, idempotent per admin and
 *   transaction ID
 *
 * Each local user has one notices room, made on the first notice: the system account
 * (`[server_notices] system_localpart`, made on first use, without a password) creates it
 * unencrypted and read-only for the user (`events_default` 100), invites the user and tags the
 * room `m.server_notice` in the user's account data. When the user has left it, the next notice
 * makes a new room. The user cannot reject the invite (403
 * `M_CANNOT_LEAVE_SERVER_NOTICE_ROOM`, {@link checkServerNoticeLeave}); leaving after joining
 * is allowed, as the spec recommends.
 *
 * There is no bulk endpoint (Synapse has none): a console sends to many users one request per
 * user.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { DEFAULT_ROOM_VERSION, roomVersion } from "../../federation/room_versions.ts";
import { isValidUserId } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { badJson, invalidParam, MatrixError, notFound } from "../errors.ts";
import { optionalObject, optionalString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody } from "../request_context.ts";
import { createUser, getUser } from "../store/accounts.ts";
import { setProfileField } from "../store/profiles.ts";
import { updateAccountData } from "../store/account_data.ts";
import { inTurn } from "../store/turns.ts";
import { setMembership } from "../rooms/membership.ts";
import { auditAdminAction } from "./audit.ts";
import { adminOnly } from "./admin_common.ts";

/** The tag that marks a user's notices room. */
export const SERVER_NOTICE_TAG = "m.server_notice";

/** `["server_notice", "room", userId]`: the user's current notices room. */
interface NoticeRoomRecord {
  roomId: string;
  createdTs: number;
}

const roomKey = (userId: string): Deno.KvKey => ["server_notice", "room", userId];
const systemKey = (userId: string): Deno.KvKey => ["server_notice", "system", userId];

/** The system account's user ID. */
export function systemUserId(hs: Homeserver): string {
  return `@${hs.config.serverNotices.systemLocalpart}:${hs.config.serverName}`;
}

/**
 * Makes the system account on first use. An account of that name that this module did not make
 * is a person's: notices are refused rather than sent in their name.
 */
async function ensureSystemUser(hs: Homeserver): Promise<string> {
  const userId = systemUserId(hs);
  for (let attempt = 0; attempt < 2; attempt++) {
    if ((await hs.kv.get(systemKey(userId))).value) return userId;
    if (await getUser(hs.kv, userId)) {
      throw new MatrixError(
        "M_UNKNOWN",
        `${userId} is an ordinary account; set another [server_notices] system_localpart`,
        { status: 409 },
      );
    }
    try {
      await createUser(hs.kv, { userId, passwordHash: null }, {
        prepare: (op) => {
          op.set(systemKey(userId), { createdTs: Date.now() });
        },
      });
      await setProfileField(hs, userId, {
        key: "displayname",
        value: hs.config.serverNotices.systemDisplayName,
      });
      return userId;
    } catch (err) {
      // Another request made it at the same moment: read again.
      if (!(err instanceof MatrixError && err.code === "M_USER_IN_USE")) throw err;
    }
  }
  throw new MatrixError("M_UNKNOWN", "The system account could not be made", { status: 409 });
}

/** Creates a user's notices room: unencrypted, invite-only, read-only for the user. */
async function createNoticeRoom(hs: Homeserver, system: string, userId: string) {
  const rules = roomVersion(DEFAULT_ROOM_VERSION)!;
  const content: JsonObject = { room_version: rules.id };
  if (rules.createHasCreator) content.creator = system;
  const created = await hs.pipeline.createRoom(rules, { sender: system, content });
  const roomId = created.event.roomId;
  const send = (type: string, body: JsonObject) =>
    hs.pipeline.sendEvent(roomId, { type, stateKey: "", sender: system, content: body });
  await setMembership(hs, { roomId, sender: system, target: system, membership: "join" });
  await send("m.room.power_levels", {
    // From v12 on the creator's power comes from being the creator.
    users: rules.privilegedCreators ? {} : { [system]: 100 },
    users_default: 0,
    events: {},
    events_default: 100,
    state_default: 100,
    ban: 100,
    kick: 100,
    redact: 100,
    invite: 100,
  });
  await send("m.room.join_rules", { join_rule: "invite" });
  await send("m.room.history_visibility", { history_visibility: "shared" });
  await send("m.room.guest_access", { guest_access: "forbidden" });
  await send("m.room.name", { name: hs.config.serverNotices.roomName });
  await setMembership(hs, { roomId, sender: system, target: userId, membership: "invite" });
  await updateAccountData(hs, userId, { roomId, type: "m.tag" }, (current) => {
    const tags = { ...(current?.tags as Record<string, unknown> | undefined) };
    tags[SERVER_NOTICE_TAG] = {};
    return { ...current, tags };
  });
  await hs.kv.set(roomKey(userId), { roomId, createdTs: Date.now() } satisfies NoticeRoomRecord);
  return roomId;
}

/** The user's notices room, made when there is none or the user has left it. */
async function noticeRoomFor(hs: Homeserver, system: string, userId: string): Promise<string> {
  return await inTurn(hs.kv, ["server_notice", userId], async () => {
    const stored = (await hs.kv.get<NoticeRoomRecord>(roomKey(userId))).value;
    if (stored) {
      const membership = await hs.rooms.membership(stored.roomId, userId);
      if (membership?.membership === "join" || membership?.membership === "invite") {
        return stored.roomId;
      }
    }
    return await createNoticeRoom(hs, system, userId);
  });
}

/**
 * Sends one notice to a local user through their notices room; returns the event ID.
 *
 * @throws {MatrixError} 404 for an unknown or deactivated user
 */
export async function sendServerNotice(
  hs: Homeserver,
  userId: string,
  notice: {
    type: string;
    content: JsonObject;
    stateKey?: string;
    txn?: { scope: string; txnId: string };
  },
): Promise<{ eventId: string; roomId: string }> {
  const user = await getUser(hs.kv, userId);
  if (!user || user.deactivated) throw notFound("No such user on this server");
  const system = await ensureSystemUser(hs);
  if (userId === system) throw invalidParam("The system account does not get notices");
  const roomId = await noticeRoomFor(hs, system, userId);
  const stored = await hs.pipeline.sendEvent(roomId, {
    type: notice.type,
    ...(notice.stateKey !== undefined ? { stateKey: notice.stateKey } : {}),
    sender: system,
    content: notice.content,
  }, notice.txn ? { txn: { deviceId: notice.txn.scope, txnId: notice.txn.txnId } } : {});
  return { eventId: stored.event.eventId, roomId };
}

/**
 * Refuses the rejection of a notices room invite, as the spec asks.
 *
 * @throws {MatrixError} 403 M_CANNOT_LEAVE_SERVER_NOTICE_ROOM
 */
export async function checkServerNoticeLeave(
  hs: Homeserver,
  roomId: string,
  userId: string,
): Promise<void> {
  const stored = (await hs.kv.get<NoticeRoomRecord>(roomKey(userId))).value;
  if (stored?.roomId !== roomId) return;
  if ((await hs.rooms.membership(roomId, userId))?.membership !== "invite") return;
  throw new MatrixError(
    "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM",
    "The invite to the server notices room cannot be rejected; join it to read the notices",
    { status: 403 },
  );
}

/** Routes of server notices. */
export function serverNoticeRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const base = "/_synapse/admin/v1/send_server_notice";

  const send = async (c: Context<AppEnv>, txnId?: string) => {
    const body = await readBody(hs, c);
    const userId = optionalString(body, "user_id", { maxBytes: 255 });
    if (userId === undefined) throw badJson("'user_id' is required");
    if (!isValidUserId(userId, { historical: true })) throw invalidParam("Not a valid user ID");
    if (!userId.endsWith(`:${hs.config.serverName}`)) {
      throw invalidParam("Server notices can only be sent to local users");
    }
    const content = optionalObject(body, "content");
    if (content === undefined) throw badJson("'content' is required");
    const type = optionalString(body, "type", { maxBytes: 255 }) ?? "m.room.message";
    if (type === "") throw badJson("'type' must not be empty");
    const stateKey = optionalString(body, "state_key", { maxBytes: 255 });
    const caller = c.var.auth.userId;
    const sent = await sendServerNotice(hs, userId, {
      type,
      // Parsed from JSON text, so every value is a JSON value.
      content: content as JsonObject,
      stateKey,
      txn: txnId === undefined ? undefined : { scope: `admin ${caller}`, txnId },
    });
    await auditAdminAction(hs, c, "server_notice.send", {
      target: userId,
      details: { event_id: sent.eventId, room_id: sent.roomId, type },
    });
    return c.json({ event_id: sent.eventId });
  };

  app.post(base, ...admin, (c) => send(c));
  app.put(`${base}/:txnId`, ...admin, (c) => send(c, c.req.param("txnId")));
  return app;
}
