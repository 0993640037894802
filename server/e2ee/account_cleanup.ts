/**
 * What a deactivated account leaves behind in the E2EE store: nothing. Its devices' keys are
 * deleted with the devices (the `devicesDeleted` hook); this removes the cross-signing keys,
 * the signatures the user made on others' keys and the key backups, and tells the users who
 * share rooms with it through the device-list stream.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { USAGES } from "./cross_signing.ts";
import { deleteRange } from "../store/kv_batch.ts";
import { addDeviceListChange, wakeDeviceListWatchers } from "./device_lists.ts";
import { commitAtPosition } from "./positions.ts";
import { e2eeKeys } from "./schema.ts";
import { ContentionError } from "../store/turns.ts";

/** Deletes a deactivated user's cross-signing keys, signatures and key backups. */
export async function deleteUserCrossSigning(hs: Homeserver, userId: string): Promise<void> {
  const { kv } = hs;
  const pos = await commitAtPosition(hs, async (op, pos) => {
    for (const usage of USAGES) op.delete(e2eeKeys.crossSigningKey(userId, usage));
    await addDeviceListChange(kv, op, { userId, pos, crossSigning: true });
  });
  if (pos === null) throw new ContentionError("cross-signing deletion");
  wakeDeviceListWatchers(hs, userId, pos);
  await deleteRange(kv, { prefix: e2eeKeys.crossUserSignaturesBy(userId) });
  await deleteRange(kv, { prefix: e2eeKeys.backupVersionsOf(userId) });
  await deleteRange(kv, { prefix: e2eeKeys.backupSessionsOfUser(userId) });
}
