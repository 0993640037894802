/**
 * Application services in the room directory (spec: Application Service API, "Published room
 * directories"): each service keeps a list of rooms per network it bridges
 * (`PUT /directory/list/appservice/{networkId}/{roomId}`, routes.ts), which `/publicRooms`
 * lists for `third_party_instance_id` (`{appservice id}|{network_id}`) or, with
 * `include_all_networks`, beside the server's own list. Also: a service manages the aliases of
 * its namespace (it may delete them whoever created them).
 *
 * Keys: `["appservice", "room_list", asId, networkId, roomId]` -> `{since}`.
 *
 * @module
 */

import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { roomKeys } from "../rooms/schema.ts";
import { type AppserviceRegistration, matchesNamespace } from "./registration.ts";
import { parseInstanceId } from "./thirdparty.ts";

/** Whether the calling service (if any) has `alias` in its alias namespace. */
export function managesAlias(reg: AppserviceRegistration | undefined, alias: string): boolean {
  return reg !== undefined && matchesNamespace(reg, "aliases", alias);
}

/** The room IDs `/publicRooms` lists for its options. */
export async function directoryRoomIds(
  hs: Homeserver,
  options: { thirdPartyInstanceId?: string; includeAllNetworks?: boolean },
): Promise<string[]> {
  const out = new Set<string>();
  let prefix: Deno.KvKey | null = null;
  if (options.thirdPartyInstanceId !== undefined) {
    const parsed = parseInstanceId(options.thirdPartyInstanceId);
    if (!parsed) {
      throw invalidParam(
        "'third_party_instance_id' is not an instance ID from /thirdparty/protocols",
      );
    }
    prefix = ["appservice", "room_list", parsed.appserviceId, parsed.networkId];
  } else {
    for await (const entry of hs.kv.list({ prefix: roomKeys.publicRooms() })) {
      out.add(entry.key[1] as string);
    }
    if (options.includeAllNetworks) prefix = ["appservice", "room_list"];
  }
  if (prefix !== null) {
    for await (const entry of hs.kv.list({ prefix })) {
      const roomId = entry.key[4] as string;
      if (await hs.rooms.room(roomId)) out.add(roomId);
    }
  }
  return [...out];
}
