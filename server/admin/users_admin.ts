/**
 * The user admin API in Synapse's paths and shapes (server admins only; every change audited):
 *
 * - `GET /_synapse/admin/v2/users`: the accounts, filtered, sorted and paged
 * - `GET|PUT /_synapse/admin/v2/users/{userId}`: one account; PUT creates (201) or modifies it
 * - `POST /_synapse/admin/v1/deactivate/{userId}` (`erase`)
 * - `POST /_synapse/admin/v1/reset_password/{userId}` (`new_password`, `logout_devices`)
 * - `GET|PUT /_synapse/admin/v1/users/{userId}/admin`
 * - `PUT /_synapse/admin/v1/suspend/{userId}` (`suspend`)
 * - `GET /_synapse/admin/v1/users/{userId}/joined_rooms`
 * - `GET /_synapse/admin/v1/username_available?username=`
 * - `GET /_synapse/admin/v1/server_version`: what admin tools ask first (no token needed, as in
 *   Synapse)
 *
 * Devices are in `user_devices_admin.ts`, whois in `server/client/admin_whois.ts`.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { hashPassword } from "../../crypto/password.ts";
import { badJson, invalidParam, MatrixError, missingParam } from "../errors.ts";
import {
  type JsonObject,
  optionalBoolean,
  optionalString,
  requiredString,
  utf8Length,
} from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody } from "../request_context.ts";
import { createUser, getUser, updateUser, userIdForLocalpart } from "../store/accounts.ts";
import { accountKeys, type UserRecord } from "../store/kv_store.ts";
import { localpartOf, profileKeys, type ProfileRecord } from "../store/profiles.ts";
import { moderated, setModeration } from "../client/moderation_check.ts";
import { checkNewPassword } from "../client/registration.ts";
import { MAX_DISPLAYNAME_BYTES } from "../client/profile.ts";
import { checkNotGuestLocalpart } from "../client/guests.ts";
import { SERVER_VERSION } from "../federation/version.ts";
import { auditAdminAction } from "./audit.ts";
import { adminOnly, booleanQuery, dirQuery, integerQuery, textQuery } from "./admin_common.ts";
import {
  deactivateUser,
  lastSeenTs,
  notAllowed,
  requireLocalAccount,
  requireLocalUserId,
  setPassword,
  setProfileByAdmin,
  userDetailsJson,
  userSummaryJson,
} from "./user_accounts.ts";

/** Most users one page holds. */
const MAX_LIMIT = 1000;

/** The sort keys of the user list (Synapse's). */
const ORDERS = [
  "name",
  "is_guest",
  "admin",
  "user_type",
  "deactivated",
  "shadow_banned",
  "displayname",
  "avatar_url",
  "creation_ts",
  "last_seen_ts",
  "locked",
  "suspended",
] as const;

type Row = Record<string, unknown> & { name: string };

function compareValues(a: unknown, b: unknown): number {
  // Nulls first, as in Synapse's SQL ordering ascending.
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "boolean") return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every account with its profile, as list rows. */
async function allUserRows(hs: Homeserver): Promise<Row[]> {
  const profiles = new Map<string, ProfileRecord>();
  for await (const entry of hs.kv.list<ProfileRecord>({ prefix: profileKeys.all() })) {
    profiles.set(entry.key[1] as string, entry.value);
  }
  const flags = await moderated(hs.kv);
  const rows: Row[] = [];
  for await (const entry of hs.kv.list<UserRecord>({ prefix: ["user"] })) {
    const user = entry.value;
    const profile = profiles.get(user.userId) ??
      (user.erased ? {} : { displayname: localpartOf(user.userId) });
    rows.push(
      userSummaryJson(user, {
        profile,
        moderation: flags.get(user.userId),
        lastSeenTs: null,
      }) as Row,
    );
  }
  return rows;
}

