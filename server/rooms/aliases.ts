/**
 * The local room directory: aliases (`#name:server` -> room ID) and the list of published
 * rooms. Alias writes are their own commits (they are not room events); the canonical alias
 * event that advertises an alias is a room event and goes through the pipeline.
 *
 * @module
 */

import { isValidRoomAlias, serverNameOf } from "../../federation/identifiers.ts";
import { invalidParam, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { RoomStore } from "./room_store.ts";
import { type AliasRecord, roomKeys } from "./schema.ts";

/** Validates a local alias, returning it. */
export function localAlias(hs: Homeserver, alias: string): string {
  if (!isValidRoomAlias(alias)) throw invalidParam(`'${alias}' is not a valid room alias`);
  if (serverNameOf(alias) !== hs.config.serverName) {
    throw invalidParam(`Aliases on this server end in ':${hs.config.serverName}'`);
  }
  return alias;
}

/** Creates an alias for a room; false when the alias already exists. */
export async function createAlias(
  hs: Homeserver,
  alias: string,
  roomId: string,
  creator: string,
): Promise<boolean> {
  const record: AliasRecord = { roomId, creator, createdTs: Date.now() };
  const result = await hs.kv.atomic()
    .check({ key: roomKeys.alias(alias), versionstamp: null })
    .set(roomKeys.alias(alias), record)
    .set(roomKeys.aliasOfRoom(roomId, alias), null)
    .commit();
  return result.ok;
}

/** Deletes an alias (no-op when absent). */
export async function deleteAlias(hs: Homeserver, alias: string): Promise<void> {
  const entry = await hs.kv.get<AliasRecord>(roomKeys.alias(alias));
  if (!entry.value) return;
  await hs.kv.atomic().check(entry).delete(entry.key)
    .delete(roomKeys.aliasOfRoom(entry.value.roomId, alias)).commit();
}

/**
 * Checks the content of an m.room.canonical_alias event (spec: the server must reject aliases
 * that do not exist or point elsewhere).
 *
 * @throws {MatrixError} 400 M_BAD_ALIAS or M_INVALID_PARAM
 */
export async function checkCanonicalAlias(
  hs: { rooms: RoomStore; serverName: string },
  roomId: string,
  content: Record<string, unknown>,
): Promise<void> {
  const aliases: string[] = [];
  if (content.alias !== undefined && content.alias !== null) {
    if (typeof content.alias !== "string") throw invalidParam("'alias' must be a string");
    aliases.push(content.alias);
  }
  if (content.alt_aliases !== undefined) {
    const alt = content.alt_aliases;
    if (!Array.isArray(alt) || alt.some((a) => typeof a !== "string")) {
      throw invalidParam("'alt_aliases' must be an array of strings");
    }
    aliases.push(...alt as string[]);
  }
  for (const alias of aliases) {
    if (!isValidRoomAlias(alias)) throw invalidParam(`'${alias}' is not a valid room alias`);
    if (serverNameOf(alias) !== hs.serverName) {
      throw new MatrixError("M_BAD_ALIAS", `${alias} is on another server and cannot be checked`);
    }
    const record = await hs.rooms.alias(alias);
    if (!record) throw new MatrixError("M_BAD_ALIAS", `Room alias ${alias} does not exist`);
    if (record.roomId !== roomId) {
      throw new MatrixError("M_BAD_ALIAS", `Room alias ${alias} points to another room`);
    }
  }
}

/** Publishes or unpublishes a room in the public room directory. */
export async function setPublished(
  hs: Homeserver,
  roomId: string,
  published: boolean,
): Promise<void> {
  if (published) await hs.kv.set(roomKeys.publicRoom(roomId), { since: Date.now() });
  else await hs.kv.delete(roomKeys.publicRoom(roomId));
}
