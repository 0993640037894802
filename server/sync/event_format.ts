/**
 * The last step of formatting a sync event for the filter (spec: "Filtering"): `event_format`
 * (`client`, the default, or `federation`: the event as it travels between servers, with its
 * `event_id` and the client's `unsigned` added, as Synapse does) and then `event_fields`.
 *
 * @module
 */

import { federationPdu } from "../federation/room_events.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { projectEventFields, type SyncFilter } from "./filter.ts";
import type { ClientEvent } from "./room_source.ts";

type Json = Record<string, unknown>;

/**
 * One event of a room section as the filter asks for it: `client` drops `room_id` (the room
 * is the section's key), `federation` gives the PDU (redacted if it was).
 */
export function formatForFilter(
  filter: SyncFilter,
  event: ClientEvent,
  stored: StoredEvent,
): Json {
  if (filter.eventFormat === "federation") {
    const out: Json = { ...federationPdu(stored), event_id: event.event_id };
    if (event.unsigned !== undefined) out.unsigned = event.unsigned;
    return projectEventFields(out, filter.eventFields);
  }
  const { room_id: _roomId, ...rest } = event;
  return projectEventFields(rest, filter.eventFields);
}
