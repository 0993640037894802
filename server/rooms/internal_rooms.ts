/**
 * Internal rooms: the state event `lu.gemeng.internal` (state key "") with
 * `{"internal": true}` keeps a room to the users of the server that created it. While it is
 * set, this server refuses:
 *
 * - invites of users of other servers sent by its own users (`/invite`, `createRoom`);
 * - `make_join` / `send_join` and `make_knock` / `send_knock` from other servers;
 * - invites from other servers into the room (`PUT /invite`, when this server knows the room as
 *   internal, or the invite's stripped state says so and this server is not the room's);
 * - its own users setting the event in a room created on another server (the setting names the
 *   creator's server, so it belongs to that server's users);
 * - and it soft-fails such joins, invites and knocks arriving in transactions from a server
 *   already in the room (they stay in the graph but change no state here).
 *
 * Why a state event and not the spec's `m.federate: false`: `m.federate` lives in the create
 * event and can never change, and it is enforced by the auth rules of every server, so a room
 * created with it can never let a partner in later. `lu.gemeng.internal` is an ordinary state
 * event: moderators switch it on and off (`state_default` power), it shows in the room's state
 * for clients, and the servers that know it enforce it. The "home" server is the server of the
 * create event's sender, as for `m.federate`.
 *
 * Members of other servers who joined before the room became internal stay until removed.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { forbidden } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StateReader } from "./pipeline_types.ts";

/** The state event type of the setting. */
export const INTERNAL_ROOM_TYPE = "lu.gemeng.internal";

/** Whether a setting's content makes the room internal. */
export function isInternalContent(content: unknown): boolean {
  return typeof content === "object" && content !== null &&
    (content as JsonObject).internal === true;
}

/**
 * The server a room is internal to, in the state `state` reads, or null when it is not internal.
 */
export async function internalHomeIn(state: StateReader): Promise<string | null> {
  const setting = await state(INTERNAL_ROOM_TYPE, "");
  if (!setting || !isInternalContent(setting.event.content)) return null;
  const create = await state("m.room.create", "");
  return create ? serverNameOf(create.event.sender) ?? null : null;
}

/** The server a room is internal to now, or null when it is not internal (or not known). */
export function internalHome(hs: Homeserver, roomId: string): Promise<string | null> {
  return internalHomeIn((type, stateKey) => hs.rooms.currentStateEvent(roomId, type, stateKey));
}

/**
 * The checks of a local user's event (run by `policy.ts` in the room's lock): the setting only
 * in rooms created here, and no membership of another server's user while the room is internal.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN
 */
export async function checkInternalLocalEvent(
  template: { type: string; stateKey?: string; content: Record<string, unknown> },
  options: { state: StateReader; serverName: string },
): Promise<void> {
  if (template.type === INTERNAL_ROOM_TYPE) {
    const create = await options.state("m.room.create", "");
    const home = create ? serverNameOf(create.event.sender) : undefined;
    if (home !== options.serverName) {
      throw forbidden(`Only users of ${home ?? "the room's server"} can make this room internal`);
    }
    return;
  }
  if (template.type !== "m.room.member" || template.stateKey === undefined) return;
  const membership = template.content.membership;
  if (membership !== "invite" && membership !== "join" && membership !== "knock") return;
  const home = await internalHomeIn(options.state);
  if (home !== null && serverNameOf(template.stateKey) !== home) {
    throw forbidden(internalRefusal(home, membership));
  }
}

/**
 * Whether a remote event brings a user of another server into an internal room (a join, invite
 * or knock): the pipeline soft-fails it, so it stays in the graph but changes no state here.
 */
export async function foreignMembership(
  event: { type: string; stateKey?: string; content: Record<string, unknown> },
  state: StateReader,
): Promise<boolean> {
  if (event.type !== "m.room.member" || event.stateKey === undefined) return false;
  const membership = event.content.membership;
  if (membership !== "invite" && membership !== "join" && membership !== "knock") return false;
  const home = await internalHomeIn(state);
  return home !== null && serverNameOf(event.stateKey) !== home;
}

function internalRefusal(home: string, action: "join" | "invite" | "knock"): string {
  const verb = action === "invite" ? "be invited to" : action === "knock" ? "knock on" : "join";
  return `This room is internal to ${home}: users of other servers cannot ${verb} it`;
}

/**
 * Refuses a join, knock or invite of `userId` into an internal room of another server's users.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN
 */
export async function refuseForeignMember(
  hs: Homeserver,
  roomId: string,
  userId: string,
  action: "join" | "invite" | "knock",
): Promise<void> {
  const home = await internalHome(hs, roomId);
  if (home === null || serverNameOf(userId) === home) return;
  throw forbidden(internalRefusal(home, action));
}

/**
 * Refuses an invite from another server when its stripped state marks the room internal to a
 * server other than ours.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN
 */
export function refuseInternalInviteState(
  hs: Homeserver,
  stripped: readonly { type?: unknown; state_key?: unknown; content?: unknown; sender?: unknown }[],
): void {
  const setting = stripped.find((e) => e.type === INTERNAL_ROOM_TYPE && e.state_key === "");
  if (!setting || !isInternalContent(setting.content)) return;
  const create = stripped.find((e) => e.type === "m.room.create");
  const home = typeof create?.sender === "string" ? serverNameOf(create.sender) : undefined;
  if (home !== undefined && home !== hs.config.serverName) {
    throw forbidden(`The room is internal to ${home}: users of this server cannot be invited`);
  }
}
