/**
 * Profiles (spec: "Profiles"): `GET /v3/profile/{userId}`, `GET|PUT|DELETE
 * /v3/profile/{userId}/{keyName}` for `displayname`, `avatar_url`, `m.tz` and namespaced custom
 * fields. A new account gets the display name = its localpart (the `userRegistered` hook).
 * Changes of the display name or avatar are propagated into the user's joined rooms as new
 * `m.room.member` events by {@link propagateProfile}. Profiles of other servers' users are asked
 * of their server over federation (`server/federation/query_routes.ts`, cached).
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import {
  badJson,
  forbidden,
  invalidParam,
  MatrixError,
  missingParam,
  notFound,
} from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { utf8Length } from "../http_util.ts";
import { remoteProfile } from "../federation/query_routes.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import {
  createDefaultProfile,
  getProfile,
  type ProfileRecord,
  setProfileField,
} from "../store/profiles.ts";

/** Longest display name in bytes. */
export const MAX_DISPLAYNAME_BYTES = 256;

const KEY_GRAMMAR = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;

/** Something that sends the new member events after a profile change (set by the rooms code). */
export type ProfilePropagator = (
  hs: Homeserver,
  userId: string,
  profile: { displayname?: string; avatar_url?: string },
) => Promise<void>;

const propagators = new WeakMap<Homeserver, ProfilePropagator>();

/** Installs the function that updates member events after a profile change. */
export function setProfilePropagator(hs: Homeserver, propagator: ProfilePropagator): void {
  propagators.set(hs, propagator);
}

/** Sends updated member events for a changed display name or avatar, if rooms are wired up. */
export async function propagateProfile(
  hs: Homeserver,
  userId: string,
  profile: ProfileRecord,
): Promise<void> {
  const propagator = propagators.get(hs);
  if (!propagator) return;
  const fields: { displayname?: string; avatar_url?: string } = {};
  if (typeof profile.displayname === "string") fields.displayname = profile.displayname;
  if (typeof profile.avatar_url === "string") fields.avatar_url = profile.avatar_url;
  await propagator(hs, userId, fields);
}

function checkKeyName(keyName: string): void {
  if (utf8Length(keyName) > 255) {
    throw new MatrixError("M_KEY_TOO_LARGE", "Profile keys are at most 255 bytes");
  }
  if (!KEY_GRAMMAR.test(keyName)) throw invalidParam(`Invalid profile key '${keyName}'`);
}

function checkValue(keyName: string, value: unknown): void {
  if (keyName === "displayname") {
    if (value !== null && typeof value !== "string") {
      throw badJson("'displayname' must be a string");
    }
    if (typeof value === "string" && utf8Length(value) > MAX_DISPLAYNAME_BYTES) {
      throw badJson(`'displayname' must be at most ${MAX_DISPLAYNAME_BYTES} bytes`);
    }
  } else if (keyName === "avatar_url") {
    if (
      value !== null &&
      (typeof value !== "string" || (value !== "" && !/^mxc:\/\/[^/]+\/[^/]+$/.test(value)))
    ) {
      throw badJson("'avatar_url' must be an mxc:// URI");
    }
  } else if (keyName === "m.tz" && typeof value !== "string") {
    throw badJson("'m.tz' must be a string");
  }
}

/**
 * The profile of any user: a local one from the store, another server's from that server
 * (`query_routes.ts`, cached) when this server federates.
 *
 * @throws {MatrixError} 404 M_NOT_FOUND for an unknown user, 502 M_UNKNOWN when the user's
 *   server cannot be reached
 */
export async function anyProfile(hs: Homeserver, userId: string): Promise<ProfileRecord> {
  if (serverNameOf(userId) !== hs.config.serverName && hs.config.federation.enabled) {
    return await remoteProfile(hs, userId);
  }
  const profile = await getProfile(hs, userId);
  if (profile === null) throw notFound("Profile not found");
  return profile;
}

/** Routes of the profile API. */
export function profileRoutes(hs: Homeserver): Hono<AppEnv> {
  hs.addAccountHooks({ userRegistered: (userId) => createDefaultProfile(hs, userId) });
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  const base = "/_matrix/client/v3/profile/:userId";

  app.get(base, async (c) => c.json(await anyProfile(hs, c.req.param("userId"))));

  app.get(`${base}/:keyName`, async (c) => {
    const keyName = c.req.param("keyName");
    const profile = await anyProfile(hs, c.req.param("userId"));
    if (!Object.hasOwn(profile, keyName)) throw notFound(`The profile has no '${keyName}'`);
    return c.json({ [keyName]: profile[keyName] });
  });

  const change = async (
    userId: string,
    callerId: string,
    field: { key: string; value: unknown },
  ) => {
    if (userId !== callerId) throw forbidden("You can only change your own profile");
    const { before, after } = await setProfileField(hs, userId, field);
    if (
      (field.key === "displayname" || field.key === "avatar_url") &&
      before[field.key] !== after[field.key]
    ) {
      await propagateProfile(hs, userId, after);
    }
  };

  app.put(`${base}/:keyName`, auth, async (c) => {
    const keyName = c.req.param("keyName");
    checkKeyName(keyName);
    const body = await readBody(hs, c);
    if (!Object.hasOwn(body, keyName)) throw missingParam(keyName);
    checkValue(keyName, body[keyName]);
    await change(c.req.param("userId"), c.var.auth.userId, { key: keyName, value: body[keyName] });
    return c.json({});
  });

  app.delete(`${base}/:keyName`, auth, async (c) => {
    const keyName = c.req.param("keyName");
    checkKeyName(keyName);
    await change(c.req.param("userId"), c.var.auth.userId, { key: keyName, value: undefined });
    return c.json({});
  });

  return app;
}
