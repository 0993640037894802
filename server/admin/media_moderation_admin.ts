/**
 * Media moderation and usage over Synapse's admin API shapes (server admins only):
 *
 * - `POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}` and `.../unquarantine/...`
 * - `POST /_synapse/admin/v1/room/{roomId}/media/quarantine` (and the older
 *   `/quarantine_media/{roomId}`): every `mxc://` in the room's timeline events (unencrypted
 *   content only, as on Synapse); `GET /_synapse/admin/v1/room/{roomId}/media` lists them
 * - `GET /_synapse/admin/v1/media/{serverName}/{mediaId}`: one medium's record
 * - `POST /_synapse/admin/v1/user/{userId}/media/quarantine`: every medium the user uploaded
 * - `GET /_synapse/admin/v1/users/{userId}/media`: a user's media (`from`, `limit`,
 *   `order_by`, `dir`)
 * - `POST /_synapse/admin/v1/media/delete?before_ts=&size_gt=&keep_profiles=`: local media
 *   uploaded before a time (gemeng keeps no last-access time: the upload time counts)
 * - `GET /_synapse/admin/v1/statistics/users/media`: media count and bytes per user
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { isValidServerName, serverNameOf } from "../../federation/identifiers.ts";
import { invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import {
  getMedium,
  listUserMedia,
  MEDIA_ID_PATTERN,
  type MediumRecord,
  type UsageRecord,
} from "../media/media_store.ts";
import { mxcUrisIn, quarantinedBy, setQuarantine } from "../media/quarantine.ts";
import { MediaRepository } from "../media/repository.ts";
import { allProfiles, getProfile } from "../store/profiles.ts";
import type { TimelineEntry } from "../rooms/schema.ts";
import { adminOnly, booleanQuery, dirQuery, integerQuery, textQuery } from "./admin_common.ts";
import { choiceQuery, compareValues, pageOf, pageQuery } from "./admin_lists.ts";
import { auditAdminAction } from "./audit.ts";

const MEDIA_ORDERS = [
  "media_id",
  "upload_name",
  "created_ts",
  "last_access_ts",
  "media_length",
  "media_type",
  "quarantined_by",
  "safe_from_quarantine",
] as const;

const USAGE_ORDERS = ["user_id", "displayname", "media_length", "media_count"] as const;

/** A medium in the shape of Synapse's user media list. */
async function mediumView(kv: Deno.Kv, medium: MediumRecord): Promise<Record<string, unknown>> {
  return {
    media_id: medium.mediaId,
    media_type: medium.contentType,
    media_length: medium.size,
    upload_name: medium.fileName,
    created_ts: medium.createdTs,
    last_access_ts: null,
    quarantined_by: await quarantinedBy(kv, medium.origin, medium.mediaId),
    safe_from_quarantine: false,
  };
}

/** The media a user uploaded (ready ones). */
async function userMedia(kv: Deno.Kv, userId: string): Promise<MediumRecord[]> {
  const out: MediumRecord[] = [];
  for (const [origin, mediaId] of await listUserMedia(kv, userId)) {
    const medium = await getMedium(kv, origin, mediaId);
    if (medium?.state === "ready") out.push(medium);
  }
  return out;
}

/** The `mxc://` URIs used in a room's timeline events. */
async function roomMedia(hs: Homeserver, roomId: string): Promise<[string, string][]> {
  const found = new Map<string, [string, string]>();
  let batch: string[] = [];
  const flush = async () => {
    for (const stored of (await hs.rooms.events(batch)).values()) {
      for (const uri of mxcUrisIn(stored.event.content)) found.set(uri.join("/"), uri);
    }
    batch = [];
  };
  for await (const entry of hs.kv.list<TimelineEntry>({ prefix: ["room_timeline", roomId] })) {
    batch.push(entry.value.eventId);
    if (batch.length >= 200) await flush();
  }
  await flush();
  return [...found.values()];
}

