/**
 * What the user admin API does to accounts, apart from HTTP: the Synapse-shaped view of a user,
 * deactivation (with erasure), reactivation and password resets. `users_admin.ts` calls these;
 * each one commits the account change first and then tells the account hooks (devices, keys,
 * pushers, user directory) as the client API does.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { hashPassword } from "../../crypto/password.ts";
import { invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { getUser } from "../store/accounts.ts";
import { deleteDevices, listDevices } from "../store/devices.ts";
import type { UserRecord } from "../store/kv_store.ts";
import { getProfile, setProfileField } from "../store/profiles.ts";
import { addUserUpdate } from "../client/account.ts";
import { moderated, type ModerationRecord } from "../client/moderation_check.ts";
import { propagateProfile } from "../client/profile.ts";
import { leaveRoom } from "../rooms/membership.ts";
import { eraseUserData } from "../retention/erasure.ts";
import { threepidsOf } from "../email/threepid_store.ts";

/** A user account as the admin API reads it. */
export type AdminUserRecord = UserRecord;

/**
 * Checks that `userId` is a user ID of this server.
 *
 * @throws {MatrixError} 400 M_INVALID_PARAM for another server's user
 */
export function requireLocalUserId(hs: Homeserver, userId: string): string {
  if (serverNameOf(userId) !== hs.config.serverName) {
    throw invalidParam("This endpoint can only be used with local users");
  }
  return userId;
}

/**
 * Reads an existing local account.
 *
 * @throws {MatrixError} 400 for another server's user, 404 M_NOT_FOUND for an unknown one
 */
export async function requireLocalAccount(
  hs: Homeserver,
  userId: string,
): Promise<AdminUserRecord> {
  requireLocalUserId(hs, userId);
  const user = await getUser(hs.kv, userId);
  if (!user) throw notFound("User not found");
  return user;
}

/** The latest `last_seen_ts` of the user's devices, or null without devices. */
export async function lastSeenTs(hs: Homeserver, userId: string): Promise<number | null> {
  let latest: number | null = null;
  for (const device of await listDevices(hs.kv, userId)) {
    if (latest === null || device.lastSeenTs > latest) latest = device.lastSeenTs;
  }
  return latest;
}

/** The fields of a user that both the list and the single-user answer carry. */
export function userSummaryJson(
  user: AdminUserRecord,
  extra: {
    profile: Record<string, unknown> | null;
    moderation: ModerationRecord | undefined;
    lastSeenTs: number | null;
  },
): Record<string, unknown> {
  const text = (value: unknown) => typeof value === "string" && value !== "" ? value : null;
  return {
    name: user.userId,
    is_guest: user.isGuest === true,
    admin: user.admin,
    user_type: null,
    deactivated: user.deactivated,
    erased: user.erased === true,
    shadow_banned: false,
    displayname: text(extra.profile?.displayname),
    avatar_url: text(extra.profile?.avatar_url),
    creation_ts: user.createdTs,
    last_seen_ts: extra.lastSeenTs,
    locked: extra.moderation?.locked ?? false,
    suspended: extra.moderation?.suspended ?? false,
  };
}

/**
 * `GET /_synapse/admin/v2/users/{userId}`: the summary plus the fields of the single-user
 * answer. `creation_ts` is in seconds here, as Synapse documents it (milliseconds in lists).
 */
export async function userDetailsJson(
  hs: Homeserver,
  user: AdminUserRecord,
): Promise<Record<string, unknown>> {
  const summary = userSummaryJson(user, {
    profile: await getProfile(hs, user.userId),
    moderation: (await moderated(hs.kv)).get(user.userId),
    lastSeenTs: await lastSeenTs(hs, user.userId),
  });
  return {
    ...summary,
    creation_ts: Math.floor(user.createdTs / 1000),
    threepids: await threepidsOf(hs.kv, user.userId),
    external_ids: [],
    appservice_id: null,
    consent_server_notice_sent: null,
    consent_version: null,
    consent_ts: null,
  };
}

