/**
 * The key ring: our published server keys, and other servers' keys, fetched from the server
 * itself (`/_matrix/key/v2/server`), checked (`checkServerKeys`), and kept in memory and in KV.
 *
 * A key verifies an object signed at time `atTs` when `atTs` is within its validity: up to
 * `valid_until_ts` (capped at 7 days from the fetch) for a current key, up to `expired_ts` for
 * an old one. When the key is unknown, or known only with a validity that ends before `atTs`,
 * it is fetched again (concurrent asks share one fetch; at most one every 5 seconds per server,
 * and after failures in a row 5 s doubling up to 5 minutes, so a flood of requests naming
 * unknown keys or unreachable servers does not become a flood of fetches).
 * Request signatures need a current key (`verify_keys`), never an old one.
 *
 * `pinned_keys` replaces all of this for a server: only the pinned keys are accepted, and its
 * keys are never fetched.
 *
 * KV: `["fed_server_keys", serverName]` -> {@link StoredServerKeys} (the last answer as it was
 * signed, for the notary endpoints, plus every key ever accepted from the server).
 *
 * @module
 */

import { canonicalJsonBytes, type CanonicalJsonOptions } from "../../crypto/canonical_json.ts";
import { decodeBase64, encodeBase64 } from "../../crypto/base64.ts";
import { sha256 } from "../../crypto/hashes.ts";
import { decodePublicKey, type SigningKey, verifyEd25519 } from "../../crypto/signing.ts";
import {
  checkServerKeys,
  type OldVerifyKey,
  publishedKeysJson,
  type TrustedKey,
} from "../../federation/server_keys.ts";
import type { PinnedKey } from "../config.ts";
import type { FederationClient } from "./client.ts";

/** KV key prefixes of the key ring. */
export const keyRingKeys = {
  serverKeys: (serverName: string): Deno.KvKey => ["fed_server_keys", serverName],
} as const;

/** How long our published answer says our keys are valid. */
export const OWN_KEYS_VALIDITY_MS = 24 * 3600_000;
/** Bytes of a key answer read at most. */
export const MAX_KEYS_RESPONSE_BYTES = 32 * 1024;
/** Keys kept per server at most (a hostile server could invent many). */
const MAX_KEYS_PER_SERVER = 32;
/** Least time between two fetches of one server's keys after a successful one. */
const REFETCH_INTERVAL_MS = 5_000;
/** After failures in a row: 5 s, doubling, at most this long between attempts. */
const MAX_FAILURE_BACKOFF_MS = 5 * 60_000;
const MAX_SERVERS_IN_MEMORY = 10_000;
const MAX_VERIFIED = 20_000;
const KEY_FETCH_TIMEOUT_MS = 15_000;

/** A key as stored. */
interface StoredKey {
  key: string;
  validUntilTs: number;
  expiredTs?: number;
}

/** One server's keys as stored in KV. */
export interface StoredServerKeys {
  /** The last answer from the server, exactly as it signed it. */
  response: Record<string, unknown> | null;
  /** When it was fetched. */
  fetchedTs: number;
  /** Every key accepted from the server, by key ID. */
  keys: Record<string, StoredKey>;
}

/** The outcome of {@link KeyRing.verifySignature}. */
export type SignatureCheck =
  | { valid: true; keyId: string }
  | { valid: false; reason: string };

/** Options of signature checks. */
export interface VerifyOptions {
  /** When the object was signed (an event's `origin_server_ts`); default now. */
  atTs?: number;
  /**
   * Whether a key must be valid at `atTs` (room versions 5 and later, and requests). Room
   * versions 1-4 ignore validity: pass false.
   */
  enforceValidity?: boolean;
  /** Accept only current keys (`verify_keys`), as request signatures must. */
  currentOnly?: boolean;
  /** Canonical JSON options (strict for room versions 6 and later). */
  canonical?: CanonicalJsonOptions;
}