function readUserFilters(c: Context<AppEnv>) {
  const admins = c.req.query("admins");
  if (admins !== undefined && admins !== "true" && admins !== "false") {
    throw invalidParam("'admins' must be true or false");
  }
  return {
    userId: textQuery(c, "user_id", 255),
    name: textQuery(c, "name", 255),
    guests: booleanQuery(c, "guests", true),
    deactivated: booleanQuery(c, "deactivated", false),
    locked: booleanQuery(c, "locked", false),
    admins: admins === undefined ? undefined : admins === "true",
  };
}

/** Routes of the user admin API. */
export function usersAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const V1 = "/_synapse/admin/v1";
  const V2 = "/_synapse/admin/v2";

  app.get(`${V2}/users`, ...admin, async (c) => {
    const from = integerQuery(c, "from", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
    const limit = integerQuery(c, "limit", { min: 0, max: MAX_LIMIT, fallback: 100 });
    const orderBy = c.req.query("order_by") ?? "name";
    if (!(ORDERS as readonly string[]).includes(orderBy)) {
      throw invalidParam(`'order_by' must be one of ${ORDERS.join(", ")}`);
    }
    const dir = dirQuery(c, "f");
    const filters = readUserFilters(c);
    textQuery(c, "not_user_type", 255); // user types are not kept: every type filter matches
    let rows = (await allUserRows(hs)).filter((row) =>
      (filters.guests || !row.is_guest) &&
      (filters.deactivated || !row.deactivated) &&
      (filters.locked || !row.locked) &&
      (filters.admins === undefined || row.admin === filters.admins) &&
      (filters.userId === undefined || row.name.includes(filters.userId)) &&
      (filters.name === undefined ||
        localpartOf(row.name).includes(filters.name.toLowerCase()) ||
        (typeof row.displayname === "string" &&
          row.displayname.toLowerCase().includes(filters.name.toLowerCase())))
    );
    if (orderBy === "last_seen_ts") {
      for (const row of rows) row.last_seen_ts = await lastSeenTs(hs, row.name);
    }
    rows.sort((a, b) => compareValues(a[orderBy], b[orderBy]) || compareValues(a.name, b.name));
    if (dir === "b") rows.reverse();
    const total = rows.length;
    rows = rows.slice(from, from + limit);
    if (orderBy !== "last_seen_ts") {
      for (const row of rows) row.last_seen_ts = await lastSeenTs(hs, row.name);
    }
    return c.json({
      users: rows,
      total,
      ...(from + rows.length < total ? { next_token: String(from + rows.length) } : {}),
    });
  });

  app.get(`${V2}/users/:userId`, ...admin, async (c) => {
    const user = await requireLocalAccount(hs, c.req.param("userId"));
    return c.json(await userDetailsJson(hs, user));
  });

  app.put(`${V2}/users/:userId`, ...admin, async (c) => {
    const userId = requireLocalUserId(hs, c.req.param("userId"));
    const changes = readUserChanges(await readBody(hs, c));
    const existing = await getUser(hs.kv, userId);
    const caller = c.var.auth.userId;
    if (userId === caller && changes.admin === false) {
      throw notAllowed("You may not demote yourself.");
    }
    if (userId === caller && (changes.deactivated === true || changes.locked === true)) {
      throw notAllowed("You may not deactivate or lock your own account.");
    }
    if (!existing) {
      const localpart = localpartOf(userId);
      userIdForLocalpart(localpart, hs.config.serverName);
      checkNotGuestLocalpart(localpart);
      const passwordHash = changes.password === undefined
        ? null
        : await hashPassword(changes.password, { cost: hs.passwordCost });
      await createUser(hs.kv, { userId, passwordHash, admin: changes.admin ?? false });
      await hs.notify("userRegistered", userId);
      await applyProfileAndFlags(hs, userId, changes);
      if (changes.deactivated === true) await deactivateUser(hs, userId, { erase: false });
      await auditAdminAction(hs, c, "user.create", {
        target: userId,
        details: auditDetails(changes),
      });
      const created = await requireLocalAccount(hs, userId);
      return c.json(await userDetailsJson(hs, created), 201);
    }
    if (changes.deactivated === false && existing.deactivated && changes.password === undefined) {
      throw notAllowed("Must provide a password to re-activate an account.");
    }
    if (changes.deactivated === false && existing.deactivated) {
      await setPassword(hs, userId, {
        password: changes.password!,
        logoutDevices: true,
        reactivate: true,
      });
    } else if (changes.password !== undefined) {
      await setPassword(hs, userId, {
        password: changes.password,
        logoutDevices: changes.logoutDevices,
      });
    }
    if (changes.admin !== undefined && changes.admin !== existing.admin) {
      await updateUser(hs.kv, userId, (user) => ({ ...user, admin: changes.admin! }));
    }
    await applyProfileAndFlags(hs, userId, changes);
    if (changes.deactivated === true && !existing.deactivated) {
      await deactivateUser(hs, userId, { erase: false });
    }
    await auditAdminAction(hs, c, "user.modify", {
      target: userId,
      details: auditDetails(changes),
    });
    return c.json(await userDetailsJson(hs, await requireLocalAccount(hs, userId)));
  });

  app.post(`${V1}/deactivate/:userId`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    await requireLocalAccount(hs, userId);
    const body = await readBody(hs, c, { allowEmpty: true });
    const erase = optionalBoolean(body, "erase") ?? false;
    if (userId === c.var.auth.userId) {
      throw notAllowed("You may not deactivate your own account here.");
    }
    const result = await deactivateUser(hs, userId, { erase });
    await auditAdminAction(hs, c, "user.deactivate", {
      target: userId,
      details: {
        erase,
        devices: result.devices,
        rooms_left: result.roomsLeft,
        rooms_failed: result.roomsFailed,
      },
    });
    return c.json({ id_server_unbind_result: "success" });
  });

  app.post(`${V1}/reset_password/:userId`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    await requireLocalAccount(hs, userId);
    const body = await readBody(hs, c);
    const password = requiredString(body, "new_password");
    checkNewPassword(password);
    const logoutDevices = optionalBoolean(body, "logout_devices") ?? true;
    await setPassword(hs, userId, { password, logoutDevices });
    await auditAdminAction(hs, c, "user.reset_password", {
      target: userId,
      details: { logout_devices: logoutDevices },
    });
    return c.json({});
  });

  app.get(`${V1}/users/:userId/admin`, ...admin, async (c) => {
    const user = await requireLocalAccount(hs, c.req.param("userId"));
    return c.json({ admin: user.admin });
  });

  app.put(`${V1}/users/:userId/admin`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    const user = await requireLocalAccount(hs, userId);
    const body = await readBody(hs, c);
    if (body.admin === undefined) throw missingParam("admin");
    const value = optionalBoolean(body, "admin")!;
    if (userId === c.var.auth.userId && !value) throw notAllowed("You may not demote yourself.");
    if (user.deactivated && value) throw notAllowed("A deactivated account cannot be an admin.");
    await updateUser(hs.kv, userId, (record) => ({ ...record, admin: value }));
    await auditAdminAction(hs, c, "user.set_admin", { target: userId, details: { admin: value } });
    return c.json({});
  });

  app.put(`${V1}/suspend/:userId`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    const user = await requireLocalAccount(hs, userId);
    const body = await readBody(hs, c);
    if (body.suspend === undefined) throw missingParam("suspend");
    const suspend = optionalBoolean(body, "suspend")!;
    if (user.deactivated) throw notAllowed("The account is deactivated.");
    if (userId === c.var.auth.userId && suspend) {
      throw notAllowed("You may not suspend your own account.");
    }
    await setModeration(hs, userId, { suspended: suspend });
    await auditAdminAction(hs, c, "user.suspend", { target: userId, details: { suspend } });
    return c.json({ [`user_${userId}_suspended`]: suspend });
  });

  app.get(`${V1}/users/:userId/joined_rooms`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    const rooms = await hs.rooms.joinedRooms(userId);
    return c.json({ joined_rooms: rooms, total: rooms.length });
  });

  app.get(`${V1}/server_version`, (c) => c.json({ server_version: `gemeng ${SERVER_VERSION}` }));

  app.get(`${V1}/username_available`, ...admin, async (c) => {
    const username = textQuery(c, "username", 255);
    if (username === undefined) throw missingParam("username");
    const userId = userIdForLocalpart(username.toLowerCase(), hs.config.serverName);
    if ((await hs.kv.get(accountKeys.user(userId))).versionstamp !== null) {
      throw new MatrixError("M_USER_IN_USE", "User ID already taken.");
    }
    return c.json({ available: true });
  });

  return app;
}