/**
 * Sets a new password; with `logoutDevices` every device (and so every access token) goes in the
 * same commit. A deactivated account gets its password back only through reactivation.
 *
 * @throws {MatrixError} 404 for an unknown user
 */
export async function setPassword(
  hs: Homeserver,
  userId: string,
  options: { password: string; logoutDevices: boolean; reactivate?: boolean },
): Promise<void> {
  const passwordHash = await hashPassword(options.password, { cost: hs.passwordCost });
  const deleted = await deleteDevices(hs.kv, userId, {
    select: () => options.logoutDevices,
    prepare: async (op) => {
      await addUserUpdate(hs.kv, op, {
        userId,
        change: (user) => {
          if (user.deactivated && !options.reactivate) {
            throw invalidParam("The account is deactivated; reactivate it with a password");
          }
          const next: UserRecord = { ...user, passwordHash, deactivated: false };
          // A reactivated account is no longer erased (as in Synapse).
          if (options.reactivate) delete next.erased;
          return next;
        },
      });
    },
  });
  if (deleted.length > 0) await hs.notify("devicesDeleted", userId, deleted);
  // A reactivated account is announced again (its profile and directory entry come back).
  if (options.reactivate) await hs.notify("userRegistered", userId);
}

/** What a deactivation did. */
export interface DeactivationResult {
  devices: number;
  roomsLeft: number;
  roomsFailed: number;
}

/**
 * Deactivates an account as Synapse's admin API does: the account can no longer log in, every
 * device and token goes in the same commit, the hooks remove keys, pushers and the directory
 * entry, and the user leaves every room (rejecting invites, retracting knocks). With `erase`, the
 * account is marked erased and its personal data removed (`server/retention/erasure.ts`).
 * `POST /account/deactivate` uses it too, passing its completed UIA session to delete.
 *
 * @throws {MatrixError} 404 for an unknown user
 */
export async function deactivateUser(
  hs: Homeserver,
  userId: string,
  options: { erase: boolean; uiaSessionKey?: Deno.KvKey },
): Promise<DeactivationResult> {
  const deleted = await deleteDevices(hs.kv, userId, {
    prepare: async (op) => {
      await addUserUpdate(hs.kv, op, {
        userId,
        change: (user) => ({
          ...user,
          deactivated: true,
          passwordHash: null,
          ...(options.erase ? { erased: true } : {}),
        }),
      });
      // The user's own request: its completed UIA session is spent in the same commit.
      if (options.uiaSessionKey) op.delete(options.uiaSessionKey);
    },
  });
  await hs.notify("devicesDeleted", userId, deleted);
  await hs.notify("userDeactivated", userId);
  // Before leaving the rooms, so the leave events carry no profile either.
  if (options.erase) await eraseUserData(hs, userId);
  let roomsLeft = 0, roomsFailed = 0;
  for (const membership of await hs.rooms.roomsOfUser(userId)) {
    if (!["join", "invite", "knock"].includes(membership.membership)) continue;
    try {
      await leaveRoom(hs, membership.roomId, userId);
      roomsLeft++;
    } catch (err) {
      // One room refusing (an unreachable server for a remote invite) must not stop the rest.
      roomsFailed++;
      console.warn(`deactivation of ${userId}: leaving ${membership.roomId} failed:`, err);
    }
  }
  return { devices: deleted.length, roomsLeft, roomsFailed };
}

/**
 * Changes the display name or avatar of a user for an admin; the member events of the user's
 * rooms follow, as after the user's own change.
 */
export async function setProfileByAdmin(
  hs: Homeserver,
  userId: string,
  field: { key: "displayname" | "avatar_url"; value: string | null },
): Promise<void> {
  const { before, after } = await setProfileField(hs, userId, {
    key: field.key,
    value: field.value === null || field.value === "" ? undefined : field.value,
  });
  if (before[field.key] !== after[field.key]) await propagateProfile(hs, userId, after);
}

/** A request the account's state does not allow, as Synapse answers it (400 M_UNKNOWN). */
export function notAllowed(message: string): MatrixError {
  return new MatrixError("M_UNKNOWN", message);
}