/** What a {@link KeyRing} needs. */
export interface KeyRingOptions {
  kv: Deno.Kv;
  serverName: string;
  signingKey: SigningKey;
  client: FederationClient;
  pinnedKeys: Readonly<Record<string, readonly PinnedKey[]>>;
  now?: () => number;
}

function toTrusted(stored: StoredKey): TrustedKey {
  return {
    publicKey: decodeBase64(stored.key),
    validUntilTs: stored.validUntilTs,
    ...(stored.expiredTs !== undefined ? { expiredTs: stored.expiredTs } : {}),
  };
}

/** Our keys and other servers' keys. */
export class KeyRing {
  readonly #options: KeyRingOptions;
  readonly #now: () => number;
  readonly #memory = new Map<string, StoredServerKeys>();
  readonly #inFlight = new Map<string, Promise<StoredServerKeys | null>>();
  readonly #attempts = new Map<string, { ts: number; failures: number }>();
  readonly #verified = new Set<string>();
  #ownJson: { json: Record<string, unknown>; madeTs: number } | null = null;
  #oldKeys: Record<string, OldVerifyKey> = {};

  constructor(options: KeyRingOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Our retired keys (`key_rotation.ts`), published as `old_verify_keys`. */
  setOldVerifyKeys(keys: Record<string, OldVerifyKey>): void {
    const { [this.#options.signingKey.keyId]: _current, ...retired } = keys;
    this.#oldKeys = retired;
    this.#ownJson = null;
  }

  /** Our signed `/_matrix/key/v2/server` answer (remade hourly). */
  async ownKeysJson(): Promise<Record<string, unknown>> {
    const now = this.#now();
    if (this.#ownJson && now - this.#ownJson.madeTs < 3600_000) return this.#ownJson.json;
    const json = await publishedKeysJson({
      serverName: this.#options.serverName,
      signingKey: this.#options.signingKey,
      validUntilTs: now + OWN_KEYS_VALIDITY_MS,
      oldVerifyKeys: this.#oldKeys,
    });
    this.#ownJson = { json, madeTs: now };
    return json;
  }

  /**
   * The known keys of `serverName` by key ID: pinned keys, our own, or what was fetched
   * (fetching when nothing usable until `minimumValidUntilTs` is known).
   */
  async serverKeys(
    serverName: string,
    options: { minimumValidUntilTs?: number } = {},
  ): Promise<Map<string, TrustedKey>> {
    const fixed = this.#fixedKeys(serverName);
    if (fixed) return fixed;
    const minimum = options.minimumValidUntilTs ?? this.#now();
    let entry = await this.#stored(serverName);
    const usable = entry &&
      Object.values(entry.keys).some((k) => k.expiredTs === undefined && k.validUntilTs >= minimum);
    if (!usable) entry = (await this.#fetch(serverName)) ?? entry;
    return new Map(Object.entries(entry?.keys ?? {}).map(([id, k]) => [id, toTrusted(k)]));
  }

  /**
   * The public key `keyId` of `serverName` that may verify an object signed at `atTs`, or null
   * (unknown, expired, old when a current key is needed, or the server unreachable).
   */
  async verifyKey(
    serverName: string,
    keyId: string,
    options: Omit<VerifyOptions, "canonical"> = {},
  ): Promise<Uint8Array | null> {
    const atTs = options.atTs ?? this.#now();
    const enforce = options.enforceValidity ?? true;
    const usable = (k: TrustedKey | StoredKey | undefined) =>
      k !== undefined && !(options.currentOnly && k.expiredTs !== undefined) &&
      (!enforce || atTs <= k.validUntilTs);
    const fixed = this.#fixedKeys(serverName);
    if (fixed) {
      const key = fixed.get(keyId);
      return usable(key) ? key!.publicKey : null;
    }
    let entry = await this.#stored(serverName);
    if (!usable(entry?.keys[keyId])) {
      // Unknown, or known with a validity that ended before atTs: the server may have renewed.
      entry = (await this.#fetch(serverName)) ?? entry;
    }
    const stored = entry?.keys[keyId];
    return usable(stored) ? decodeBase64(stored!.key) : null;
  }

  /**
   * Checks that `object` carries a valid signature of `serverName` by one of its keys (the
   * check the spec asks of events and of other signed objects).
   */
  async verifySignature(
    serverName: string,
    object: Record<string, unknown>,
    options: VerifyOptions = {},
  ): Promise<SignatureCheck> {
    const signatures = object.signatures;
    const mine = typeof signatures === "object" && signatures !== null &&
        Object.hasOwn(signatures, serverName)
      ? (signatures as Record<string, unknown>)[serverName]
      : undefined;
    if (typeof mine !== "object" || mine === null || Array.isArray(mine)) {
      return { valid: false, reason: `not signed by ${serverName}` };
    }
    const { signatures: _s, unsigned: _u, ...signed } = object;
    let message: Uint8Array;
    try {
      message = canonicalJsonBytes(signed, options.canonical);
    } catch {
      return { valid: false, reason: "not canonical JSON" };
    }
    let digest: string | null = null;
    let reason = `no usable key of ${serverName}`;
    for (const [keyId, sig] of Object.entries(mine as Record<string, unknown>)) {
      if (!keyId.startsWith("ed25519:") || typeof sig !== "string") continue;
      const publicKey = await this.verifyKey(serverName, keyId, options);
      if (!publicKey) {
        reason = `key ${keyId} of ${serverName} is unknown or not valid at that time`;
        continue;
      }
      digest ??= encodeBase64(sha256(message));
      const cacheKey = `${encodeBase64(publicKey)}|${sig}|${digest}`;
      if (this.#verified.has(cacheKey)) return { valid: true, keyId };
      let signature: Uint8Array;
      try {
        signature = decodeBase64(sig);
      } catch {
        reason = `signature by ${keyId} is not Base64`;
        continue;
      }
      if (await verifyEd25519(publicKey, message, signature)) {
        this.#verified.add(cacheKey);
        if (this.#verified.size > MAX_VERIFIED) {
          this.#verified.delete(this.#verified.values().next().value!);
        }
        return { valid: true, keyId };
      }
      reason = `signature by ${keyId} of ${serverName} does not match`;
    }
    return { valid: false, reason };
  }

  /**
   * The answers the notary endpoints return for `serverName`: the server's own signed answer,
   * fetched again when it is valid until before `minimumValidUntilTs`, else as cached (a notary
   * may answer for servers that are down); empty when there is none.
   */
  async notaryAnswers(
    serverName: string,
    options: { minimumValidUntilTs?: number } = {},
  ): Promise<Record<string, unknown>[]> {
    if (serverName === this.#options.serverName) return [await this.ownKeysJson()];
    if (this.#options.pinnedKeys[serverName] || !this.#options.client.isAllowed(serverName)) {
      return [];
    }
    const minimum = options.minimumValidUntilTs ?? this.#now();
    let entry = await this.#stored(serverName);
    const validUntil = entry?.response?.valid_until_ts;
    if (!entry?.response || typeof validUntil !== "number" || validUntil < minimum) {
      entry = (await this.#fetch(serverName)) ?? entry;
    }
    return entry?.response ? [entry.response] : [];
  }

  #fixedKeys(serverName: string): Map<string, TrustedKey> | null {
    if (serverName === this.#options.serverName) {
      const key = this.#options.signingKey;
      const keys = new Map<string, TrustedKey>();
      for (const [keyId, old] of Object.entries(this.#oldKeys)) {
        const publicKey = decodePublicKey(old.key);
        if (publicKey) {
          keys.set(keyId, { publicKey, validUntilTs: old.expiredTs, expiredTs: old.expiredTs });
        }
      }
      keys.set(key.keyId, { publicKey: key.publicKey, validUntilTs: Number.MAX_SAFE_INTEGER });
      return keys;
    }
    const pinned = this.#options.pinnedKeys[serverName];
    if (!pinned) return null;
    return new Map(pinned.map((pin) => [pin.keyId, {
      publicKey: decodePublicKey(pin.key)!,
      validUntilTs: Number.MAX_SAFE_INTEGER,
    }]));
  }

  async #stored(serverName: string): Promise<StoredServerKeys | null> {
    const cached = this.#memory.get(serverName);
    if (cached) return cached;
    const entry = await this.#options.kv.get<StoredServerKeys>(keyRingKeys.serverKeys(serverName));
    if (entry.value) this.#remember(serverName, entry.value);
    return entry.value;
  }

  #remember(serverName: string, entry: StoredServerKeys): void {
    this.#memory.delete(serverName);
    this.#memory.set(serverName, entry);
    while (this.#memory.size > MAX_SERVERS_IN_MEMORY) {
      this.#memory.delete(this.#memory.keys().next().value!);
    }
  }

  /** Fetches the server's keys (one fetch at a time, rate-limited), null on failure. */
  #fetch(serverName: string): Promise<StoredServerKeys | null> {
    const pending = this.#inFlight.get(serverName);
    if (pending) return pending;
    const last = this.#attempts.get(serverName);
    const wait = last === undefined
      ? 0
      : last.failures === 0
      ? REFETCH_INTERVAL_MS
      : Math.min(MAX_FAILURE_BACKOFF_MS, REFETCH_INTERVAL_MS * 2 ** (last.failures - 1));
    if (last !== undefined && this.#now() - last.ts < wait) return Promise.resolve(null);
    const attempt = { ts: this.#now(), failures: last?.failures ?? 0 };
    this.#attempts.delete(serverName);
    this.#attempts.set(serverName, attempt);
    if (this.#attempts.size > MAX_SERVERS_IN_MEMORY) {
      this.#attempts.delete(this.#attempts.keys().next().value!);
    }
    const fetching = this.#fetchNow(serverName).then((entry) => {
      attempt.failures = 0;
      return entry;
    }, (err) => {
      attempt.failures++;
      console.warn(`federation: cannot fetch the keys of ${serverName}: ${err.message ?? err}`);
      return null;
    }).finally(() => this.#inFlight.delete(serverName));
    this.#inFlight.set(serverName, fetching);
    return fetching;
  }

  async #fetchNow(serverName: string): Promise<StoredServerKeys> {
    const json = await this.#options.client.requestJson(serverName, {
      method: "GET",
      path: "/_matrix/key/v2/server",
      maxBytes: MAX_KEYS_RESPONSE_BYTES,
      timeoutMs: KEY_FETCH_TIMEOUT_MS,
    });
    const now = this.#now();
    const trusted = await checkServerKeys(json, { serverName, now });
    if (trusted.size > MAX_KEYS_PER_SERVER) throw new Error("too many keys in the answer");
    const before = await this.#stored(serverName);
    const keys: Record<string, StoredKey> = { ...before?.keys };
    for (const [keyId, key] of trusted) {
      keys[keyId] = {
        key: encodeBase64(key.publicKey),
        validUntilTs: key.validUntilTs,
        ...(key.expiredTs !== undefined ? { expiredTs: key.expiredTs } : {}),
      };
    }
    // Keep the newest keys when a server has rotated more often than the bound.
    const kept = Object.entries(keys).sort((a, b) => b[1].validUntilTs - a[1].validUntilTs)
      .slice(0, MAX_KEYS_PER_SERVER);
    const entry: StoredServerKeys = {
      response: json,
      fetchedTs: now,
      keys: Object.fromEntries(kept),
    };
    await this.#options.kv.set(keyRingKeys.serverKeys(serverName), entry);
    this.#remember(serverName, entry);
    return entry;
  }
}
