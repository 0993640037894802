/**
 * Synapse's purge history admin API (server admins only), over `server/retention/`:
 *
 * - `POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]` with `purge_up_to_event_id`
 *   (or the event in the path) or `purge_up_to_ts` (ms), and `delete_local_events` (default
 *   false, as Synapse): starts a purge of the room's messages before that point and answers
 *   `{purge_id}` at once
 * - `GET /_synapse/admin/v1/purge_history_status/{purgeId}`: `{status: active | complete |
 *   failed}` (gemeng adds the counts and the error)
 *
 * Statuses are kept in memory for 24 hours, as Synapse keeps them. Every purge is audited.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { randomString } from "../../crypto/tokens.ts";
import { invalidParam, MatrixError, missingParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalBoolean, optionalString } from "../http_util.ts";
import { type AppEnv, readBody } from "../request_context.ts";
import { positionAtTime, purgeHistory } from "../retention/purge_history.ts";
import { adminOnly } from "./admin_common.ts";
import { auditAdminAction } from "./audit.ts";

/** A purge's status, in Synapse's shape plus counts. */
export interface PurgeTask {
  status: "active" | "complete" | "failed";
  room_id: string;
  events_purged?: number;
  media_deleted?: number;
  error?: string;
}

const KEEP_MS = 24 * 3600_000;
const MAX_TASKS = 1000;

/** The purge tasks of one server. */
class PurgeTasks {
  readonly tasks = new Map<string, { task: PurgeTask; doneTs: number | null }>();
  readonly running = new Set<Promise<void>>();
  /** Rooms with a purge running (one at a time per room). */
  readonly busy = new Set<string>();

  constructor(hs: Homeserver) {
    hs.addCloseHook(async () => {
      await Promise.allSettled([...this.running]);
    });
  }

  prune(): void {
    const now = Date.now();
    for (const [id, slot] of this.tasks) {
      const expired = slot.doneTs !== null && now - slot.doneTs > KEEP_MS;
      if (expired || (this.tasks.size > MAX_TASKS && slot.doneTs !== null)) this.tasks.delete(id);
    }
  }
}

const TASKS = new WeakMap<Homeserver, PurgeTasks>();

function tasksOf(hs: Homeserver): PurgeTasks {
  let tasks = TASKS.get(hs);
  if (!tasks) TASKS.set(hs, tasks = new PurgeTasks(hs));
  return tasks;
}

/** Where the purge stops: the stream position of the first event kept. */
async function purgeLimit(
  hs: Homeserver,
  c: Context<AppEnv>,
  roomId: string,
): Promise<
  { beforePos: number; eventId: string | null; ts: number | null; deleteLocalEvents: boolean }
> {
  const body = await readBody(hs, c);
  const eventId = c.req.param("eventId") ??
    optionalString(body, "purge_up_to_event_id", { maxBytes: 255 }) ?? null;
  const deleteLocalEvents = optionalBoolean(body, "delete_local_events") ?? false;
  if (eventId !== null) {
    const stored = await hs.rooms.event(eventId);
    if (!stored || stored.event.roomId !== roomId) {
      throw invalidParam("purge_up_to_event_id is not an event of this room");
    }
    if (stored.meta.pos === null) {
      throw invalidParam("purge_up_to_event_id has no place in the room's timeline");
    }
    return { beforePos: stored.meta.pos, eventId, ts: null, deleteLocalEvents };
  }
  const ts = body.purge_up_to_ts;
  if (ts === undefined) throw missingParam("purge_up_to_ts or purge_up_to_event_id");
  if (typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0) {
    throw invalidParam("purge_up_to_ts must be a timestamp in milliseconds");
  }
  const pos = await positionAtTime(hs, roomId, ts);
  return { beforePos: pos ?? Number.MAX_SAFE_INTEGER, eventId: null, ts, deleteLocalEvents };
}

/** The purge history admin routes. */
export function purgeHistoryAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);

  const start = async (c: Context<AppEnv>) => {
    const roomId = c.req.param("roomId")!;
    if (!(await hs.rooms.room(roomId))) throw notFound(`Unknown room ${roomId}`);
    const limit = await purgeLimit(hs, c, roomId);
    const { deleteLocalEvents } = limit;
    const tasks = tasksOf(hs);
    tasks.prune();
    if (tasks.busy.has(roomId)) {
      throw new MatrixError("M_UNKNOWN", "A purge of this room is already running");
    }
    const purgeId = randomString(16);
    const task: PurgeTask = { status: "active", room_id: roomId };
    const slot = { task, doneTs: null as number | null };
    tasks.tasks.set(purgeId, slot);
    tasks.busy.add(roomId);
    await auditAdminAction(hs, c, "room.purge_history", {
      target: roomId,
      details: {
        purge_id: purgeId,
        purge_up_to_event_id: limit.eventId,
        purge_up_to_ts: limit.ts,
        delete_local_events: deleteLocalEvents,
      },
    });
    const run = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      try {
        const result = await purgeHistory(hs, roomId, {
          beforePos: limit.beforePos,
          deleteLocalEvents,
        });
        task.events_purged = result.events;
        task.media_deleted = result.media;
        task.status = "complete";
      } catch (err) {
        task.status = "failed";
        task.error = err instanceof Error ? err.message : String(err);
      }
      slot.doneTs = Date.now();
      tasks.busy.delete(roomId);
    })();
    tasks.running.add(run);
    run.finally(() => tasks.running.delete(run));
    return c.json({ purge_id: purgeId });
  };

  app.post("/_synapse/admin/v1/purge_history/:roomId", ...admin, start);
  app.post("/_synapse/admin/v1/purge_history/:roomId/:eventId", ...admin, start);

  app.get("/_synapse/admin/v1/purge_history_status/:purgeId", ...admin, (c) => {
    const tasks = tasksOf(hs);
    tasks.prune();
    const slot = tasks.tasks.get(c.req.param("purgeId"));
    if (!slot) throw notFound("No such purge");
    return c.json(slot.task);
  });

  return app;
}
