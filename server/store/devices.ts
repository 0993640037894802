/**
 * Devices and their tokens on Deno KV. A device record owns its access token (and refresh
 * token); tokens are stored only as SHA-256 hashes, so a leaked database leaks no credential.
 * Every change is one atomic commit guarded by versionstamp checks.
 *
 * Every authenticated request looks its token up; valid tokens are cached in memory
 * (server/store/token_cache.ts). Every function here that deletes or replaces a token adds
 * {@link addTokenRevocation} to its commit, so that the caches of this and other processes refuse
 * it at once.
 *
 * @module
 */

import { randomString, randomToken } from "../../crypto/tokens.ts";
import { addTokenRevocation, tokenCache } from "./token_cache.ts";
import {
  type AccessTokenRecord,
  accountKeys,
  type DeviceRecord,
  type RefreshTokenRecord,
  secretHash,
} from "./kv_store.ts";
import { ContentionError, inTurn } from "./turns.ts";

/** Tokens handed to a client at login, registration or refresh. */
export interface IssuedTokens {
  deviceId: string;
  accessToken: string;
  /** Present when the client asked for a refresh token. */
  refreshToken?: string;
  /** Lifetime of the access token, present with a refresh token. */
  expiresInMs?: number;
}

/** Who an access token belongs to. */
export interface TokenOwner {
  userId: string;
  deviceId: string;
  /** SHA-256 hex of the token that was presented. */
  tokenHash: string;
}

/** Options for issuing a device session. */
export interface IssueOptions {
  /** Client-chosen device ID; reusing a known one replaces its tokens. */
  deviceId?: string;
  /** Display name for a new device (ignored for a known device). */
  displayName?: string;
  /** Issue a refresh token and an expiring access token. */
  refresh?: boolean;
  /** Access token lifetime when `refresh` is set. */
  accessTokenLifetimeMs: number;
  /** Client address for `last_seen_ip`. */
  ip?: string | null;
  /** Clock, for tests. */
  now?: number;
}

