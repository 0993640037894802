/**
 * Rebuilds the notifier's room -> local listeners index from the membership records at
 * start-up (afterwards the pipeline keeps it current).
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Notifier } from "../notifier.ts";
import type { MembershipRecord } from "./schema.ts";

/** Tells `notifier` every local user's current membership in every room. */
export async function rebuildMembershipIndex(
  kv: Deno.Kv,
  notifier: Notifier,
  serverName: string,
): Promise<void> {
  for await (const entry of kv.list<MembershipRecord>({ prefix: ["user_room"] })) {
    const record = entry.value;
    if (serverNameOf(record.userId) !== serverName) continue;
    notifier.setMembership(record.roomId, record.userId, record.membership);
  }
}
