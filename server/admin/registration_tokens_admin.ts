/**
 * Registration tokens over Synapse's admin API (server admins only; changes audited), on the
 * store that `POST /register` consumes with `m.login.registration_token`:
 *
 * - `GET /_synapse/admin/v1/registration_tokens?valid=true|false`
 * - `POST /_synapse/admin/v1/registration_tokens/new` (`token`, `length`, `uses_allowed`,
 *   `expiry_time`)
 * - `GET|PUT|DELETE /_synapse/admin/v1/registration_tokens/{token}`
 *
 * A token is `{token, uses_allowed, pending, completed, expiry_time}`. `completed` counts
 * registrations made with it; `pending` counts registrations that passed the token stage and
 * have not finished (their UIA sessions), as in Synapse. Tokens made before the token was
 * kept in its record are known by their hash only: they are listed as `sha256:<hex>`, and that
 * name reads, updates and deletes them.
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, invalidParam, notFound } from "../errors.ts";
import type { JsonObject } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody } from "../request_context.ts";
import { createRegistrationToken, TokenExistsError } from "../store/accounts.ts";
import { accountKeys, type RegistrationTokenRecord, secretHash } from "../store/kv_store.ts";
import type { UiaSession } from "../client/uia.ts";
import { auditAdminAction } from "./audit.ts";
import { adminOnly } from "./admin_common.ts";

/** Synapse's token grammar. */
const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const HASH_NAME = /^sha256:([0-9a-f]{64})$/;
const TOKEN_STAGE = "m.login.registration_token";
/** Most UIA sessions read to count pending registrations. */
const PENDING_SCAN_LIMIT = 10_000;

/** The pending registrations of every token hash (registration sessions past the stage). */
async function pendingByHash(kv: Deno.Kv): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const now = Date.now();
  const iter = kv.list<UiaSession>({ prefix: ["uia"] }, { limit: PENDING_SCAN_LIMIT });
  for await (const entry of iter) {
    const session = entry.value;
    const hash = session.results?.[TOKEN_STAGE];
    if (session.purpose !== "register" || !hash) continue;
    if (session.registeredUserId !== undefined || session.expiresTs <= now) continue;
    counts.set(hash, (counts.get(hash) ?? 0) + 1);
  }
  return counts;
}

function tokenJson(hash: string, record: RegistrationTokenRecord, pending: number) {
  return {
    token: record.token ?? `sha256:${hash}`,
    uses_allowed: record.usesAllowed,
    pending,
    completed: record.completed,
    expiry_time: record.expiryTs,
  };
}

/** The KV hash of a token as the path names it. */
function hashOfName(name: string): string {
  const legacy = HASH_NAME.exec(name);
  if (legacy) return legacy[1];
  if (!TOKEN_PATTERN.test(name)) throw invalidParam("Not a registration token");
  return secretHash(name);
}

function usesAllowedField(body: JsonObject): number | null | undefined {
  const value = body.uses_allowed;
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31) {
    throw invalidParam("'uses_allowed' must be a non-negative integer or null");
  }
  return value;
}

function expiryField(body: JsonObject): number | null | undefined {
  const value = body.expiry_time;
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidParam("'expiry_time' must be a time in milliseconds or null");
  }
  if (value < Date.now()) throw invalidParam("'expiry_time' must not be in the past");
  return value;
}