/** Routes of media moderation and usage. */
export function mediaModerationAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const repo = MediaRepository.of(hs);
  const base = "/_synapse/admin/v1";

  const mediaParam = (serverName: string, mediaId: string) => {
    if (!isValidServerName(serverName) || !MEDIA_ID_PATTERN.test(mediaId)) {
      throw invalidParam("Not a valid server name and media ID (media IDs use A-Z a-z 0-9 _ -)");
    }
  };
  const localUser = (userId: string) => {
    if (serverNameOf(userId) !== hs.config.serverName) {
      throw invalidParam("Only users of this server have media here");
    }
  };

  app.post(`${base}/media/quarantine/:serverName/:mediaId`, ...admin, async (c) => {
    const { serverName, mediaId } = c.req.param();
    mediaParam(serverName, mediaId);
    const changed = await setQuarantine(hs.kv, [[serverName, mediaId]], c.var.auth.userId);
    await auditAdminAction(hs, c, "media.quarantine", {
      target: `mxc://${serverName}/${mediaId}`,
      details: { changed },
    });
    return c.json({});
  });

  app.post(`${base}/media/unquarantine/:serverName/:mediaId`, ...admin, async (c) => {
    const { serverName, mediaId } = c.req.param();
    mediaParam(serverName, mediaId);
    const changed = await setQuarantine(hs.kv, [[serverName, mediaId]], null);
    await auditAdminAction(hs, c, "media.unquarantine", {
      target: `mxc://${serverName}/${mediaId}`,
      details: { changed },
    });
    return c.json({});
  });

  const quarantineRoom = async (c: Context<AppEnv>) => {
    const roomId = c.req.param("roomId")!;
    if (!(await hs.rooms.room(roomId))) throw notFound("Room not found");
    const media = await roomMedia(hs, roomId);
    const count = await setQuarantine(hs.kv, media, c.var.auth.userId);
    await auditAdminAction(hs, c, "media.quarantine_room", {
      target: roomId,
      details: { num_quarantined: count },
    });
    return c.json({ num_quarantined: count });
  };
  app.post(`${base}/room/:roomId/media/quarantine`, ...admin, quarantineRoom);
  // Synapse's older path of the same.
  app.post(`${base}/quarantine_media/:roomId`, ...admin, quarantineRoom);

  app.get(`${base}/room/:roomId/media`, ...admin, async (c) => {
    const roomId = c.req.param("roomId");
    if (!(await hs.rooms.room(roomId))) throw notFound("Room not found");
    const uris = (await roomMedia(hs, roomId)).map(([origin, id]) => ({
      origin,
      uri: `mxc://${origin}/${id}`,
    }));
    const ours = (u: { origin: string }) => u.origin === hs.config.serverName;
    return c.json({
      local: uris.filter(ours).map((u) => u.uri),
      remote: uris.filter((u) => !ours(u)).map((u) => u.uri),
    });
  });

  app.get(`${base}/media/:serverName/:mediaId`, ...admin, async (c) => {
    const { serverName, mediaId } = c.req.param();
    mediaParam(serverName, mediaId);
    const medium = await getMedium(hs.kv, serverName, mediaId);
    if (medium?.state !== "ready") throw notFound("No such media (or not cached here)");
    return c.json({
      media_info: {
        media_origin: medium.origin,
        user_id: medium.uploader,
        media_id: medium.mediaId,
        media_type: medium.contentType,
        media_length: medium.size,
        upload_name: medium.fileName,
        created_ts: medium.createdTs,
        last_access_ts: null,
        quarantined_by: await quarantinedBy(hs.kv, medium.origin, medium.mediaId),
        safe_from_quarantine: false,
        sha256: medium.sha256,
      },
    });
  });

  app.post(`${base}/user/:userId/media/quarantine`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    localUser(userId);
    const media = await listUserMedia(hs.kv, userId);
    const count = await setQuarantine(hs.kv, media, c.var.auth.userId);
    await auditAdminAction(hs, c, "media.quarantine_user", {
      target: userId,
      details: { num_quarantined: count },
    });
    return c.json({ num_quarantined: count });
  });

  app.get(`${base}/users/:userId/media`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    localUser(userId);
    const page = pageQuery(c, 100);
    const explicit = c.req.query("order_by") !== undefined || c.req.query("dir") !== undefined;
    const order = choiceQuery(c, "order_by", MEDIA_ORDERS, "created_ts");
    // Synapse's default without either parameter: newest first.
    const dir = explicit ? dirQuery(c, "f") : "b";
    const views: Record<string, unknown>[] = [];
    for (const medium of await userMedia(hs.kv, userId)) {
      views.push(await mediumView(hs.kv, medium));
    }
    const sign = dir === "b" ? -1 : 1;
    views.sort((a, b) =>
      sign * compareValues(a[order], b[order]) || compareValues(a.media_id, b.media_id)
    );
    const { items, total, next_token } = pageOf(views, page);
    return c.json({ media: items, total, ...(next_token ? { next_token } : {}) });
  });

  app.post(`${base}/media/delete`, ...admin, async (c) => {
    const beforeTs = integerQuery(c, "before_ts", { min: 0, max: Number.MAX_SAFE_INTEGER });
    const sizeGt = integerQuery(c, "size_gt", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      fallback: 0,
    });
    const keepProfiles = booleanQuery(c, "keep_profiles", true);
    const kept = new Set<string>();
    if (keepProfiles) {
      for await (const { profile } of allProfiles(hs)) {
        if (typeof profile.avatar_url === "string") kept.add(profile.avatar_url);
      }
    }
    const deleted: string[] = [];
    const origin = hs.config.serverName;
    const candidates: MediumRecord[] = [];
    for await (const entry of hs.kv.list<MediumRecord>({ prefix: ["media", origin] })) {
      const m = entry.value;
      if (m.state !== "ready" || m.createdTs >= beforeTs || m.size <= sizeGt) continue;
      if (kept.has(`mxc://${origin}/${m.mediaId}`)) continue;
      candidates.push(m);
    }
    for (const m of candidates) {
      if (await repo.delete(origin, m.mediaId)) deleted.push(m.mediaId);
    }
    await auditAdminAction(hs, c, "media.delete_old", {
      details: {
        before_ts: beforeTs,
        size_gt: sizeGt,
        keep_profiles: keepProfiles,
        total: deleted.length,
      },
    });
    return c.json({ deleted_media: deleted, total: deleted.length });
  });

  app.get(`${base}/statistics/users/media`, ...admin, async (c) => {
    const page = pageQuery(c, 100);
    const order = choiceQuery(c, "order_by", USAGE_ORDERS, "user_id");
    const dir = dirQuery(c, "f");
    const fromTs = integerQuery(c, "from_ts", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      fallback: 0,
    });
    const untilTs = integerQuery(c, "until_ts", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      fallback: Number.MAX_SAFE_INTEGER,
    });
    const term = textQuery(c, "search_term", 255)?.toLowerCase();
    const windowed = c.req.query("from_ts") !== undefined || c.req.query("until_ts") !== undefined;
    const users: Record<string, unknown>[] = [];
    for await (const entry of hs.kv.list<UsageRecord>({ prefix: ["media_usage"] })) {
      const userId = entry.key[1] as string;
      let { bytes, count } = entry.value;
      if (windowed) {
        const media = (await userMedia(hs.kv, userId))
          .filter((m) => m.createdTs >= fromTs && m.createdTs <= untilTs);
        bytes = media.reduce((sum, m) => sum + m.size, 0);
        count = media.length;
      }
      if (count === 0) continue;
      const name = (await getProfile(hs, userId))?.displayname;
      const displayname = typeof name === "string" ? name : null;
      if (term) {
        const localpart = userId.slice(1).split(":")[0].toLowerCase();
        if (!localpart.includes(term) && !displayname?.toLowerCase().includes(term)) continue;
      }
      users.push({ user_id: userId, displayname, media_count: count, media_length: bytes });
    }
    const sign = dir === "b" ? -1 : 1;
    users.sort((a, b) =>
      sign * compareValues(a[order], b[order]) || compareValues(a.user_id, b.user_id)
    );
    const { items, total, next_token } = pageOf(users, page);
    return c.json({ users: items, total, ...(next_token ? { next_token } : {}) });
  });

  return app;
}
