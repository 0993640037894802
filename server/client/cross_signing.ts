/**
 * Cross-signing (spec: "End-to-End Encryption > Cross-signing"):
 * `POST /v3/keys/device_signing/upload` and `POST /v3/keys/signatures/upload`.
 *
 * Uploading cross-signing keys needs user-interactive authentication only when it would replace
 * an existing master key set: the first upload, and a repeat of exactly the stored keys (a
 * client retrying a lost response), go through without it, as the spec allows since v1.11.
 * An application service never needs it (spec v1.17, server/appservice/privileges.ts).
 *
 * @module
 */

import { Hono } from "hono";
import { decodePublicKey, verifyJsonSignature } from "../../crypto/signing.ts";
import { badJson, invalidParam, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalObject, utf8Length } from "../http_util.ts";
import { type AppEnv, clientIp, readBody, requireAuth } from "../request_context.ts";
import {
  type CrossSigningUpload,
  planCrossSigningUpload,
  storeCrossSigningUpload,
  uploadSignatures,
  USAGES,
} from "../e2ee/cross_signing.ts";
import { getDeviceE2ee } from "../e2ee/device_keys.ts";
import {
  checkUserId,
  invalidSignature,
  isObject,
  MAX_DEVICE_ID_BYTES,
  parseCrossSigningKey,
  type ParsedCrossSigningKey,
  usageField,
} from "../e2ee/validate.ts";
import { requireUia } from "./uia.ts";
import { skipsUia } from "../appservice/privileges.ts";

/** Most signed objects one `/keys/signatures/upload` may carry. */
const MAX_SIGNED_OBJECTS = 1000;

/**
 * Checks the signatures the owner put on a master key: each must verify against the master key
 * itself or the owner's device it names. Signatures by keys the server does not know are kept.
 */
async function checkMasterSignatures(
  hs: Homeserver,
  userId: string,
  master: ParsedCrossSigningKey,
): Promise<void> {
  const signatures = master.key.signatures;
  if (!isObject(signatures) || !isObject(signatures[userId])) return;
  for (const keyId of Object.keys(signatures[userId])) {
    let publicKey: Uint8Array | null = null;
    if (keyId === master.keyId) {
      publicKey = master.publicKey;
    } else if (
      keyId.startsWith("ed25519:") && utf8Length(keyId) - 8 <= MAX_DEVICE_ID_BYTES
    ) {
      const deviceId = keyId.slice("ed25519:".length);
      const stored = await getDeviceE2ee(hs.kv, { userId, deviceId });
      const keys = stored?.deviceKeys?.keys as Record<string, string> | undefined;
      publicKey = decodePublicKey(keys?.[keyId]);
    }
    if (publicKey && !(await verifyJsonSignature(master.key, userId, keyId, publicKey))) {
      throw invalidSignature(`Invalid signature by ${keyId} on the master key`);
    }
  }
}

/** Routes of cross-signing. */
export function crossSigningRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  // Clients from before these endpoints were stable still call them under `unstable`.
  app.on(
    "POST",
    [
      "/_matrix/client/v3/keys/device_signing/upload",
      "/_matrix/client/unstable/keys/device_signing/upload",
    ],
    auth,
    async (c) => {
      const { userId } = c.var.auth;
      const body = await readBody(hs, c);
      const keys: CrossSigningUpload = {};
      for (const usage of USAGES) {
        const value = body[usageField(usage)];
        if (value !== undefined && value !== null) {
          keys[usage] = parseCrossSigningKey(value, { userId, usage });
        }
      }
      if (keys.master) await checkMasterSignatures(hs, userId, keys.master);
      for (let attempt = 0; attempt < 5; attempt++) {
        const plan = await planCrossSigningUpload(hs.kv, userId, keys);
        if (plan.unchanged) return c.json({});
        let sessionKey: Deno.KvKey | undefined;
        if (plan.hasMaster && !skipsUia(c)) {
          const outcome = await requireUia(hs, optionalObject(body, "auth"), {
            purpose: "device_signing_upload",
            userId,
            flows: [["m.login.password"]],
            ip: clientIp(c),
          });
          sessionKey = outcome.sessionKey;
        }
        const stored = await storeCrossSigningUpload(hs, userId, { keys, plan }, (op) => {
          if (sessionKey) op.delete(sessionKey);
        });
        if (stored) return c.json({});
      }
      throw new MatrixError("M_UNKNOWN", "Cross-signing keys changed concurrently; retry", {
        status: 409,
      });
    },
  );

  app.on(
    "POST",
    [
      "/_matrix/client/v3/keys/signatures/upload",
      "/_matrix/client/unstable/keys/signatures/upload",
    ],
    auth,
    async (c) => {
      const body = await readBody(hs, c);
      let objects = 0;
      for (const [userId, keys] of Object.entries(body)) {
        checkUserId(userId, "signatures");
        if (!isObject(keys)) throw badJson(`'${userId.slice(0, 80)}' must map key IDs to objects`);
        objects += Object.keys(keys).length;
      }
      if (objects > MAX_SIGNED_OBJECTS) {
        throw invalidParam(`At most ${MAX_SIGNED_OBJECTS} signed objects per request`);
      }
      const failures = await uploadSignatures(hs, c.var.auth.userId, body);
      return c.json({ failures });
    },
  );

  return app;
}
