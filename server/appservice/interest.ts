/**
 * Which application services an event interests (spec: Application Service API,
 * "Registration"): a service wants every event of a room whose ID matches its room namespace,
 * of a room with an alias in its alias namespace, or of a room where one of its users (its
 * sender or a local user in its user namespace) is a member; and events whose sender or target
 * (the state key of a membership event) is one of its users.
 *
 * Membership comes from the notifier's in-memory index of local members (joined, invited or
 * knocking); aliases from the room's local aliases and its canonical alias event.
 *
 * @module
 */

import type { RoomEvent } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import { matchesNamespace, ownsUser } from "./registration.ts";
import type { AppserviceRegistration } from "./registration.ts";

/**
 * The services (of `services`) that `event` interests, in their order. `members` reads the
 * room's local members from KV instead of the notifier's index (at start-up, before the index
 * is rebuilt).
 */
export async function interestedServices(
  hs: Homeserver,
  services: readonly AppserviceRegistration[],
  event: RoomEvent,
  options: { members?: (roomId: string) => Promise<Iterable<string>> } = {},
): Promise<AppserviceRegistration[]> {
  const serverName = hs.config.serverName;
  const isLocal = (userId: string) => userId.endsWith(`:${serverName}`);
  const members = options.members
    ? [...await options.members(event.roomId)]
    : hs.notifier.listenersOf(event.roomId);
  const target = event.type === "m.room.member" ? event.stateKey : undefined;
  let aliases: string[] | null = null;
  const out: AppserviceRegistration[] = [];
  for (const reg of services) {
    const owns = (userId: string | undefined) =>
      userId !== undefined && isLocal(userId) && ownsUser(reg, userId);
    let interested = matchesNamespace(reg, "rooms", event.roomId) || owns(event.sender) ||
      owns(target) || [...members].some(owns);
    if (!interested && reg.namespaces.aliases.length > 0) {
      aliases ??= await roomAliases(hs, event);
      interested = aliases.some((alias) => matchesNamespace(reg, "aliases", alias));
    }
    if (interested) out.push(reg);
  }
  return out;
}

/** The room's local aliases and the aliases its canonical alias event advertises. */
async function roomAliases(hs: Homeserver, event: RoomEvent): Promise<string[]> {
  const aliases = await hs.rooms.aliasesOf(event.roomId);
  const canonical = event.type === "m.room.canonical_alias" && event.stateKey === ""
    ? event.content
    : (await hs.rooms.currentStateEvent(event.roomId, "m.room.canonical_alias", ""))?.event
      .content;
  if (canonical) {
    if (typeof canonical.alias === "string") aliases.push(canonical.alias);
    if (Array.isArray(canonical.alt_aliases)) {
      for (const alias of canonical.alt_aliases) if (typeof alias === "string") aliases.push(alias);
    }
  }
  return aliases;
}
