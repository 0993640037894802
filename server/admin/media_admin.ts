/**
 * Media administration over Synapse's admin API shapes (server admins only):
 *
 * - `DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}`: delete one medium
 * - `DELETE /_synapse/admin/v1/users/{userId}/media`: purge everything a user uploaded
 * - `GET /_synapse/admin/v1/media/largest?limit=N`: the largest media (a gemeng addition)
 * - `POST /_synapse/admin/v1/purge_media_cache?before_ts=MS`: drop cached remote media whose
 *   cache was filled before `before_ts`
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { forbidden, invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { largestMedia, listUserMedia, remoteMediaCachedBefore } from "../media/media_store.ts";
import { MediaRepository } from "../media/repository.ts";

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

function requireAdmin(hs: Homeserver) {
  return async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const user = await getUser(hs.kv, c.var.auth.userId);
    if (!user?.admin) throw forbidden("You are not a server admin");
    await next();
  };
}

function integerQuery(c: Context<AppEnv>, name: string, fallback?: number): number {
  const text = c.req.query(name);
  if (text === undefined && fallback !== undefined) return fallback;
  if (text === undefined || !/^\d{1,15}$/.test(text)) {
    throw invalidParam(`'${name}' must be a non-negative integer`);
  }
  return Number(text);
}

/** Routes of media administration. */
export function mediaAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const repo = MediaRepository.of(hs);
  const admin = [requireAuth(hs), requireAdmin(hs)] as const;
  const base = "/_synapse/admin/v1";

  app.get(`${base}/media/largest`, ...admin, async (c) => {
    const limit = Math.min(integerQuery(c, "limit", 20), 1000);
    const media = await largestMedia(hs.kv, limit);
    return c.json({
      media: media.map((m) => ({
        media_id: m.mediaId,
        origin: m.origin,
        media_length: m.size,
        media_type: m.contentType,
        upload_name: m.fileName,
        user_id: m.uploader,
        created_ts: m.createdTs,
        sha256: m.sha256,
      })),
      total: media.length,
    });
  });

  app.delete(`${base}/media/:serverName/:mediaId`, ...admin, async (c) => {
    const { serverName, mediaId } = c.req.param();
    const deleted = await repo.delete(serverName, mediaId);
    if (!deleted) throw notFound("No such media");
    return c.json({ deleted_media: [mediaId], total: 1 });
  });

  app.delete(`${base}/users/:userId/media`, ...admin, async (c) => {
    const deleted = await purgeUserMedia(repo, hs.kv, c.req.param("userId"));
    return c.json({ deleted_media: deleted, total: deleted.length });
  });

  app.post(`${base}/purge_media_cache`, ...admin, async (c) => {
    const beforeTs = integerQuery(c, "before_ts");
    return c.json({ deleted: await purgeRemoteCache(repo, hs.kv, beforeTs) });
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
  const number = (name: string, fallback?: number) => {
    const value = flags.get(name);
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== "string" || !/^\d+$/.test(value)) {
      throw usage(`--${name} must be a non-negative integer`);
    }
    return Number(value);
  };
  if (sub === "largest" && words.length === 1) {
    return (await largestMedia(hs.kv, number("limit", 20))).map((m) =>
      `${m.size}\tmxc://${m.origin}/${m.mediaId}\t${m.contentType}\t${m.uploader ?? "-"}\t${
        m.fileName ?? ""
      }`
    );
  }
  if (sub === "delete" && words.length === 2) {
    const match = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(arg);
    if (!match) throw usage("media delete needs an mxc:// URI");
    const deleted = await repo.delete(match[1], match[2]);
    return [deleted ? `deleted ${arg}` : `no such medium: ${arg}`];
  }
  if (sub === "purge-user" && words.length === 2) {
    const deleted = await purgeUserMedia(repo, hs.kv, arg);
    return [`deleted ${deleted.length} media of ${arg}`];
  }
  if (sub === "purge-remote" && words.length === 1) {
    const days = number("before-days");
    const deleted = await purgeRemoteCache(repo, hs.kv, Date.now() - days * 86400_000);
    return [`deleted ${deleted} cached remote media`];
  }
  throw usage(`unknown media command: ${words.join(" ")}`);
}
