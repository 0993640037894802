/**
 * Per-room retention (`m.room.retention`, MSC1763 as Synapse implements it) and the purge job:
 * every `purge_interval`, each room whose effective `max_lifetime` is set loses its messages
 * older than that (`purge_history.ts`). State events are never purged.
 *
 * The effective max_lifetime is the room's (or, without a policy, the server's default),
 * bounded by `allowed_lifetime_min` / `allowed_lifetime_max` as Synapse's purge jobs bound it:
 * the bounds are not enforced on the event, so rooms federated with servers of other settings
 * keep working. `min_lifetime` is validated and stored but, as in Synapse, changes nothing.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import {
  effectiveMaxLifetime,
  policyOf,
  RETENTION_EVENT_TYPE,
  type RetentionPolicy,
} from "./retention_policy.ts";
import { positionAtTime, purgeHistory } from "./purge_history.ts";

/** The room's current policy, or null without an `m.room.retention` event. */
export async function roomPolicy(hs: Homeserver, roomId: string): Promise<RetentionPolicy | null> {
  const stored = await hs.rooms.currentStateEvent(roomId, RETENTION_EVENT_TYPE, "");
  return stored ? policyOf(stored.event.content as Record<string, unknown>) : null;
}

/** What one run of the job did. */
export interface RetentionRun {
  rooms: number;
  events: number;
  media: number;
}

/** Runs the purge over every room once (the job's body; tests call it directly too). */
export async function runRetentionPurge(
  hs: Homeserver,
  now = Date.now(),
): Promise<RetentionRun> {
  const run: RetentionRun = { rooms: 0, events: 0, media: 0 };
  const roomIds: string[] = [];
  for await (const entry of hs.kv.list({ prefix: ["room"] })) roomIds.push(entry.key[1] as string);
  for (const roomId of roomIds) {
    const max = effectiveMaxLifetime(hs.config.retention, await roomPolicy(hs, roomId));
    if (max === null) continue;
    const cutoff = now - max;
    const beforePos = (await positionAtTime(hs, roomId, cutoff)) ?? Number.MAX_SAFE_INTEGER;
    const result = await purgeHistory(hs, roomId, { beforePos, deleteLocalEvents: true });
    if (result.events > 0) run.rooms++;
    run.events += result.events;
    run.media += result.media;
  }
  return run;
}

/**
 * Starts the job when `[retention] enabled` is on; it runs every `purge_interval`, one run at a time, and stops with the server.
 */
export function startRetentionJob(hs: Homeserver): void {
  if (!hs.config.retention.enabled) return;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runRetentionPurge(hs).then(
      (run) => {
        if (run.events > 0) {
          hs.log.info(`retention: purged ${run.events} events and ${run.media} media`);
        }
      },
      (err) => {
        if (!stopped) hs.log.warn(`retention purge failed: ${err}`);
      },
    ).finally(() => running = null);
  };
  const timer = setInterval(tick, hs.config.retention.purgeIntervalMs);
  Deno.unrefTimer(timer);
  hs.addCloseHook(async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  });
}