/** Routes of registration token administration. */
export function registrationTokensAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const base = "/_synapse/admin/v1/registration_tokens";

  async function read(name: string) {
    const hash = hashOfName(name);
    const entry = await hs.kv.get<RegistrationTokenRecord>(accountKeys.registrationToken(hash));
    if (!entry.value) throw notFound("No such registration token");
    return { hash, entry: entry as Deno.KvEntry<RegistrationTokenRecord> };
  }

  app.get(base, ...admin, async (c) => {
    const valid = c.req.query("valid");
    if (valid !== undefined && valid !== "true" && valid !== "false") {
      throw invalidParam("'valid' must be true or false");
    }
    const pending = await pendingByHash(hs.kv);
    const now = Date.now();
    const tokens = [];
    const prefix = ["registration_token"];
    for await (const entry of hs.kv.list<RegistrationTokenRecord>({ prefix })) {
      const hash = entry.key[1] as string;
      const json = tokenJson(hash, entry.value, pending.get(hash) ?? 0);
      const isValid = (json.uses_allowed === null ||
        json.pending + json.completed < json.uses_allowed) &&
        (json.expiry_time === null || json.expiry_time > now);
      if (valid === undefined || isValid === (valid === "true")) {
        tokens.push({ json, createdTs: entry.value.createdTs });
      }
    }
    tokens.sort((a, b) => a.createdTs - b.createdTs);
    return c.json({ registration_tokens: tokens.map((t) => t.json) });
  });

  app.post(`${base}/new`, ...admin, async (c) => {
    const body = await readBody(hs, c, { allowEmpty: true });
    const given = body.token;
    if (given !== undefined && (typeof given !== "string" || !TOKEN_PATTERN.test(given))) {
      throw invalidParam("'token' must be 1 to 64 characters of A-Z a-z 0-9 . _ ~ -");
    }
    const length = body.length ?? 16;
    if (typeof length !== "number" || !Number.isInteger(length) || length < 1 || length > 64) {
      throw invalidParam("'length' must be an integer from 1 to 64");
    }
    if (given !== undefined && body.length !== undefined) {
      throw invalidParam("Give 'token' or 'length', not both");
    }
    const usesAllowed = usesAllowedField(body) ?? null;
    const expiryTs = expiryField(body) ?? null;
    let token: string;
    try {
      token = await createRegistrationToken(hs.kv, {
        token: given as string | undefined,
        length,
        usesAllowed,
        expiryTs,
      });
    } catch (err) {
      if (err instanceof TokenExistsError) throw invalidParam("Token already exists");
      throw err;
    }
    await auditAdminAction(hs, c, "registration_token.create", {
      target: token,
      details: { uses_allowed: usesAllowed, expiry_time: expiryTs },
    });
    return c.json({
      token,
      uses_allowed: usesAllowed,
      pending: 0,
      completed: 0,
      expiry_time: expiryTs,
    });
  });

  app.get(`${base}/:registrationToken`, ...admin, async (c) => {
    const { hash, entry } = await read(c.req.param("registrationToken"));
    const pending = (await pendingByHash(hs.kv)).get(hash) ?? 0;
    return c.json(tokenJson(hash, entry.value, pending));
  });

  app.put(`${base}/:registrationToken`, ...admin, async (c) => {
    const name = c.req.param("registrationToken");
    const body = await readBody(hs, c, { allowEmpty: true });
    for (const key of Object.keys(body)) {
      if (key !== "uses_allowed" && key !== "expiry_time") {
        throw badJson(`Only 'uses_allowed' and 'expiry_time' can be changed, not '${key}'`);
      }
    }
    const usesAllowed = usesAllowedField(body);
    const expiryTs = expiryField(body);
    for (let attempt = 0; attempt < 5; attempt++) {
      const { hash, entry } = await read(name);
      const next: RegistrationTokenRecord = {
        ...entry.value,
        ...(usesAllowed !== undefined ? { usesAllowed } : {}),
        ...(expiryTs !== undefined ? { expiryTs } : {}),
      };
      // Checked against the read, so a registration completing meanwhile is not undone.
      if (!(await hs.kv.atomic().check(entry).set(entry.key, next).commit()).ok) continue;
      await auditAdminAction(hs, c, "registration_token.update", {
        target: next.token ?? name,
        details: {
          ...(usesAllowed !== undefined ? { uses_allowed: usesAllowed } : {}),
          ...(expiryTs !== undefined ? { expiry_time: expiryTs } : {}),
        },
      });
      const pending = (await pendingByHash(hs.kv)).get(hash) ?? 0;
      return c.json(tokenJson(hash, next, pending));
    }
    throw invalidParam("The token changed meanwhile; try again");
  });

  app.delete(`${base}/:registrationToken`, ...admin, async (c) => {
    const name = c.req.param("registrationToken");
    const { entry } = await read(name);
    await hs.kv.delete(entry.key);
    await auditAdminAction(hs, c, "registration_token.delete", {
      target: entry.value.token ?? name,
    });
    return c.json({});
  });

  return app;
}
