/**
 * The body of a Push Gateway API request (spec: Push Gateway API, `POST
 * /_matrix/push/v1/notify`): the event's fields (or only its ID with `format: event_id_only`,
 * which keeps message contents off the gateway), the unread counts, the priority, and the one
 * device (pusher) it is for, with the pusher's `data` minus its `url`.
 *
 * @module
 */

import type { JsonObject } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StateMap } from "../../federation/types.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { pushViewOf } from "../sync/unread_counts.ts";
import { stateAtEvent } from "./notifications.ts";
import type { StoredPusher } from "./pusher_store.ts";
import type { PushQueueItem } from "./push_queue.ts";

/** Contents larger than this (bytes of JSON) are left out of the notification. */
export const MAX_CONTENT_BYTES = 4096;

/** The `devices` entry of a pusher. */
export function deviceOf(stored: StoredPusher, tweaks: Record<string, unknown>): JsonObject {
  const data = { ...(stored.pusher.data as JsonObject ?? {}) };
  delete data.url;
  return {
    app_id: stored.pusher.app_id,
    pushkey: stored.pusher.pushkey,
    pushkey_ts: Math.floor(stored.ts / 1000),
    data,
    tweaks,
  };
}

async function stateContent(
  hs: Homeserver,
  state: StateMap | null,
  type: string,
  stateKey = "",
): Promise<Record<string, unknown> | null> {
  if (!state) return null;
  return (await hs.rooms.stateEventIn(state, type, stateKey))?.event.content ?? null;
}

/** Builds the `notification` object for one queued item. */
export async function notificationBody(
  hs: Homeserver,
  where: { userId: string; pusher: StoredPusher; item: PushQueueItem; stored: StoredEvent },
  counts: { unread: number },
): Promise<{ notification: JsonObject }> {
  const { userId, pusher, item, stored } = where;
  const notification: JsonObject = {
    event_id: item.eventId,
    room_id: item.roomId,
    prio: item.prio,
    devices: [deviceOf(pusher, item.tweaks)],
  };
  // Counts of zero are left out (the spec's rule); an empty object says "no unread".
  notification.counts = counts.unread > 0 ? { unread: counts.unread } : {};
  const data = pusher.pusher.data as JsonObject | undefined;
  if (data?.format === "event_id_only") return { notification };

  const view = pushViewOf(stored);
  // The event ID's older name, which gateways written before `event_id` still read.
  notification.id = item.eventId;
  notification.type = view.type;
  notification.sender = view.sender;
  const content = view.content;
  if (new TextEncoder().encode(JSON.stringify(content)).byteLength <= MAX_CONTENT_BYTES) {
    notification.content = content;
  }
  if (view.type === "m.room.member" && view.state_key !== undefined) {
    notification.user_is_target = view.state_key === userId;
    if (typeof content.membership === "string") notification.membership = content.membership;
  }
  // The room as it was at the event (as Synapse names it), from the state cache.
  const state = (await stateAtEvent(hs, stored))?.state ?? null;
  const [senderMember, name, alias] = await Promise.all([
    stateContent(hs, state, "m.room.member", view.sender),
    stateContent(hs, state, "m.room.name"),
    stateContent(hs, state, "m.room.canonical_alias"),
  ]);
  if (typeof senderMember?.displayname === "string") {
    notification.sender_display_name = senderMember.displayname;
  }
  if (typeof name?.name === "string" && name.name !== "") notification.room_name = name.name;
  if (typeof alias?.alias === "string") notification.room_alias = alias.alias;
  return { notification };
}