/** Device IDs we generate: 10 uppercase letters, like other homeservers. */
export function generateDeviceId(): string {
  return randomString(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

function newAccessToken(): string {
  return `gmat_${randomToken(32)}`;
}

function newRefreshToken(): string {
  return `gmrt_${randomToken(32)}`;
}

/**
 * Adds to `op` the mutations that create (or re-key) a device with fresh tokens. When
 * `existing` is given, its old tokens are deleted and its other fields kept. The caller adds
 * its own checks (at least one on the device key) and commits.
 */
export function addDeviceSession(
  op: Deno.AtomicOperation,
  target: { userId: string; existing: DeviceRecord | null },
  options: IssueOptions,
): IssuedTokens {
  const now = options.now ?? Date.now();
  const { userId, existing } = target;
  const deviceId = existing?.deviceId ?? options.deviceId ?? generateDeviceId();
  if (existing) {
    addTokenRevocation(op, existing.accessTokenHash);
    op.delete(accountKeys.accessToken(existing.accessTokenHash));
    for (const hash of [existing.refreshTokenHash, existing.previousRefreshTokenHash]) {
      if (hash) op.delete(accountKeys.refreshToken(hash));
    }
  }
  const accessToken = newAccessToken();
  const accessHash = secretHash(accessToken);
  const refreshToken = options.refresh ? newRefreshToken() : undefined;
  const refreshHash = refreshToken ? secretHash(refreshToken) : null;
  const device: DeviceRecord = {
    userId,
    deviceId,
    displayName: existing ? existing.displayName : options.displayName ?? null,
    createdTs: existing?.createdTs ?? now,
    lastSeenTs: now,
    lastSeenIp: options.ip ?? existing?.lastSeenIp ?? null,
    accessTokenHash: accessHash,
    refreshTokenHash: refreshHash,
    previousRefreshTokenHash: null,
  };
  const tokenRecord: AccessTokenRecord = {
    userId,
    deviceId,
    expiresTs: refreshToken ? now + options.accessTokenLifetimeMs : null,
    revokesRefreshHash: null,
  };
  op.set(accountKeys.device(userId, deviceId), device);
  op.set(accountKeys.accessToken(accessHash), tokenRecord);
  if (refreshHash) {
    op.set(accountKeys.refreshToken(refreshHash), { userId, deviceId } as RefreshTokenRecord);
  }
  return refreshToken
    ? { deviceId, accessToken, refreshToken, expiresInMs: options.accessTokenLifetimeMs }
    : { deviceId, accessToken };
}

/** The result of looking up an access token. */
export type TokenLookup =
  | { status: "valid"; owner: TokenOwner }
  | { status: "expired" }
  | { status: "unknown" };

/**
 * Looks up an access token by its hash. On the first use of a token issued by `/refresh`, the
 * refresh token it superseded is revoked (one commit).
 */
export async function lookupAccessToken(
  kv: Deno.Kv,
  token: string,
  options: { now?: number } = {},
): Promise<TokenLookup> {
  const tokenHash = secretHash(token);
  const cache = tokenCache(kv);
  const now = options.now ?? Date.now();
  const cached = cache.get(tokenHash);
  if (cached) {
    if (cached.expiresTs !== null && cached.expiresTs <= now) return { status: "expired" };
    return {
      status: "valid",
      owner: { userId: cached.userId, deviceId: cached.deviceId, tokenHash },
    };
  }
  // Taken before the token is read: a record is cached only if the marks held meanwhile.
  const marks = cache.marks;
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await kv.get<AccessTokenRecord>(accountKeys.accessToken(tokenHash));
    if (!entry.value) return { status: "unknown" };
    const record = entry.value;
    if (record.expiresTs !== null && record.expiresTs <= now) {
      return { status: "expired" };
    }
    const owner = { userId: record.userId, deviceId: record.deviceId, tokenHash };
    if (!record.revokesRefreshHash) {
      cache.remember(tokenHash, record, marks);
      return { status: "valid", owner };
    }
    const deviceKey = accountKeys.device(record.userId, record.deviceId);
    const device = await kv.get<DeviceRecord>(deviceKey);
    if (!device.value) return { status: "unknown" };
    const op = kv.atomic().check(entry).check(device)
      .set(entry.key, { ...record, revokesRefreshHash: null })
      .delete(accountKeys.refreshToken(record.revokesRefreshHash));
    if (device.value.previousRefreshTokenHash === record.revokesRefreshHash) {
      op.set(deviceKey, { ...device.value, previousRefreshTokenHash: null });
    }
    if ((await op.commit()).ok) {
      cache.remember(tokenHash, { ...record, revokesRefreshHash: null }, marks);
      return { status: "valid", owner };
    }
  }
  throw new ContentionError("access token lookup");
}

/**
 * Exchanges a refresh token for a new access token and refresh token (the spec's `/refresh`).
 * The old refresh token stays usable until the new tokens are used.
 *
 * @returns the new tokens, or null when the refresh token is unknown or revoked
 */
export async function refreshSession(
  kv: Deno.Kv,
  refreshToken: string,
  options: { accessTokenLifetimeMs: number; now?: number },
): Promise<IssuedTokens | null> {
  const hash = secretHash(refreshToken);
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await kv.get<RefreshTokenRecord>(accountKeys.refreshToken(hash));
    if (!entry.value) return null;
    const { userId, deviceId } = entry.value;
    const device = await kv.get<DeviceRecord>(accountKeys.device(userId, deviceId));
    if (!device.value) return null;
    const current = device.value;
    const op = kv.atomic().check(entry).check(device);
    addTokenRevocation(op, current.accessTokenHash);
    op.delete(accountKeys.accessToken(current.accessTokenHash));
    let previous: string;
    if (current.refreshTokenHash === hash) {
      // Normal rotation: the token before this one can go; this one is kept until the new
      // tokens are used.
      if (current.previousRefreshTokenHash) {
        op.delete(accountKeys.refreshToken(current.previousRefreshTokenHash));
      }
      previous = hash;
    } else if (current.previousRefreshTokenHash === hash) {
      // The client lost the response to its last refresh and repeats it.
      if (current.refreshTokenHash) op.delete(accountKeys.refreshToken(current.refreshTokenHash));
      previous = hash;
    } else {
      return null;
    }
    const now = options.now ?? Date.now();
    const accessToken = newAccessToken();
    const newRefresh = newRefreshToken();
    const accessHash = secretHash(accessToken);
    const refreshHash = secretHash(newRefresh);
    op.set(
      accountKeys.accessToken(accessHash),
      {
        userId,
        deviceId,
        expiresTs: now + options.accessTokenLifetimeMs,
        revokesRefreshHash: previous,
      } satisfies AccessTokenRecord,
    );
    op.set(accountKeys.refreshToken(refreshHash), { userId, deviceId } as RefreshTokenRecord);
    op.set(
      device.key,
      {
        ...current,
        accessTokenHash: accessHash,
        refreshTokenHash: refreshHash,
        previousRefreshTokenHash: previous,
      } satisfies DeviceRecord,
    );
    if ((await op.commit()).ok) {
      return {
        deviceId,
        accessToken,
        refreshToken: newRefresh,
        expiresInMs: options.accessTokenLifetimeMs,
      };
    }
  }
  throw new ContentionError("refresh");
}

/** Adds to `op` the deletion of a device and all of its tokens (the caller checks `entry`). */
export function addDeviceDeletion(
  op: Deno.AtomicOperation,
  entry: Deno.KvEntry<DeviceRecord>,
): void {
  const device = entry.value;
  addTokenRevocation(op, device.accessTokenHash);
  op.check(entry).delete(entry.key).delete(accountKeys.accessToken(device.accessTokenHash));
  for (const hash of [device.refreshTokenHash, device.previousRefreshTokenHash]) {
    if (hash) op.delete(accountKeys.refreshToken(hash));
  }
}

