/**
 * Media administration over Synapse's admin API shapes (server admins only):
 *
 * - `DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}`: delete one medium
 * - `DELETE /_synapse/admin/v1/users/{userId}/media`: purge everything a user uploaded
 * - `GET /_synapse/admin/v1/media/largest?limit=N&from=M`: the largest media (a gemeng
 *   addition), paginated like Synapse's lists (`from` is an offset, `next_token` the next one)
 * - `POST /_synapse/admin/v1/purge_media_cache?before_ts=MS`: drop cached remote media whose
 *   cache was filled before `before_ts`
 *
 * @module
 */

import { Hono } from "hono";
import { isValidServerName, isValidUserId } from "../../federation/identifiers.ts";
import { invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import {
  largestMedia,
  listUserMedia,
  MEDIA_ID_PATTERN,
  remoteMediaCachedBefore,
} from "../media/media_store.ts";
import { MediaRepository } from "../media/repository.ts";
import { quarantinedBy } from "../media/quarantine.ts";
import { adminOnly, integerQuery } from "./admin_common.ts";
import { MAX_PAGE as MAX_LIMIT } from "./admin_lists.ts";
import { auditAdminAction } from "./audit.ts";

/** Deletes every medium a user uploaded; returns their media IDs. */
export async function purgeUserMedia(repo: MediaRepository, kv: Deno.Kv, userId: string) {
  const deleted: string[] = [];
  for (const [origin, mediaId] of await listUserMedia(kv, userId)) {
    if (await repo.delete(origin, mediaId)) deleted.push(mediaId);
  }
  return deleted;
}

/** Deletes remote media cached before `beforeTs`; returns how many. */
export async function purgeRemoteCache(repo: MediaRepository, kv: Deno.Kv, beforeTs: number) {
  let deleted = 0;
  for (const [origin, mediaId] of await remoteMediaCachedBefore(kv, beforeTs)) {
    if (await repo.delete(origin, mediaId)) deleted++;
  }
  return deleted;
}

/** Routes of media administration. */
export function mediaAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const repo = MediaRepository.of(hs);
  const admin = adminOnly(hs);
  const base = "/_synapse/admin/v1";

  app.get(`${base}/media/largest`, ...admin, async (c) => {
    const limit = integerQuery(c, "limit", { min: 1, max: MAX_LIMIT, fallback: 20 });
    const from = integerQuery(c, "from", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
    // One more than asked tells whether there is a next page.
    const found = await largestMedia(hs.kv, limit + 1, from);
    const media = found.slice(0, limit);
    const quarantined = await Promise.all(
      media.map((m) => quarantinedBy(hs.kv, m.origin, m.mediaId)),
    );
    return c.json({
      media: media.map((m, i) => ({
        media_id: m.mediaId,
        origin: m.origin,
        media_length: m.size,
        media_type: m.contentType,
        upload_name: m.fileName,
        user_id: m.uploader,
        created_ts: m.createdTs,
        sha256: m.sha256,
        quarantined_by: quarantined[i],
      })),
      total: media.length,
      ...(found.length > limit ? { next_token: from + limit } : {}),
    });
  });

  app.delete(`${base}/media/:serverName/:mediaId`, ...admin, async (c) => {
    const { serverName, mediaId } = c.req.param();
    if (!isValidServerName(serverName) || !MEDIA_ID_PATTERN.test(mediaId)) {
      throw invalidParam("Not a valid server name and media ID (media IDs use A-Z a-z 0-9 _ -)");
    }
    const deleted = await repo.delete(serverName, mediaId);
    if (!deleted) throw notFound("No such media");
    await auditAdminAction(hs, c, "media.delete", { target: `mxc://${serverName}/${mediaId}` });
    return c.json({ deleted_media: [mediaId], total: 1 });
  });

  app.delete(`${base}/users/:userId/media`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    if (!isValidUserId(userId, { historical: true })) {
      throw invalidParam("Not a valid user ID");
    }
    const deleted = await purgeUserMedia(repo, hs.kv, userId);
    await auditAdminAction(hs, c, "media.delete_user", {
      target: userId,
      details: { total: deleted.length },
    });
    return c.json({ deleted_media: deleted, total: deleted.length });
  });

  app.post(`${base}/purge_media_cache`, ...admin, async (c) => {
    const beforeTs = integerQuery(c, "before_ts", { min: 0, max: Number.MAX_SAFE_INTEGER });
    const deleted = await purgeRemoteCache(repo, hs.kv, beforeTs);
    await auditAdminAction(hs, c, "media.purge_remote", {
      details: { before_ts: beforeTs, deleted },
    });
    return c.json({ deleted });
  });

  return app;
}

/** Usage lines of the `media` command (part of `server/cli.ts`'s usage text). */
export const MEDIA_CLI_USAGE = `  media largest [--limit N]               list the largest media
  media delete mxc://SERVER/ID            delete one medium
  media purge-user @USER:SERVER           delete every medium a user uploaded
  media purge-remote --before-days N      delete remote media cached more than N days ago
`;

/**
 * Runs `media SUBCOMMAND ...` on an open server; `words` are the positional arguments after
 * `media`. Returns the lines to print.
 *
 * @throws {Error} with `code` USAGE for a malformed command line
 */
export async function runMediaCommand(
  hs: Homeserver,
  words: readonly string[],
  flags: ReadonlyMap<string, string | true>,
): Promise<string[]> {
  const usage = (message: string) => Object.assign(new Error(message), { code: "USAGE" });
  const repo = MediaRepository.of(hs);
  const [sub, arg] = words;
  const number = (name: string, min: number, fallback?: number) => {
    const value = flags.get(name);
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== "string" || !/^\d{1,15}$/.test(value) || Number(value) < min) {
      throw usage(`--${name} must be an integer of at least ${min}`);
    }
    return Number(value);
  };
  if (sub === "largest" && words.length === 1) {
    return (await largestMedia(hs.kv, number("limit", 1, 20))).map((m) =>
      `${m.size}\tmxc://${m.origin}/${m.mediaId}\t${m.contentType}\t${m.uploader ?? "-"}\t${
        m.fileName ?? ""
      }`
    );
  }
  if (sub === "delete" && words.length === 2) {
    const match = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(arg);
    if (!match || !isValidServerName(match[1]) || !MEDIA_ID_PATTERN.test(match[2])) {
      throw usage("media delete needs an mxc:// URI");
    }
    const deleted = await repo.delete(match[1], match[2]);
    return [deleted ? `deleted ${arg}` : `no such medium: ${arg}`];
  }
  if (sub === "purge-user" && words.length === 2) {
    if (!isValidUserId(arg, { historical: true })) throw usage(`not a user ID: ${arg}`);
    const deleted = await purgeUserMedia(repo, hs.kv, arg);
    return [`deleted ${deleted.length} media of ${arg}`];
  }
  if (sub === "purge-remote" && words.length === 1) {
    const days = number("before-days", 0);
    const deleted = await purgeRemoteCache(repo, hs.kv, Date.now() - days * 86400_000);
    return [`deleted ${deleted} cached remote media`];
  }
  throw usage(`unknown media command: ${words.join(" ")}`);
}
