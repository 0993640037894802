/**
 * Voice over IP (spec: "Voice over IP"): `GET /v3/voip/turnServer`, the TURN servers and
 * credentials a client uses to place and answer calls. The call signalling itself is ordinary
 * room events (`m.call.*`) and needs nothing from the server.
 *
 * With `[turn] shared_secret`, credentials follow the TURN REST API (what coturn's
 * `use-auth-secret` checks): username `<expiry unix seconds>:<user ID>`, password
 * base64(HMAC-SHA1(secret, username)), so the TURN server verifies them without asking us.
 *
 * @module
 */

import { Hono } from "hono";
import type { TurnConfig } from "../config.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, rateLimit, requireAuth } from "../request_context.ts";

/** The `/voip/turnServer` answer when TURN is configured. */
export interface TurnServerResponse {
  username: string;
  password: string;
  uris: string[];
  ttl: number;
}

function base64(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The credentials for `userId` at `nowMs`, or null when no TURN server is configured.
 * Shared-secret credentials expire `ttl` seconds from now.
 */
export async function turnCredentials(
  turn: TurnConfig,
  userId: string,
  options: { nowMs?: number } = {},
): Promise<TurnServerResponse | null> {
  if (turn.uris.length === 0) return null;
  const uris = [...turn.uris];
  if (turn.sharedSecret === "") {
    return { username: turn.username, password: turn.password, uris, ttl: turn.ttl };
  }
  const expiry = Math.floor((options.nowMs ?? Date.now()) / 1000) + turn.ttl;
  const username = `${expiry}:${userId}`;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(turn.sharedSecret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(username));
  return { username, password: base64(mac), uris, ttl: turn.ttl };
}

/** Routes of the VoIP module. */
export function voipRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/_matrix/client/v3/voip/turnServer", requireAuth(hs), async (c) => {
    const userId = c.var.auth.userId;
    // The SDK asks once per start and then about every ten minutes; the bucket of ordinary
    // requests is plenty and stops a client that loops.
    rateLimit(hs, c, "send", { userId });
    const credentials = await turnCredentials(hs.config.turn, userId);
    // No TURN configured: an empty object, as Synapse answers, so clients call without relays.
    return c.json(credentials ?? {});
  });

  return app;
}
