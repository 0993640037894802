/**
 * Guest access (spec: Client-Server API, "Guest Access"): guest accounts registered with
 * `POST /register?kind=guest` when `[registration] allow_guests` is on, the
 * `m.room.guest_access` rules for their joins, and upgrading a guest to a full account
 * (`guest_access_token` in an ordinary registration). What guests may call is
 * server/client/guest_routes.ts.
 *
 * A guest is a user record with `isGuest`; it has no password, so it can never log in, and its
 * localpart is numeric (numeric usernames are reserved for guests, as in Synapse). Which rooms
 * a guest may read follows the ordinary history-visibility rules (a `world_readable` room is
 * open to everyone, guests included); which rooms it may join follows the room's
 * `m.room.guest_access`, and when a room stops allowing guests its local guests leave it
 * ({@link watchGuestAccess}).
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import type { JsonObject } from "../../federation/types.ts";
import type { JsonObject as RequestBody } from "../http_util.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { forbidden, MatrixError, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalString } from "../http_util.ts";
import type { CommittedEvent } from "../rooms/pipeline_types.ts";
import { leaveRoom } from "../rooms/membership.ts";
import { createUser, getUser, getUserEntry } from "../store/accounts.ts";
import { isGuestUser } from "./guest_routes.ts";
import {
  addDeviceSession,
  type IssuedTokens,
  type IssueOptions,
  lookupAccessToken,
} from "../store/devices.ts";
import { accountKeys, type DeviceRecord, type UserRecord } from "../store/kv_store.ts";
import { MAX_DEVICE_NAME_BYTES } from "./login.ts";

/** Numeric localparts are reserved for guests (as in Synapse). */
export function isGuestLocalpart(localpart: string): boolean {
  return /^[0-9]+$/.test(localpart);
}

/**
 * Refuses a numeric username for an ordinary registration.
 *
 * @throws {MatrixError} M_INVALID_USERNAME
 */
export function checkNotGuestLocalpart(localpart: string): void {
  if (isGuestLocalpart(localpart)) {
    throw new MatrixError("M_INVALID_USERNAME", "Numeric user IDs are reserved for guest users");
  }
}

/**
 * Registers a guest account and logs in its first device (`POST /register?kind=guest`).
 * Only `initial_device_display_name` of the body is read, as the spec says; a guest does not
 * choose its device ID. Open only when `[registration] allow_guests` is on.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN when guest access is off
 */
export async function registerGuest(
  hs: Homeserver,
  request: { body: RequestBody; ip: string },
): Promise<{ userId: string; tokens: IssuedTokens }> {
  if (!hs.config.registration.allowGuests) {
    throw forbidden("Guest access is not enabled on this server");
  }
  const displayName = optionalString(request.body, "initial_device_display_name", {
    maxBytes: MAX_DEVICE_NAME_BYTES,
  });
  for (let attempt = 0; attempt < 5; attempt++) {
    // 12 random digits: unguessable, and a collision is simply another attempt.
    const userId = `@${randomString(12, "0123456789")}:${hs.config.serverName}`;
    if ((await getUserEntry(hs.kv, userId)).versionstamp !== null) continue;
    let tokens: IssuedTokens | null;
    try {
      tokens = await createUser(hs.kv, { userId, passwordHash: null, isGuest: true }, {
        login: {
          displayName,
          accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
          ip: request.ip,
        },
      });
    } catch (error) {
      if (error instanceof MatrixError && error.code === "M_USER_IN_USE") continue;
      throw error;
    }
    if (!tokens) break;
    await hs.notify("userRegistered", userId);
    return { userId, tokens };
  }
  throw new MatrixError("M_UNKNOWN", "Could not allocate a guest user ID; retry", { status: 500 });
}

/**
 * Checks the `guest_access_token` of an upgrade: it must be a guest's current token, and the
 * requested username that guest's localpart (the spec requires `username` here).
 *
 * @returns the guest's user ID
 * @throws {MatrixError} M_MISSING_PARAM without username; 403 M_FORBIDDEN otherwise
 */
export async function guestToUpgrade(
  hs: Homeserver,
  token: string,
  username: string | undefined,
): Promise<string> {
  if (username === undefined) throw missingParam("username");
  const refused = forbidden(
    "Cannot register a taken user ID without valid guest credentials for that user",
  );
  if (token.length === 0 || token.length > 512) throw refused;
  const lookup = await lookupAccessToken(hs.kv, token);
  if (lookup.status !== "valid") throw refused;
  const userId = lookup.owner.userId;
  if (userId !== `@${username}:${hs.config.serverName}`) throw refused;
  const user = await getUser(hs.kv, userId);
  if (!user || user.deactivated || user.isGuest !== true) throw refused;
  return userId;
}