/** The fields of a create-or-modify request, checked before anything changes. */
interface UserChanges {
  password?: string;
  logoutDevices: boolean;
  displayname?: string | null;
  avatarUrl?: string | null;
  admin?: boolean;
  deactivated?: boolean;
  locked?: boolean;
}

function readUserChanges(body: JsonObject): UserChanges {
  if (body.password_hash !== undefined) {
    throw invalidParam("'password_hash' is not supported: send 'password'");
  }
  for (const field of ["threepids", "external_ids"]) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw badJson(`'${field}' must be an array`);
    if (value.length > 0) {
      throw invalidParam(`'${field}' are not stored by this server; send an empty list`);
    }
  }
  if (body.user_type !== undefined && body.user_type !== null) {
    throw invalidParam("'user_type' is not supported; send null");
  }
  const password = optionalString(body, "password");
  if (password !== undefined) checkNewPassword(password);
  const changes: UserChanges = {
    password,
    logoutDevices: optionalBoolean(body, "logout_devices") ?? true,
    admin: optionalBoolean(body, "admin"),
    deactivated: optionalBoolean(body, "deactivated"),
    locked: optionalBoolean(body, "locked"),
  };
  if (Object.hasOwn(body, "displayname")) {
    const name = body.displayname;
    if (name !== null && typeof name !== "string") badJsonThrow("'displayname' must be a string");
    if (typeof name === "string" && utf8Length(name) > MAX_DISPLAYNAME_BYTES) {
      badJsonThrow(`'displayname' must be at most ${MAX_DISPLAYNAME_BYTES} bytes`);
    }
    changes.displayname = name as string | null;
  }
  if (Object.hasOwn(body, "avatar_url")) {
    const url = body.avatar_url;
    if (
      url !== null &&
      (typeof url !== "string" ||
        (url !== "" && (!/^mxc:\/\/[^/]+\/[^/]+$/.test(url) || utf8Length(url) > 1024)))
    ) {
      badJsonThrow("'avatar_url' must be an mxc:// URI");
    }
    changes.avatarUrl = url as string | null;
  }
  return changes;
}

