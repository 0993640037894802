/**
 * Client config (spec: "Client Config"): `GET|PUT /v3/user/{userId}/account_data/{type}` and
 * `GET|PUT /v3/user/{userId}/rooms/{roomId}/account_data/{type}`. The server-managed types
 * `m.fully_read` and `m.push_rules` are readable here but written only through their own APIs.
 *
 * @module
 */

import { Hono } from "hono";
import { forbidden, invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { fitsOneValue } from "../store/kv_batch.ts";
import { utf8Length } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getAccountData, setAccountData } from "../store/account_data.ts";
import { PUSH_RULES_TYPE, renderPushRules } from "../push/rules_store.ts";

/** Largest account data content in bytes of JSON (a KV value holds 64 KiB). */
export const MAX_ACCOUNT_DATA_BYTES = 60 * 1024;

/** Account data types that only the server writes. */
const SERVER_MANAGED = new Set(["m.fully_read", PUSH_RULES_TYPE]);

/** The content clients see for a stored account data object (push rules are rendered). */
export function visibleAccountDataContent(
  userId: string,
  type: string,
  content: Record<string, unknown>,
): Record<string, unknown> {
  if (type === PUSH_RULES_TYPE) return { global: renderPushRules(userId, content) };
  return content;
}

/** Checks the `{userId}` and `{roomId}` path parameters against the caller. */
export function checkOwnAccountData(callerId: string, userId: string, roomId?: string): void {
  if (callerId !== userId) throw forbidden("You cannot access other users' account data");
  if (roomId !== undefined && (!roomId.startsWith("!") || utf8Length(roomId) > 255)) {
    throw invalidParam(`'${roomId}' is not a room ID`);
  }
}

function checkType(type: string): void {
  if (type === "" || utf8Length(type) > 255) {
    throw invalidParam("Account data types are 1 to 255 bytes");
  }
}

type PathParams = { userId: string; roomId?: string; type: string };

/** Routes of the account data API. */
export function accountDataRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  const paths = [
    "/_matrix/client/v3/user/:userId/account_data/:type",
    "/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type",
  ];

  for (const path of paths) {
    app.get(path, auth, async (c) => {
      const { userId, roomId, type } = c.req.param() as PathParams;
      checkOwnAccountData(c.var.auth.userId, userId, roomId);
      const record = await getAccountData(hs, userId, { roomId: roomId ?? "", type });
      if (record === null) {
        if (type === PUSH_RULES_TYPE && roomId === undefined) {
          return c.json(visibleAccountDataContent(userId, type, {}));
        }
        throw notFound("Account data not found");
      }
      return c.json(visibleAccountDataContent(userId, type, record.content));
    });

    app.put(path, auth, async (c) => {
      const { userId, roomId, type } = c.req.param() as PathParams;
      checkOwnAccountData(c.var.auth.userId, userId, roomId);
      checkType(type);
      if (SERVER_MANAGED.has(type)) {
        throw new MatrixError("M_BAD_JSON", `Cannot set ${type} through this API.`, {
          status: 405,
        });
      }
      const content = await readBody(hs, c);
      // Both bounds: the spec-facing size in bytes of JSON, and what KV stores (a string with
      // one character above U+00FF takes two bytes per character there).
      if (
        utf8Length(JSON.stringify(content)) > MAX_ACCOUNT_DATA_BYTES ||
        !fitsOneValue({ content, pos: 0 }, 64)
      ) {
        throw new MatrixError(
          "M_TOO_LARGE",
          `Account data may be at most ${MAX_ACCOUNT_DATA_BYTES} bytes`,
          { status: 413 },
        );
      }
      await setAccountData(hs, userId, { roomId: roomId ?? "", type }, content);
      return c.json({});
    });
  }

  return app;
}
