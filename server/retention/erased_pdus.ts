/**
 * Erasure over federation (spec: `erase` says servers which join after the erasure are served
 * redacted copies too): the messages of an erased local account are sent redacted, through
 * `/event`, `/backfill` and `/get_missing_events`, to a server that had no joined member in the
 * room when they were sent (Synapse's `filter_events_for_server` does the same). State events go
 * unchanged: other servers need them whole to check joins and state. A server that receives
 * such a copy sees its content hash fail and keeps the event redacted.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { redactPdu } from "../../federation/redaction.ts";
import type { JsonObject } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { getUser } from "../store/accounts.ts";

const MEMBER_PREFIX = `${"m.room.member".length}|m.room.member`;

/** Whether `server` had a joined member in the room in the state at the event. */
async function serverWasJoined(
  hs: Homeserver,
  stored: StoredEvent,
  server: string,
): Promise<boolean> {
  if (stored.meta.stateGroup === null) return false;
  const state = await hs.rooms.states.stateOf(stored.meta.stateGroup);
  const ids: string[] = [];
  for (const [key, eventId] of state) {
    if (!key.startsWith(MEMBER_PREFIX)) continue;
    if (serverNameOf(key.slice(MEMBER_PREFIX.length)) === server) ids.push(eventId);
  }
  const members = await hs.rooms.events(ids);
  return [...members.values()].some((m) => m.event.content.membership === "join");
}

/**
 * Replaces, in place, the PDUs (built by `federationPdu` from `events`, same order) of erased
 * local senders' messages by redacted copies when `origin` had no member joined at them.
 */
export async function redactErasedForServer(
  hs: Homeserver,
  events: readonly StoredEvent[],
  pdus: JsonObject[],
  origin: string,
): Promise<JsonObject[]> {
  const erased = new Map<string, boolean>();
  for (let i = 0; i < events.length; i++) {
    const stored = events[i];
    const { sender, stateKey } = stored.event;
    if (stateKey !== undefined || stored.meta.redactedBy !== null) continue;
    if (serverNameOf(sender) !== hs.config.serverName) continue;
    if (!erased.has(sender)) erased.set(sender, (await getUser(hs.kv, sender))?.erased === true);
    if (!erased.get(sender) || await serverWasJoined(hs, stored, origin)) continue;
    const out: JsonObject = { ...redactPdu(stored.event.pdu, stored.rules) };
    if (stored.rules.eventFormat === "v1") out.event_id = stored.event.eventId;
    delete out.unsigned;
    pdus[i] = out;
  }
  return pdus;
}
