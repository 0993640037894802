/**
 * Room tagging (spec: "Room Tagging"): `GET /v3/user/{userId}/rooms/{roomId}/tags` and
 * `PUT|DELETE .../tags/{tag}`. Tags live in the room's `m.tag` account data, so `/sync`
 * delivers them like any room account data.
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { utf8Length } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getAccountData, updateAccountData } from "../store/account_data.ts";
import { checkOwnAccountData } from "./account_data.ts";

/** Most tags on one room. */
export const MAX_TAGS_PER_ROOM = 100;

type Tags = Record<string, Record<string, unknown>>;

function tagsOf(content: Record<string, unknown> | null | undefined): Tags {
  const tags = content?.tags;
  return typeof tags === "object" && tags !== null && !Array.isArray(tags)
    ? { ...tags as Tags }
    : {};
}

/** Routes of the tags API. */
export function tagRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  const base = "/_matrix/client/v3/user/:userId/rooms/:roomId/tags";

  app.get(base, auth, async (c) => {
    const userId = c.req.param("userId");
    const roomId = c.req.param("roomId");
    checkOwnAccountData(c.var.auth.userId, userId, roomId);
    const record = await getAccountData(hs, userId, { roomId, type: "m.tag" });
    return c.json({ tags: tagsOf(record?.content) });
  });

  app.put(`${base}/:tag`, auth, async (c) => {
    const userId = c.req.param("userId");
    const roomId = c.req.param("roomId");
    const tag = c.req.param("tag");
    checkOwnAccountData(c.var.auth.userId, userId, roomId);
    if (tag === "" || utf8Length(tag) > 255) throw invalidParam("Tags are 1 to 255 bytes");
    const body = await readBody(hs, c, { allowEmpty: true });
    if (body.order !== undefined && (typeof body.order !== "number" || !isFinite(body.order))) {
      throw badJson("'order' must be a number");
    }
    if (utf8Length(JSON.stringify(body)) > 1024) throw badJson("Tag data is at most 1024 bytes");
    await updateAccountData(hs, userId, { roomId, type: "m.tag" }, (current) => {
      const tags = tagsOf(current);
      if (!(tag in tags) && Object.keys(tags).length >= MAX_TAGS_PER_ROOM) {
        throw invalidParam(`A room can have at most ${MAX_TAGS_PER_ROOM} tags`);
      }
      tags[tag] = body;
      return { ...current, tags };
    });
    return c.json({});
  });

  app.delete(`${base}/:tag`, auth, async (c) => {
    const userId = c.req.param("userId");
    const roomId = c.req.param("roomId");
    const tag = c.req.param("tag");
    checkOwnAccountData(c.var.auth.userId, userId, roomId);
    await updateAccountData(hs, userId, { roomId, type: "m.tag" }, (current) => {
      const tags = tagsOf(current);
      if (!(tag in tags)) return null;
      delete tags[tag];
      return { ...current, tags };
    });
    return c.json({});
  });

  return app;
}
