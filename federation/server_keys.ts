/**
 * Server keys (Server-Server API, "Retrieving server keys"): the signed object a server
 * publishes at `/_matrix/key/v2/server`, and the checks a receiver makes before trusting one,
 * fetched directly or through a notary. Pure: the caller passes the time and the keys.
 *
 * @module
 */

import {
  decodePublicKey,
  type SigningKey,
  signJson,
  verifyJsonSignature,
} from "../crypto/signing.ts";
import { isValidServerName } from "./identifiers.ts";

/** The longest a fetched key is trusted, whatever `valid_until_ts` says (the spec's 7 days). */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 3600_000;

/** Key IDs: the algorithm, a colon, and a version of `[a-zA-Z0-9_]`. */
const KEY_ID = /^ed25519:[a-zA-Z0-9_]+$/;

/** A key the server used before, and when it stopped. */
export interface OldVerifyKey {
  /** Unpadded Base64 public key. */
  key: string;
  expiredTs: number;
}

/** What a server publishes about itself. */
export interface PublishedKeys {
  serverName: string;
  /** The current signing key (it signs the object). */
  signingKey: SigningKey;
  /** When readers should fetch again (ms since the epoch). */
  validUntilTs: number;
  /** Retired keys by key ID: valid only for events they signed before. */
  oldVerifyKeys?: Record<string, OldVerifyKey>;
}

/** The signed `/_matrix/key/v2/server` answer. */
export async function publishedKeysJson(keys: PublishedKeys): Promise<Record<string, unknown>> {
  const oldVerifyKeys: Record<string, unknown> = {};
  for (const [keyId, old] of Object.entries(keys.oldVerifyKeys ?? {})) {
    oldVerifyKeys[keyId] = { key: old.key, expired_ts: old.expiredTs };
  }
  return await signJson(
    {
      server_name: keys.serverName,
      valid_until_ts: keys.validUntilTs,
      verify_keys: { [keys.signingKey.keyId]: { key: keys.signingKey.publicKeyBase64 } },
      old_verify_keys: oldVerifyKeys,
    },
    keys.serverName,
    keys.signingKey,
  );
}

/** One usable key of another server. */
export interface TrustedKey {
  publicKey: Uint8Array;
  /**
   * Until when it may verify: `valid_until_ts` capped at 7 days (current keys). Room versions
   * 1-4 ignore this bound; the caller applies it by room version.
   */
  validUntilTs: number;
  /** For an old key: when it stopped being used (events signed later are not its). */
  expiredTs?: number;
}

/** Why a key answer is not trusted. */
export class ServerKeysError extends Error {
  /** Stable code for callers. */
  readonly code = "BAD_SERVER_KEYS";
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "ServerKeysError";
  }
}

/**
 * Checks a server-keys object for `serverName` and returns its keys by ID: it must be for that
 * server, well formed, and signed by every one of its `verify_keys`. When `notary` is given (an
 * answer relayed by `/_matrix/key/v2/query`), the notary's signature with one of its keys must
 * be there too.
 *
 * @param now the time, for capping validity at 7 days
 * @throws {ServerKeysError} with the reason when the answer cannot be trusted
 */
export async function checkServerKeys(
  body: unknown,
  options: {
    serverName: string;
    now: number;
    notary?: { serverName: string; keys: Record<string, Uint8Array> };
  },
): Promise<Map<string, TrustedKey>> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ServerKeysError("server keys must be a JSON object");
  }
  const json = body as Record<string, unknown>;
  if (json.server_name !== options.serverName || !isValidServerName(options.serverName)) {
    throw new ServerKeysError(`keys are for '${String(json.server_name)}', not the server asked`);
  }
  const validUntil = json.valid_until_ts;
  if (typeof validUntil !== "number" || !Number.isSafeInteger(validUntil)) {
    throw new ServerKeysError("valid_until_ts must be an integer");
  }
  const verifyKeys = objectField(json, "verify_keys");
  const oldKeys = objectField(json, "old_verify_keys", { optional: true });
  const trusted = new Map<string, TrustedKey>();
  const cappedUntil = Math.min(validUntil, options.now + MAX_KEY_VALIDITY_MS);
  for (const [keyId, entry] of Object.entries(verifyKeys)) {
    const publicKey = keyOf(keyId, entry);
    if (!(await verifyJsonSignature(json, options.serverName, keyId, publicKey))) {
      throw new ServerKeysError(`the answer is not signed by its key ${keyId}`);
    }
    trusted.set(keyId, { publicKey, validUntilTs: cappedUntil });
  }
  if (trusted.size === 0) throw new ServerKeysError("verify_keys is empty");
  for (const [keyId, entry] of Object.entries(oldKeys)) {
    if (trusted.has(keyId)) continue;
    const expiredTs = (entry as Record<string, unknown>)?.expired_ts;
    if (typeof expiredTs !== "number" || !Number.isSafeInteger(expiredTs)) {
      throw new ServerKeysError(`old key ${keyId} needs an integer expired_ts`);
    }
    trusted.set(keyId, { publicKey: keyOf(keyId, entry), validUntilTs: expiredTs, expiredTs });
  }
  if (options.notary) {
    const notary = options.notary;
    let signed = false;
    for (const [keyId, publicKey] of Object.entries(notary.keys)) {
      if (await verifyJsonSignature(json, notary.serverName, keyId, publicKey)) signed = true;
    }
    if (!signed) throw new ServerKeysError(`the notary ${notary.serverName} did not sign it`);
  }
  return trusted;
}

function objectField(
  json: Record<string, unknown>,
  name: string,
  options: { optional?: boolean } = {},
): Record<string, unknown> {
  const value = json[name];
  if (value === undefined && options.optional) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ServerKeysError(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

function keyOf(keyId: string, entry: unknown): Uint8Array {
  if (!KEY_ID.test(keyId)) throw new ServerKeysError(`'${keyId}' is not an ed25519 key ID`);
  const text = (entry as Record<string, unknown> | null)?.key;
  const publicKey = decodePublicKey(text);
  if (!publicKey) throw new ServerKeysError(`key ${keyId} is not an unpadded Base64 Ed25519 key`);
  return publicKey;
}