function badJsonThrow(message: string): never {
  throw badJson(message);
}

async function applyProfileAndFlags(hs: Homeserver, userId: string, changes: UserChanges) {
  if (changes.displayname !== undefined) {
    await setProfileByAdmin(hs, userId, { key: "displayname", value: changes.displayname });
  }
  if (changes.avatarUrl !== undefined) {
    await setProfileByAdmin(hs, userId, { key: "avatar_url", value: changes.avatarUrl });
  }
  if (changes.locked !== undefined) {
    const current = (await moderated(hs.kv)).get(userId);
    if ((current?.locked ?? false) !== changes.locked) {
      await setModeration(hs, userId, { locked: changes.locked });
    }
  }
}

/** What the audit log keeps of a create-or-modify request: field names, never the password. */
function auditDetails(changes: UserChanges): Record<string, unknown> {
  const fields = [
    changes.password !== undefined ? "password" : null,
    changes.displayname !== undefined ? "displayname" : null,
    changes.avatarUrl !== undefined ? "avatar_url" : null,
  ].filter((field) => field !== null);
  return {
    fields,
    ...(changes.admin !== undefined ? { admin: changes.admin } : {}),
    ...(changes.deactivated !== undefined ? { deactivated: changes.deactivated } : {}),
    ...(changes.locked !== undefined ? { locked: changes.locked } : {}),
    ...(changes.password !== undefined ? { logout_devices: changes.logoutDevices } : {}),
  };
}
