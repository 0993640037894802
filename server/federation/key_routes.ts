/**
 * The key endpoints (Server-Server API, "Retrieving server keys"): our own keys at
 * `GET /_matrix/key/v2/server`, and the notary endpoints `GET /_matrix/key/v2/query/{serverName}`
 * and `POST /_matrix/key/v2/query`, which answer with each server's own signed keys (from the
 * key ring's cache, fetched when not valid until the asked time) with our signature added.
 * None of them requires request signatures.
 *
 * @module
 */

import { Hono } from "hono";
import { signJson } from "../../crypto/signing.ts";
import { isValidServerName } from "../../federation/identifiers.ts";
import { badJson, invalidParam } from "../errors.ts";
import { readJsonObject } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp } from "../request_context.ts";

/** Servers one notary request may ask about. */
export const MAX_NOTARY_SERVERS = 100;
const MAX_NOTARY_BODY_BYTES = 64 * 1024;

function minimumValidUntil(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw invalidParam(`${what} must be a non-negative integer`);
  }
  return n;
}

/** Routes of the key endpoints. */
export function keyRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const ring = hs.federation.keys;

  async function notarised(serverName: string, minimum: number | undefined) {
    const answers = await ring.notaryAnswers(serverName, { minimumValidUntilTs: minimum });
    return await Promise.all(
      answers.map((answer) => signJson(answer, hs.config.serverName, hs.signingKey)),
    );
  }

  app.get("/_matrix/key/v2/server", async (c) => c.json(await ring.ownKeysJson()));
  // The key ID segment was removed from the spec, but older servers (Synapse 1.67) still ask
  // with it; the answer is the same (it lists every key).
  app.get("/_matrix/key/v2/server/:keyId", async (c) => c.json(await ring.ownKeysJson()));

  app.get("/_matrix/key/v2/query/:serverName", async (c) => {
    hs.federation.rateLimiter.check("key_query", clientIp(c));
    const minimum = minimumValidUntil(
      c.req.query("minimum_valid_until_ts"),
      "minimum_valid_until_ts",
    );
    return c.json({ server_keys: await notarised(c.req.param("serverName"), minimum) });
  });

  app.post("/_matrix/key/v2/query", async (c) => {
    hs.federation.rateLimiter.check("key_query", clientIp(c));
    const body = await readJsonObject(c.req.raw, { maxBytes: MAX_NOTARY_BODY_BYTES });
    const query = body.server_keys;
    if (typeof query !== "object" || query === null || Array.isArray(query)) {
      throw badJson("server_keys must be an object of server names");
    }
    const servers = Object.entries(query as Record<string, unknown>);
    if (servers.length > MAX_NOTARY_SERVERS) {
      throw badJson(`server_keys may name at most ${MAX_NOTARY_SERVERS} servers`);
    }
    const asks: { serverName: string; minimum: number | undefined }[] = [];
    for (const [serverName, criteria] of servers) {
      if (!isValidServerName(serverName)) throw badJson(`'${serverName}' is not a server name`);
      if (typeof criteria !== "object" || criteria === null || Array.isArray(criteria)) {
        throw badJson(`server_keys.${serverName} must be an object of key IDs`);
      }
      // Any key ID may come back; the latest minimum_valid_until_ts asked for is honoured.
      let minimum: number | undefined;
      for (const [keyId, criterion] of Object.entries(criteria as Record<string, unknown>)) {
        if (typeof criterion !== "object" || criterion === null || Array.isArray(criterion)) {
          throw badJson(`server_keys.${serverName}.${keyId} must be an object`);
        }
        const value = minimumValidUntil(
          (criterion as Record<string, unknown>).minimum_valid_until_ts,
          `server_keys.${serverName}.${keyId}.minimum_valid_until_ts`,
        );
        if (value !== undefined) minimum = Math.max(minimum ?? 0, value);
      }
      asks.push({ serverName, minimum });
    }
    const results = await Promise.all(asks.map((ask) => notarised(ask.serverName, ask.minimum)));
    return c.json({ server_keys: results.flat() });
  });

  return app;
}
