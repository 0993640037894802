/**
 * User profiles (spec: "Profiles"): display name, avatar URL, `m.tz` and custom fields of
 * local users.
 *
 * Key: `["profile", userId]` -> {@link ProfileRecord} (all fields in one value, which the spec
 * caps at 64 KiB). A user without a record has the default profile: display name = localpart.
 *
 * @module
 */

import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { accountKeys, type UserRecord } from "./kv_store.ts";
import { ContentionError, inTurn } from "./turns.ts";

/** A stored profile: field name -> value. */
export type ProfileRecord = Record<string, unknown>;

/** Largest profile in bytes of JSON (the spec's limit, with a margin for the KV value). */
export const MAX_PROFILE_BYTES = 60 * 1024;

/** Key builders of the profile store. */
export const profileKeys = {
  profile: (userId: string): Deno.KvKey => ["profile", userId],
  all: (): Deno.KvKey => ["profile"],
} as const;

/** The localpart of a user ID. */
export function localpartOf(userId: string): string {
  return userId.slice(1).split(":")[0];
}

/**
 * The profile of a local user, or null when the user does not exist. Users without a stored
 * profile get `{displayname: localpart}`.
 */
export async function getProfile(hs: Homeserver, userId: string): Promise<ProfileRecord | null> {
  const [profile, user] = await hs.kv.getMany<[ProfileRecord, UserRecord]>([
    profileKeys.profile(userId),
    accountKeys.user(userId),
  ]);
  if (profile.value) return profile.value;
  if (!user.value) return null;
  return { displayname: localpartOf(userId) };
}

/** The display name and avatar URL for a member event (null fields are left out). */
export async function memberProfile(
  hs: Homeserver,
  userId: string,
): Promise<{ displayname?: string; avatar_url?: string }> {
  const profile = await getProfile(hs, userId);
  const out: { displayname?: string; avatar_url?: string } = {};
  if (typeof profile?.displayname === "string") out.displayname = profile.displayname;
  if (typeof profile?.avatar_url === "string") out.avatar_url = profile.avatar_url;
  return out;
}

/**
 * Changes one field (`value` undefined deletes it) in one commit with a check, so concurrent
 * changes of different fields do not overwrite each other.
 *
 * @returns the profile before and after the change
 * @throws {MatrixError} M_PROFILE_TOO_LARGE when the profile would exceed its size limit
 */
export async function setProfileField(
  hs: Homeserver,
  userId: string,
  field: { key: string; value: unknown },
): Promise<{ before: ProfileRecord; after: ProfileRecord }> {
  return await inTurn(hs.kv, ["profile", userId], async () => {
    const key = profileKeys.profile(userId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await hs.kv.get<ProfileRecord>(key);
      const before = current.value ?? { displayname: localpartOf(userId) };
      const after = { ...before };
      if (field.value === undefined) delete after[field.key];
      else after[field.key] = field.value;
      if (new TextEncoder().encode(JSON.stringify(after)).byteLength > MAX_PROFILE_BYTES) {
        throw new MatrixError("M_PROFILE_TOO_LARGE", "The profile would exceed 64 KiB");
      }
      const result = await hs.kv.atomic().check(current).set(key, after).commit();
      if (result.ok) return { before, after };
    }
    throw new ContentionError(`profile update for ${userId}`);
  });
}

/** Writes the default profile of a new user (display name = localpart) unless one exists. */
export async function createDefaultProfile(hs: Homeserver, userId: string): Promise<void> {
  await hs.kv.atomic()
    .check({ key: profileKeys.profile(userId), versionstamp: null })
    .set(profileKeys.profile(userId), { displayname: localpartOf(userId) })
    .commit();
}

/** Every stored profile (for the user directory). */
export async function* allProfiles(
  hs: Homeserver,
): AsyncGenerator<{ userId: string; profile: ProfileRecord }> {
  for await (const entry of hs.kv.list<ProfileRecord>({ prefix: profileKeys.all() })) {
    yield { userId: entry.key[1] as string, profile: entry.value };
  }
}
