/**
 * Deleting a room as Synapse's Delete Room API v2 does, in the background: optionally block
 * it, move the local users out (each leaves and forgets it; with `new_room_user_id` they join
 * a new room where that user explains why, and the local aliases follow), take it off the
 * directory, then purge it from KV (`room_purge.ts`). The tasks' statuses stay in memory for
 * 24 hours (or until the server stops), as Synapse's do.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { createRoomAs } from "../client/create_room.ts";
import type { Homeserver } from "../homeserver.ts";
import { createAlias, deleteAlias, setPublished } from "../rooms/aliases.ts";
import { forgetRoom, joinRoom, leaveRoom } from "../rooms/membership.ts";
import { setRoomBlocked } from "../rooms/room_block.ts";
import { purgeRoom } from "./room_purge.ts";

/** A validated delete request. */
export interface DeleteRoomRequest {
  roomId: string;
  /** The admin who asked. */
  requester: string;
  newRoomUserId: string | null;
  roomName: string;
  message: string;
  block: boolean;
  purge: boolean;
  forcePurge: boolean;
}

/** A task's status, in Synapse's shape. */
export interface DeleteTask {
  delete_id: string;
  room_id: string;
  status: "scheduled" | "active" | "complete" | "failed";
  error?: string;
  shutdown_room: {
    kicked_users: string[];
    failed_to_kick_users: string[];
    local_aliases: string[];
    new_room_id: string | null;
  };
}

/** Synapse's defaults for the replacement room. */
export const DEFAULT_ROOM_NAME = "Content Violation Notification";
export const DEFAULT_MESSAGE =
  "Sharing illegal content on this server is not permitted and rooms in violation will be blocked.";

/** How long a finished task's status is kept. */
const KEEP_MS = 24 * 3600_000;
/** Most tasks remembered. */
const MAX_TASKS = 1000;

/** The delete tasks of one server. */
export class RoomDeletions {
  readonly #hs: Homeserver;
  readonly #tasks = new Map<string, { task: DeleteTask; doneTs: number | null }>();
  readonly #running = new Set<Promise<void>>();

  constructor(hs: Homeserver) {
    this.#hs = hs;
    hs.addCloseHook(async () => {
      await Promise.allSettled([...this.#running]);
    });
  }

  /** The tasks of a room, newest last. */
  ofRoom(roomId: string): DeleteTask[] {
    this.#prune();
    return [...this.#tasks.values()].filter((t) => t.task.room_id === roomId).map((t) => t.task);
  }

  /** One task, or null. */
  get(deleteId: string): DeleteTask | null {
    this.#prune();
    return this.#tasks.get(deleteId)?.task ?? null;
  }

  /** Whether a task for the room is still running. */
  busy(roomId: string): boolean {
    return this.ofRoom(roomId).some((t) => t.status === "scheduled" || t.status === "active");
  }

  /** Starts a task; returns its ID at once, and its end to wait for (Synapse's v1 waits). */
  start(request: DeleteRoomRequest): { deleteId: string; done: Promise<DeleteTask> } {
    this.#prune();
    const task: DeleteTask = {
      delete_id: randomString(16),
      room_id: request.roomId,
      status: "scheduled",
      shutdown_room: {
        kicked_users: [],
        failed_to_kick_users: [],
        local_aliases: [],
        new_room_id: null,
      },
    };
    const slot = { task, doneTs: null as number | null };
    this.#tasks.set(task.delete_id, slot);
    const run = (async () => {
      // Let the request answer first.
      await new Promise((resolve) => setTimeout(resolve, 0));
      task.status = "active";
      try {
        await shutDownRoom(this.#hs, request, task);
        task.status = "complete";
      } catch (err) {
        task.status = "failed";
        task.error = err instanceof Error ? err.message : String(err);
      }
      slot.doneTs = Date.now();
    })();
    this.#running.add(run);
    run.finally(() => this.#running.delete(run));
    return { deleteId: task.delete_id, done: run.then(() => task) };
  }

  #prune(): void {
    const now = Date.now();
    for (const [id, slot] of this.#tasks) {
      if (slot.doneTs !== null && now - slot.doneTs > KEEP_MS) this.#tasks.delete(id);
    }
    // Oldest finished first, when too many are remembered.
    for (const [id, slot] of this.#tasks) {
      if (this.#tasks.size <= MAX_TASKS) break;
      if (slot.doneTs !== null) this.#tasks.delete(id);
    }
  }
}

const DELETIONS = new WeakMap<Homeserver, RoomDeletions>();

/** The delete tasks of a server. */
export function roomDeletions(hs: Homeserver): RoomDeletions {
  let deletions = DELETIONS.get(hs);
  if (!deletions) DELETIONS.set(hs, deletions = new RoomDeletions(hs));
  return deletions;
}

/** The local users whose membership in the room is join, invite or knock. */
async function localMembers(hs: Homeserver, roomId: string): Promise<string[]> {
  const entries = await hs.rooms.currentStateEntries(roomId, "m.room.member");
  return entries.filter((e) =>
    serverNameOf(e.stateKey) === hs.config.serverName &&
    ["join", "invite", "knock"].includes(e.entry.membership ?? "")
  ).map((e) => e.stateKey);
}

async function shutDownRoom(hs: Homeserver, request: DeleteRoomRequest, task: DeleteTask) {
  const { roomId } = request;
  const result = task.shutdown_room;
  if (request.block) await setRoomBlocked(hs.kv, roomId, { userId: request.requester });
  const known = await hs.rooms.room(roomId);
  if (!known) return; // blocked ahead of time: nothing else to do

  let newRoomId: string | null = null;
  if (request.newRoomUserId !== null) {
    const creator = request.newRoomUserId;
    newRoomId = await createRoomAs(hs, creator, {
      preset: "public_chat",
      name: request.roomName,
      // Moved users may read but not write.
      power_level_content_override: { users_default: -10 },
    });
    await hs.pipeline.sendEvent(newRoomId, {
      type: "m.room.message",
      sender: creator,
      content: { msgtype: "m.text", body: request.message },
    });
    result.new_room_id = newRoomId;
  }

  for (const userId of await localMembers(hs, roomId)) {
    try {
      await leaveRoom(hs, roomId, userId);
      await forgetRoom(hs, roomId, userId);
      if (newRoomId !== null && userId !== request.newRoomUserId) {
        await joinRoom(hs, newRoomId, userId);
      }
      result.kicked_users.push(userId);
    } catch {
      result.failed_to_kick_users.push(userId);
    }
  }

  for (const alias of await hs.rooms.aliasesOf(roomId)) {
    await deleteAlias(hs, alias);
    if (newRoomId !== null) {
      await createAlias(hs, alias, newRoomId, request.newRoomUserId!);
    }
    result.local_aliases.push(alias);
  }
  await setPublished(hs, roomId, false);

  if (!request.purge) return;
  const stillJoined = (await localMembers(hs, roomId)).length;
  if (stillJoined > 0 && !request.forcePurge) {
    throw new Error(
      `${stillJoined} local users are still in the room; use force_purge to purge anyway`,
    );
  }
  await purgeRoom(hs, roomId);
}
