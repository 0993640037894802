/**
 * Erasure of a deactivated account's personal data (spec: `erase` in "Account deactivation"):
 * what `POST /account/deactivate` and the admin deactivation do with `erase: true`, after the
 * account is marked erased in the same commit that deactivates it.
 *
 * Removed here: every profile field (the profile becomes `{}`), the avatar's medium when this
 * server holds it and the user uploaded it, all account data (global and per room, with its
 * change stream: push rules, tags, `m.direct`, ignored users...), filters, key backups and
 * pending to-device messages. Devices and access tokens go in the deactivation commit; pushers,
 * cross-signing keys and the directory entry through the `userDeactivated` hooks. email
 * addresses (3PIDs) through the same hooks (`server/client/threepid.ts`).
 *
 * The user's events stay in the rooms (no redaction is sent, as the spec says); the erased mark
 * makes `server/rooms/visibility.ts` serve them redacted to users who were not joined when they
 * were sent. Other servers are not told.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { MediaRepository } from "../media/repository.ts";
import { getMedium } from "../media/media_store.ts";
import { deleteRange } from "../store/kv_batch.ts";
import { profileKeys } from "../store/profiles.ts";

/** Prefixes under `[prefix, userId]` whose records are the user's own data. */
const USER_PREFIXES = [
  "account_data",
  "account_data_pos",
  "filter",
  "e2ee_backup",
  "e2ee_backup_key",
  "e2ee_backup_counter",
  "e2ee_to_device",
  "e2ee_to_device_txn",
] as const;

/** Removes the personal data of an erased account (see the module text). */
export async function eraseUserData(hs: Homeserver, userId: string): Promise<void> {
  const profile = (await hs.kv.get<Record<string, unknown>>(profileKeys.profile(userId))).value;
  await hs.kv.set(profileKeys.profile(userId), {});
  const avatar = profile?.avatar_url;
  const prefix = `mxc://${hs.config.serverName}/`;
  if (typeof avatar === "string" && avatar.startsWith(prefix)) {
    const mediaId = avatar.slice(prefix.length);
    const medium = await getMedium(hs.kv, hs.config.serverName, mediaId);
    if (medium?.uploader === userId) {
      await MediaRepository.of(hs).delete(hs.config.serverName, mediaId);
    }
  }
  for (const name of USER_PREFIXES) await deleteRange(hs.kv, { prefix: [name, userId] });
  await hs.kv.delete(["presence", userId]);
}
