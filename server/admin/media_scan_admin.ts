/**
 * What the malware scanner did (server admins only), newest first:
 *
 * - `GET /_synapse/admin/v1/gemeng/media/infected?from=&limit=`: files refused because clamd
 *   found malware (who uploaded them, the signature, SHA-256, size, name); `next_token` continues.
 * - `GET /_synapse/admin/v1/gemeng/media/unscanned?from=&limit=`: media accepted without a
 *   verdict (`fail_mode = "open"` while clamd was down), to review or delete with the media
 *   admin API.
 *
 * @module
 */

import { Hono } from "hono";
import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import type { InfectedRecord, UnscannedRecord } from "../media/media_scan.ts";
import { adminOnly, integerQuery } from "./admin_common.ts";

const INFECTED_ID = /^\d{15}-[A-Za-z0-9]{8}$/;

/** Routes of the scanner's records. */
export function mediaScanAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const base = "/_synapse/admin/v1/gemeng/media";

  app.get(`${base}/infected`, ...adminOnly(hs), async (c) => {
    const limit = integerQuery(c, "limit", { min: 1, max: 1000, fallback: 100 });
    const from = c.req.query("from");
    if (from !== undefined && !INFECTED_ID.test(from)) {
      throw invalidParam("'from' must be a next_token of an earlier page");
    }
    const selector: Deno.KvListSelector = from === undefined
      ? { prefix: ["media_infected"] }
      : { prefix: ["media_infected"], end: ["media_infected", from] };
    const files = [];
    let nextToken: string | null = null;
    for await (const entry of hs.kv.list<InfectedRecord>(selector, { reverse: true })) {
      if (files.length === limit) {
        nextToken = files[files.length - 1].id;
        break;
      }
      const r = entry.value;
      files.push({
        id: r.id,
        ts: r.ts,
        source: r.source,
        user_id: r.userId,
        mxc: r.mxc,
        signature: r.signature,
        sha256: r.sha256,
        size: r.size,
        file_name: r.fileName,
        content_type: r.contentType,
      });
    }
    return c.json({ files, ...(nextToken !== null ? { next_token: nextToken } : {}) });
  });

  app.get(`${base}/unscanned`, ...adminOnly(hs), async (c) => {
    const limit = integerQuery(c, "limit", { min: 1, max: 1000, fallback: 100 });
    const media = [];
    for await (
      const entry of hs.kv.list<UnscannedRecord>({ prefix: ["media_unscanned"] }, {
        limit: 10_000,
      })
    ) {
      const [, origin, mediaId] = entry.key as [string, string, string];
      media.push({
        mxc: `mxc://${origin}/${mediaId}`,
        ts: entry.value.ts,
        reason: entry.value.reason,
        user_id: entry.value.userId,
      });
    }
    media.sort((a, b) => b.ts - a.ts);
    return c.json({ media: media.slice(0, limit), total: media.length });
  });

  return app;
}