/**
 * Turns a guest into a full account with a password, in one commit that fails if the record
 * changed (or stopped being a guest) since it was read, optionally logging in a device (a
 * device ID of one of the guest's devices re-keys it). The user ID stays the same, and with
 * it the guest's rooms, devices and account data. `prepare` adds the caller's mutations (the
 * UIA session, a registration token's use) to the same commit.
 *
 * @returns the tokens of the logged-in device, or null without `login`
 * @throws {MatrixError} 403 M_FORBIDDEN when the account is no longer a guest
 */
export async function upgradeGuest(
  kv: Deno.Kv,
  account: { userId: string; passwordHash: string },
  options: { login?: IssueOptions; prepare?: (op: Deno.AtomicOperation) => Promise<void> } = {},
): Promise<IssuedTokens | null> {
  const { userId } = account;
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await getUserEntry(kv, userId);
    if (!entry.value || entry.value.deactivated || entry.value.isGuest !== true) {
      throw forbidden(`${userId} is not a guest account`);
    }
    const { isGuest: _guest, ...rest } = entry.value;
    const upgraded: UserRecord = { ...rest, passwordHash: account.passwordHash };
    const op = kv.atomic().check(entry).set(entry.key, upgraded);
    let tokens: IssuedTokens | null = null;
    if (options.login) {
      const deviceId = options.login.deviceId;
      const existing = deviceId
        ? await kv.get<DeviceRecord>(accountKeys.device(userId, deviceId))
        : null;
      if (existing) op.check(existing);
      tokens = addDeviceSession(op, { userId, existing: existing?.value ?? null }, options.login);
      if (!existing?.value) {
        op.check({ key: accountKeys.device(userId, tokens.deviceId), versionstamp: null });
      }
    }
    if (options.prepare) await options.prepare(op);
    if ((await op.commit()).ok) return tokens;
  }
  throw new MatrixError("M_UNKNOWN", "The account changed concurrently; retry", { status: 409 });
}

/** Whether a room's current `m.room.guest_access` lets guests join. */
async function guestsMayJoin(hs: Homeserver, roomId: string): Promise<boolean> {
  const event = await hs.rooms.currentStateEvent(roomId, "m.room.guest_access", "");
  return event?.event.content.guest_access === "can_join";
}

/**
 * The member content of a join by `userId`: for a guest, the room must allow guests
 * (`m.room.guest_access` is `can_join` in the state this server holds; a room it does not
 * hold is not open to guests), and the content is marked `kind: "guest"` as Synapse does.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN when the room does not allow guests
 */
export async function guestJoinContent(
  hs: Homeserver,
  roomId: string,
  join: { userId: string; extra: JsonObject | undefined },
): Promise<JsonObject | undefined> {
  if (!(await isGuestUser(hs, join.userId))) return join.extra;
  if (!(await guestsMayJoin(hs, roomId))) {
    throw forbidden("Guest access is not allowed in this room");
  }
  return { ...join.extra, kind: "guest" };
}

const watched = new WeakSet<Homeserver>();

/**
 * Makes local guests leave a room when its `m.room.guest_access` stops being `can_join` (the
 * spec's "Server behaviour"), whether the change was sent here or received over federation.
 * The guests leave themselves, as in Synapse, so no power level is needed. Runs after the
 * change committed; the server's close waits for leaves under way.
 */
export function watchGuestAccess(hs: Homeserver): void {
  if (watched.has(hs)) return;
  watched.add(hs);
  const running = new Set<Promise<void>>();
  hs.pipeline.subscribe((committed) => {
    if (!revokesGuestAccess(committed)) return;
    const task = removeGuests(hs, committed.stored.event.roomId)
      .catch((error) => console.error("removing guests from a room failed:", error))
      .finally(() => running.delete(task));
    running.add(task);
  });
  hs.addCloseHook(async () => {
    await Promise.all(running);
  });
}

function revokesGuestAccess(committed: CommittedEvent): boolean {
  const { event } = committed.stored;
  return committed.outcome === "accepted" && committed.pos !== null &&
    event.type === "m.room.guest_access" && event.stateKey === "" &&
    event.content.guest_access !== "can_join";
}

async function removeGuests(hs: Homeserver, roomId: string): Promise<void> {
  // The current state decides: a later event may have opened the room again.
  if (await guestsMayJoin(hs, roomId)) return;
  const members = await hs.rooms.currentStateEvents(roomId, "m.room.member");
  for (const member of members) {
    const userId = member.event.stateKey;
    const membership = member.event.content.membership;
    if (userId === undefined || serverNameOf(userId) !== hs.config.serverName) continue;
    if (membership !== "join" && membership !== "invite") continue;
    if (!(await isGuestUser(hs, userId))) continue;
    await leaveRoom(hs, roomId, userId).catch((error) =>
      console.error(`guest ${userId} could not leave ${roomId}:`, error)
    );
  }
}
