/**
 * Mutual rooms (spec v1.19: Client-Server API, "Mutual Rooms"):
 * `GET /_matrix/client/v1/mutual_rooms?user_id=...&from=...`, the rooms where both the caller
 * and `user_id` are joined.
 *
 * Rooms are listed in room ID order, {@link MUTUAL_ROOMS_PAGE} at a time; `next_batch` is the
 * last room ID of the page (base64url, opaque to clients), so a later page starts after it
 * whatever joins and leaves happened meanwhile, and a token never expires. `count` is the
 * total at the time of the request.
 *
 * @module
 */

import { Hono } from "hono";
import { decodeBase64Url, encodeBase64Url } from "../../crypto/base64.ts";
import { isValidRoomId, isValidUserId } from "../../federation/identifiers.ts";
import { invalidParam, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";

/** Rooms per page. */
export const MUTUAL_ROOMS_PAGE = 100;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The room ID a `from` token continues after. */
function readToken(token: string): string {
  let roomId: string;
  try {
    roomId = decoder.decode(decodeBase64Url(token));
  } catch {
    throw invalidParam("'from' is not a token from a previous response");
  }
  if (!isValidRoomId(roomId)) throw invalidParam("'from' is not a token from a previous response");
  return roomId;
}

/** Routes of the mutual rooms module. */
export function mutualRoomsRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/_matrix/client/v1/mutual_rooms", requireAuth(hs), async (c) => {
    const other = c.req.query("user_id");
    if (other === undefined) throw missingParam("user_id");
    if (other.length > 255 || !isValidUserId(other, { historical: true })) {
      throw invalidParam("'user_id' is not a valid user ID");
    }
    const me = c.var.auth.userId;
    if (other === me) throw invalidParam("'user_id' must be another user than yourself");
    const from = c.req.query("from");
    const after = from === undefined ? undefined : readToken(from);

    const mutual: string[] = [];
    for (const roomId of await hs.rooms.joinedRooms(me)) {
      if ((await hs.rooms.membership(roomId, other))?.membership === "join") mutual.push(roomId);
    }
    mutual.sort();
    const rest = after === undefined ? mutual : mutual.filter((roomId) => roomId > after);
    const page = rest.slice(0, MUTUAL_ROOMS_PAGE);
    const body: Record<string, unknown> = { joined: page, count: mutual.length };
    if (rest.length > page.length) {
      body.next_batch = encodeBase64Url(encoder.encode(page[page.length - 1]));
    }
    return c.json(body);
  });

  return app;
}
