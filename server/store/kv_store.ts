/**
 * The one place that owns the Deno KV key layout for accounts. Every key the account code reads
 * or writes is built here; ARCHITECTURE.md ("Storage: accounts") documents the same schema in
 * prose. Other storage areas (rooms, sync) add their own key builders in their own files under
 * distinct first key parts.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A stored user account. */
export interface UserRecord {
  /** Full Matrix user ID, `@local:server`. */
  userId: string;
  /** The crypto/password.ts hash string; null once deactivated. */
  passwordHash: string | null;
  /** Server administrator. */
  admin: boolean;
  /** Deactivated accounts cannot log in and keep their ID reserved forever. */
  deactivated: boolean;
  /** Creation time, ms since the epoch. */
  createdTs: number;
  /** A guest account (server/client/guests.ts); absent for ordinary accounts. */
  isGuest?: boolean;
  /** Deactivated with erasure by an admin (profile removed); absent otherwise. */
  erased?: boolean;
}

/** A stored device: the owner of one access token and (optionally) one refresh token. */
export interface DeviceRecord {
  userId: string;
  deviceId: string;
  displayName: string | null;
  createdTs: number;
  lastSeenTs: number;
  lastSeenIp: string | null;
  /** SHA-256 (hex) of the device's current access token. */
  accessTokenHash: string;
  /** SHA-256 (hex) of the current refresh token, if the client asked for one. */
  refreshTokenHash: string | null;
  /**
   * The refresh token just superseded; it stays valid until the new access or refresh token
   * is first used, so a client that lost the `/refresh` response can repeat it.
   */
  previousRefreshTokenHash: string | null;
}

/** A stored access token, keyed by its SHA-256. */
export interface AccessTokenRecord {
  userId: string;
  deviceId: string;
  /** Expiry (ms since the epoch), set only for tokens issued together with a refresh token. */
  expiresTs: number | null;
  /** On first use, revoke this (previous) refresh token of the device. */
  revokesRefreshHash: string | null;
}

/** A stored refresh token, keyed by its SHA-256. */
export interface RefreshTokenRecord {
  userId: string;
  deviceId: string;
}

/** A registration token (`m.login.registration_token`), keyed by its SHA-256. */
export interface RegistrationTokenRecord {
  /** Maximum completed registrations; null for unlimited. */
  usesAllowed: number | null;
  /** Registrations completed with this token. */
  completed: number;
  /** Expiry in ms since the epoch; null for never. */
  expiryTs: number | null;
  createdTs: number;
  /**
   * The token itself, so that admins can list and hand it out again (as Synapse keeps it);
   * absent on tokens made before the admin API, which are known by their hash only.
   */
  token?: string;
}

/** A user-interactive authentication session. */
export interface UiaSessionRecord {
  /** Which operation the session authorises, e.g. `register`, `password`. */
  purpose: string;
  /** The user the session belongs to (null for registration). */
  userId: string | null;
  /** Completed stage types. */
  completed: string[];
  /** Per-stage results, e.g. the registration token hash. */
  results: Record<string, string>;
  createdTs: number;
  expiresTs: number;
}

/** A nonce for shared-secret registration. */
export interface SharedSecretNonceRecord {
  expiresTs: number;
}

/** Key builders for the account storage area. */
export const accountKeys = {
  /** All users: `["user", userId]`. */
  user: (userId: string): Deno.KvKey => ["user", userId],
  /** One device: `["device", userId, deviceId]`. */
  device: (userId: string, deviceId: string): Deno.KvKey => ["device", userId, deviceId],
  /** The prefix of all devices of a user. */
  devicesOf: (userId: string): Deno.KvKey => ["device", userId],
  /** An access token by hash: `["access_token", sha256hex]`. */
  accessToken: (hash: string): Deno.KvKey => ["access_token", hash],
  /** A refresh token by hash: `["refresh_token", sha256hex]`. */
  refreshToken: (hash: string): Deno.KvKey => ["refresh_token", hash],
  /** A registration token by hash: `["registration_token", sha256hex]`. */
  registrationToken: (hash: string): Deno.KvKey => ["registration_token", hash],
  /** A UIA session: `["uia", sessionId]`. */
  uiaSession: (sessionId: string): Deno.KvKey => ["uia", sessionId],
  /** A shared-secret registration nonce: `["shared_secret_nonce", nonce]`. */
  sharedSecretNonce: (nonce: string): Deno.KvKey => ["shared_secret_nonce", nonce],
  /**
   * A process's access-token revocation mark: `["meta", "token_epoch", writerId]` -> a number
   * that changes with every commit of that process that deletes or replaces access tokens, so
   * that other processes' token caches notice (server/store/devices.ts).
   */
  tokenEpoch: (writerId: string): Deno.KvKey => ["meta", "token_epoch", writerId],
  /** The prefix of all processes' revocation marks. */
  tokenEpochs: (): Deno.KvKey => ["meta", "token_epoch"],
  /**
   * A running server's acknowledgement: `["meta", "token_epoch_seen", watcherId]` -> `{marks,
   * at}`, the other processes' marks its token cache was last emptied under and when it said so
   * (refreshed every 2 s; an older one is a server that is gone, even before KV sweeps it). The
   * CLI waits for these before it reports a revocation done.
   */
  tokenEpochSeen: (watcherId: string): Deno.KvKey => ["meta", "token_epoch_seen", watcherId],
  /** The prefix of all running servers' acknowledgements. */
  tokenEpochsSeen: (): Deno.KvKey => ["meta", "token_epoch_seen"],
} as const;

/** SHA-256 of a secret as lowercase hex: how tokens are stored and looked up. */
export function secretHash(secret: string): string {
  // Every authenticated request hashes its token: the native hex digest is several times
  // faster than encoding, hashing and hex-formatting in script (same bytes: UTF-8).
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Deno KV's limit on checks per atomic operation, with a margin. */
export const MAX_CHECKS_PER_COMMIT = 90;