/** Lists the devices of a user. */
export async function listDevices(kv: Deno.Kv, userId: string): Promise<DeviceRecord[]> {
  const devices: DeviceRecord[] = [];
  for await (const entry of kv.list<DeviceRecord>({ prefix: accountKeys.devicesOf(userId) })) {
    devices.push(entry.value);
  }
  return devices;
}

/** Counts the devices of a user, stopping at `limit`. */
export async function countDevices(
  kv: Deno.Kv,
  userId: string,
  options: { limit: number },
): Promise<number> {
  let count = 0;
  const iter = kv.list({ prefix: accountKeys.devicesOf(userId) }, {
    limit: options.limit,
    consistency: "eventual",
  });
  for await (const _ of iter) count++;
  return count;
}

/** Reads one device. */
export async function getDevice(
  kv: Deno.Kv,
  userId: string,
  deviceId: string,
): Promise<DeviceRecord | null> {
  return (await kv.get<DeviceRecord>(accountKeys.device(userId, deviceId))).value;
}

/**
 * Renames a device.
 *
 * @returns false when the device does not exist
 */
export async function renameDevice(
  kv: Deno.Kv,
  target: { userId: string; deviceId: string },
  displayName: string | null,
): Promise<boolean> {
  return await inTurn(kv, ["device", target.userId, target.deviceId], async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await kv.get<DeviceRecord>(accountKeys.device(target.userId, target.deviceId));
      if (!entry.value) return false;
      const result = await kv.atomic().check(entry).set(entry.key, { ...entry.value, displayName })
        .commit();
      if (result.ok) return true;
    }
    throw new ContentionError("device rename");
  });
}

/**
 * Records that a device was seen now, at most once per `minIntervalMs`, so that ordinary
 * requests do not each cost a write.
 */
export async function touchDevice(
  kv: Deno.Kv,
  owner: { userId: string; deviceId: string },
  options: { ip: string | null; minIntervalMs: number; now?: number },
): Promise<void> {
  const now = options.now ?? Date.now();
  const cache = tokenCache(kv);
  const seenKey = `${owner.userId}\u0000${owner.deviceId}`;
  const known = cache.lastSeen(seenKey);
  // The stored time is at least the one remembered: no need to read it while that is recent.
  if (known !== undefined && now - known < options.minIntervalMs && now >= known) return;
  const entry = await kv.get<DeviceRecord>(accountKeys.device(owner.userId, owner.deviceId));
  if (!entry.value) {
    cache.setLastSeen(seenKey, null);
    return;
  }
  if (now - entry.value.lastSeenTs < options.minIntervalMs) {
    cache.setLastSeen(seenKey, entry.value.lastSeenTs);
    return;
  }
  // A lost race only means another request recorded the visit first.
  const result = await kv.atomic().check(entry)
    .set(entry.key, { ...entry.value, lastSeenTs: now, lastSeenIp: options.ip }).commit();
  if (result.ok) cache.setLastSeen(seenKey, now);
}

/**
 * Deletes devices of a user (all, or those `select` accepts) together with their tokens, in as
 * few commits as Deno KV's per-commit limits allow. `prepare` adds the mutations and checks of
 * the logical change that causes the deletion (e.g. deactivating the user); they go into the
 * first commit. If any check fails, everything is re-read and retried.
 *
 * @returns the IDs of the deleted devices
 */
export async function deleteDevices(
  kv: Deno.Kv,
  userId: string,
  options: {
    select?: (device: DeviceRecord) => boolean;
    prepare?: (op: Deno.AtomicOperation) => void | Promise<void>;
    /** Devices per commit; Deno KV allows at most 100 checks per commit. */
    batchSize?: number;
  } = {},
): Promise<string[]> {
  const batchSize = options.batchSize ?? 80;
  const deleted: string[] = [];
  let prepared = !options.prepare;
  for (let attempt = 0; attempt < 50; attempt++) {
    const batch: Deno.KvEntry<DeviceRecord>[] = [];
    for await (const entry of kv.list<DeviceRecord>({ prefix: accountKeys.devicesOf(userId) })) {
      if (options.select && !options.select(entry.value)) continue;
      batch.push(entry);
      if (batch.length >= batchSize) break;
    }
    if (batch.length === 0 && prepared) return deleted;
    const op = kv.atomic();
    if (!prepared) await options.prepare!(op);
    for (const entry of batch) addDeviceDeletion(op, entry);
    if ((await op.commit()).ok) {
      prepared = true;
      deleted.push(...batch.map((entry) => entry.value.deviceId));
      if (batch.length < batchSize) return deleted;
    }
  }
  throw new ContentionError("device deletion");
}
