/**
 * Server policy beyond the auth rules, applied by the pipeline to every event whatever its
 * origin:
 *
 * - Redactions (room versions 3+ leave this to servers): a redaction takes effect on its
 *   target only when its sender's server is the target sender's server, or its sender has the
 *   `redact` power level. A local user is refused outright; a remote redaction that fails the
 *   check is kept in the room but withheld from its target.
 * - Canonical aliases sent by local users must exist on this server and point to the room.
 * - Internal rooms (`internal_rooms.ts`): local users cannot bring in users of other servers,
 *   and set the setting only in rooms created here.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import type { RoomEvent } from "../../federation/types.ts";
import { forbidden } from "../errors.ts";
import { checkCanonicalAlias } from "./aliases.ts";
import { checkInternalLocalEvent } from "./internal_rooms.ts";
import type { StateReader } from "./event_pipeline.ts";
import { powerView } from "./power.ts";
import { RETENTION_EVENT_TYPE, validateRetentionContent } from "../retention/retention_policy.ts";
import type { RoomStore } from "./room_store.ts";

/** May `redaction` take effect on `target`, in the state before the redaction? */
export async function redactionAllowed(
  redaction: { sender: string },
  target: RoomEvent,
  options: { state: StateReader; rules: RoomVersionRules },
): Promise<boolean> {
  if (target.sender === redaction.sender) return true;
  // Same server: it is trusted to have checked (the spec's rule for v3+; the auth rules of
  // v1-v2 already allowed it).
  if (serverNameOf(target.sender) === serverNameOf(redaction.sender)) return true;
  const power = await powerView(options.state, options.rules);
  return power.levelOf(redaction.sender) >= power.levels.levels.redact;
}

/**
 * The checks a local user's event passes before it is built (inside the room's lock, against
 * the state it will be built on).
 *
 * @throws {MatrixError} M_FORBIDDEN (redacting others without power), M_BAD_ALIAS
 */
export async function checkLocalEvent(
  template: {
    type: string;
    sender: string;
    stateKey?: string;
    content: Record<string, unknown>;
    redacts?: string;
  },
  options: {
    roomId: string;
    state: StateReader;
    rules: RoomVersionRules;
    rooms: RoomStore;
    serverName: string;
  },
): Promise<void> {
  if (template.type === RETENTION_EVENT_TYPE) validateRetentionContent(template.content);
  if (template.type === "m.room.canonical_alias") {
    await checkCanonicalAlias(options, options.roomId, template.content);
  }
  await checkInternalLocalEvent(template, options);
  if (template.type === "m.room.redaction" && template.redacts !== undefined) {
    const target = await options.rooms.event(template.redacts);
    if (!target || target.event.roomId !== options.roomId) return;
    if (target.event.sender === template.sender) return;
    const power = await powerView(options.state, options.rules);
    if (power.levelOf(template.sender) < power.levels.levels.redact) {
      throw forbidden(
        `Redacting other users' events needs power level ${power.levels.levels.redact}`,
      );
    }
  }
}
