/**
 * The two states a room's state section is the difference of (spec: "Syncing"): the state it
 * leads to, and the state at `since` that the client already has. `state` leads to the start
 * of the timeline; `state_after` (spec v1.16, `use_state_after`) to its end, and since the
 * client then takes no state from the timeline, every change of the range is in it, those the
 * timeline shows included. With no `since` (an initial sync, a newly joined room, `full_state`)
 * everything counts as changed.
 *
 * @module
 */

import type { StateMap } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { RoomHead } from "../rooms/schema.ts";
import {
  stateAtPosition,
  stateBeforeEvent,
  type StateRef,
  type TimelineItem,
} from "./room_reader.ts";

/** The state a section leads to, and the state at `since` (null: send everything). */
export interface StateEnds {
  target: StateMap;
  since: StateMap | null;
}

/** Where a room's section is: the room, its head, and `since` (null: send everything). */
interface SectionPlace {
  roomId: string;
  head: RoomHead | null | undefined;
  since: number | null;
}

/** The ends of a `state` section: the state at the start of the timeline, and at `since`. */
export async function stateBeforeEnds(
  hs: Homeserver,
  where: SectionPlace & {
    page: { events: readonly TimelineItem[]; limited: boolean };
    /** The position of the timeline's first event (the range's end + 1 when it is empty). */
    firstPos: number;
  },
): Promise<StateEnds> {
  const { roomId, head, page } = where;
  const start: StateRef =
    (page.events.length > 0 ? await stateBeforeEvent(hs, page.events[0].stored) : null) ??
      await stateAtPosition(hs, roomId, { pos: where.firstPos - 1, head });
  if (where.since === null) return { target: start.state, since: null };
  // Not limited: the timeline's own state events cover the range, so only lazily loaded
  // members are added (the since state = the start state marks nothing as changed), unless
  // an event of the range came on a side branch (federation): then the room's state may have
  // moved other than by the timeline's events.
  const branched = page.events.some((e) =>
    e.stored.meta.roomStateBefore !== undefined || e.stored.meta.roomStateAfter !== undefined
  );
  const since = page.limited || branched
    ? (await stateAtPosition(hs, roomId, { pos: where.since, head })).state
    : start.state;
  return { target: start.state, since };
}

/**
 * The ends of a `state_after` section: the state at the end of the timeline (`upto`: the
 * range's end, or the user's leave), and at `since`. When no state event came in between,
 * both are the same cached map and nothing is compared.
 */
export async function stateAfterEnds(
  hs: Homeserver,
  where: SectionPlace & { upto: number },
): Promise<StateEnds> {
  const { roomId, head } = where;
  const [end, since] = await Promise.all([
    stateAtPosition(hs, roomId, { pos: where.upto, head }),
    where.since === null ? null : stateAtPosition(hs, roomId, { pos: where.since, head }),
  ]);
  return { target: end.state, since: since?.state ?? null };
}
