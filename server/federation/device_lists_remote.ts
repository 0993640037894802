/**
 * Device lists of users of other servers (Server-Server API, "Device Management"): a cache in
 * KV of each remote user's device keys and cross-signing keys, filled by
 * `GET /_matrix/federation/v1/user/devices/{userId}` on first use, kept current by the
 * `m.device_list_update` and `m.signing_key_update` EDUs of the user's server, and resynced when
 * an update's `prev_id` names a `stream_id` we never saw (a gap).
 *
 * Every accepted update is also written into the local device-list stream (`e2ee_dl`), so that
 * sync's `device_lists.changed` and `/keys/changes` report the remote user to local users who
 * share a room with them, exactly as for a local user.
 *
 * Everything another server sends is checked: the user must belong to the sending server and
 * be joined to a room we know, keys must be objects naming that user (and device) and of
 * bounded size.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { recordDeviceListChange } from "../e2ee/device_lists.ts";
import { visiblePosition } from "../e2ee/positions.ts";
import { e2eeKeys, type JsonObject } from "../e2ee/schema.ts";
import { isObject, MAX_KEY_OBJECT_BYTES } from "../e2ee/validate.ts";
import { localListenersOf, wakeUsers } from "../sync/positions.ts";
import { FederationRequestError } from "./client.ts";
import { mapLimited } from "../concurrency.ts";

/** Key builders of the remote device-list cache. */
export const remoteDeviceKeys = {
  /** `["e2ee_remote_user", userId]` -> {@link RemoteUserRecord}. */
  user: (userId: string): Deno.KvKey => e2eeKeys.remoteUser(userId),
  /** `["e2ee_remote_device", userId, deviceId]` -> the device keys (with `unsigned`). */
  device: (userId: string, deviceId: string): Deno.KvKey => [
    "e2ee_remote_device",
    userId,
    deviceId,
  ],
  /** Prefix of a remote user's cached devices. */
  devicesOf: (userId: string): Deno.KvKey => ["e2ee_remote_device", userId],
};

/** What is cached of a remote user besides the device keys. */
export interface RemoteUserRecord {
  /** The latest `stream_id` applied. */
  streamId: number;
  /** Recent stream IDs applied (a later update's `prev_id` must name only these). */
  seen: number[];
  /** A gap was seen: the next query resyncs. */
  stale: boolean;
  master?: JsonObject;
  selfSigning?: JsonObject;
  /** When the list was last fetched whole (ms). */
  syncedAt: number;
  /** The stream position when it was fetched: a join of the user after it means a resync. */
  syncedPos?: number;
}

/** Devices cached per remote user at most. */
export const MAX_REMOTE_DEVICES = 1000;
/** Stream IDs remembered per user. */
const SEEN_IDS = 32;
/**
 * A cache entry is refetched after this long even without a gap: updates are only sent while
 * we share a room, so one missed while we did not would otherwise stay unnoticed.
 */
const CACHE_LIFETIME_MS = 6 * 3600_000;
const RESYNC_TIMEOUT_MS = 10_000;

/** Checks device keys from another server: an object naming `userId` and `deviceId`. */
export function checkedRemoteDeviceKeys(
  value: unknown,
  userId: string,
  deviceId: string,
): JsonObject | null {
  if (!isObject(value) || value.user_id !== userId || value.device_id !== deviceId) return null;
  if (!isObject(value.keys) || !Array.isArray(value.algorithms)) return null;
  if (JSON.stringify(value).length > MAX_KEY_OBJECT_BYTES) return null;
  return value;
}

/** Checks a cross-signing key from another server (`usage` must include `usage`). */
export function checkedRemoteCrossSigningKey(
  value: unknown,
  userId: string,
  usage: string,
): JsonObject | null {
  if (!isObject(value) || value.user_id !== userId || !isObject(value.keys)) return null;
  if (!Array.isArray(value.usage) || !value.usage.includes(usage)) return null;
  if (JSON.stringify(value).length > MAX_KEY_OBJECT_BYTES) return null;
  return value;
}

function withName(keys: JsonObject, name: unknown): JsonObject {
  const unsigned = typeof name === "string" && name.length <= 256
    ? { device_display_name: name }
    : {};
  return { ...keys, unsigned };
}

/**
 * Fetches a remote user's whole device list (`/user/devices/{userId}`) and replaces the cache.
 *
 * @throws {FederationRequestError} when the server does not answer properly
 */
export async function resyncRemoteUser(
  hs: Homeserver,
  userId: string,
): Promise<RemoteUserRecord> {
  const server = serverNameOf(userId)!;
  // An update that lands while we fetch changes this entry: the result is then kept stale.
  const before = await hs.kv.get<RemoteUserRecord>(remoteDeviceKeys.user(userId));
  const syncedPos = await visiblePosition(hs);
  const answer = await hs.federation.client.request(server, {
    method: "GET",
    path: `/_matrix/federation/v1/user/devices/${encodeURIComponent(userId)}`,
    timeoutMs: RESYNC_TIMEOUT_MS,
    maxBytes: 4 * 1024 * 1024,
  });
  const body = answer.json;
  if (answer.status !== 200 || !isObject(body) || body.user_id !== userId) {
    throw new FederationRequestError("BAD_ANSWER", server, `user/devices: ${answer.status}`, {
      status: answer.status,
    });
  }
  const streamId = typeof body.stream_id === "number" && Number.isSafeInteger(body.stream_id)
    ? body.stream_id
    : 0;
  const devices = new Map<string, JsonObject>();
  for (const device of Array.isArray(body.devices) ? body.devices : []) {
    if (devices.size >= MAX_REMOTE_DEVICES || !isObject(device)) continue;
    const deviceId = device.device_id;
    if (typeof deviceId !== "string" || deviceId.length > 255) continue;
    const keys = checkedRemoteDeviceKeys(device.keys, userId, deviceId);
    if (keys) devices.set(deviceId, withName(keys, device.device_display_name));
  }
  const record: RemoteUserRecord = {
    streamId,
    seen: [streamId],
    stale: false,
    syncedAt: Date.now(),
    syncedPos,
  };
  const master = checkedRemoteCrossSigningKey(body.master_key, userId, "master");
  const selfSigning = checkedRemoteCrossSigningKey(
    body.self_signing_key,
    userId,
    "self_signing",
  );
  if (master) record.master = master;
  if (selfSigning) record.selfSigning = selfSigning;

  const old = await Array.fromAsync(hs.kv.list({ prefix: remoteDeviceKeys.devicesOf(userId) }));
  const writes: [Deno.KvKey, unknown][] = [];
  for (const entry of old) {
    if (!devices.has(entry.key[2] as string)) writes.push([entry.key, undefined]);
  }
  for (const [deviceId, keys] of devices) {
    writes.push([remoteDeviceKeys.device(userId, deviceId), keys]);
  }
  for (let i = 0; i < writes.length; i += 10) {
    const op = hs.kv.atomic();
    for (const [key, value] of writes.slice(i, i + 10)) {
      if (value === undefined) op.delete(key);
      else op.set(key, value);
    }
    await op.commit();
  }
  const userKey = remoteDeviceKeys.user(userId);
  if (!(await hs.kv.atomic().check(before).set(userKey, record).commit()).ok) {
    record.stale = true;
    await hs.kv.set(userKey, record);
  }
  return record;
}

/**
 * Whether a remote user's cached record must be fetched again: missing, stale or old, when
 * the user shares no room with us (no updates reach us then), or when they joined a room since
 * it was fetched (we may have shared no room before, and missed updates).
 */
async function cachedIfFresh(
  hs: Homeserver,
  userId: string,
): Promise<RemoteUserRecord | null> {
  const [cached, rooms] = await Promise.all([
    hs.kv.get<RemoteUserRecord>(remoteDeviceKeys.user(userId)),
    hs.rooms.roomsOfUser(userId),
  ]);
  const joins = rooms.filter((m) => m.membership === "join").map((m) => m.lastJoinPos ?? m.pos);
  const record = cached.value;
  const fresh = record !== null && !record.stale &&
    Date.now() - record.syncedAt < CACHE_LIFETIME_MS && joins.length > 0 &&
    Math.max(...joins) <= (record.syncedPos ?? 0);
  return fresh ? record : null;
}

/** The cached record of a remote user, fetched first when it is not fresh. */
export async function currentRemoteUser(
  hs: Homeserver,
  userId: string,
): Promise<RemoteUserRecord> {
  return (await cachedIfFresh(hs, userId)) ?? await resyncRemoteUser(hs, userId);
}

/** Users asked of a server in one `/user/keys/query` when several need fetching. */
const KEYS_QUERY_BATCH = 100;

/**
 * Fetches several users of one server with one `/user/keys/query` each batch (instead of a
 * `/user/devices` each) and caches what comes back. That answer has no `stream_id`, so the
 * records remember none: the user's first device-list update with a `prev_id` is then a gap,
 * and resyncs them with `/user/devices`. Users the answer leaves out are not cached.
 */
async function prefetchRemoteUsers(
  hs: Homeserver,
  server: string,
  userIds: readonly string[],
): Promise<void> {
  for (let i = 0; i < userIds.length; i += KEYS_QUERY_BATCH) {
    const batch = userIds.slice(i, i + KEYS_QUERY_BATCH);
    const syncedPos = await visiblePosition(hs);
    const answer = await hs.federation.client.request(server, {
      method: "POST",
      path: "/_matrix/federation/v1/user/keys/query",
      body: { device_keys: Object.fromEntries(batch.map((u) => [u, []])) },
      timeoutMs: RESYNC_TIMEOUT_MS,
      maxBytes: 16 * 1024 * 1024,
    });
    const body = answer.json;
    if (answer.status !== 200 || !isObject(body) || !isObject(body.device_keys)) return;
    const masters = isObject(body.master_keys) ? body.master_keys : {};
    const selfSigning = isObject(body.self_signing_keys) ? body.self_signing_keys : {};
    for (const userId of batch) {
      const listed = body.device_keys[userId];
      if (!isObject(listed)) continue;
      const writes: [Deno.KvKey, JsonObject][] = [];
      for (const [deviceId, raw] of Object.entries(listed).slice(0, MAX_REMOTE_DEVICES)) {
        if (deviceId.length > 255) continue;
        const keys = checkedRemoteDeviceKeys(raw, userId, deviceId);
        if (keys) writes.push([remoteDeviceKeys.device(userId, deviceId), keys]);
      }
      const record: RemoteUserRecord = {
        streamId: 0,
        seen: [],
        stale: false,
        syncedAt: Date.now(),
        syncedPos,
      };
      const master = checkedRemoteCrossSigningKey(masters[userId], userId, "master");
      const selfKey = checkedRemoteCrossSigningKey(selfSigning[userId], userId, "self_signing");
      if (master) record.master = master;
      if (selfKey) record.selfSigning = selfKey;
      const old = await Array.fromAsync(
        hs.kv.list({ prefix: remoteDeviceKeys.devicesOf(userId) }),
      );
      const keep = new Set(writes.map(([key]) => key[2] as string));
      const ops: [Deno.KvKey, JsonObject | undefined][] = [
        ...old.filter((e) => !keep.has(e.key[2] as string)).map((e) =>
          [e.key, undefined] as [Deno.KvKey, undefined]
        ),
        ...writes,
      ];
      for (let j = 0; j < ops.length; j += 10) {
        const op = hs.kv.atomic();
        for (const [key, value] of ops.slice(j, j + 10)) {
          if (value === undefined) op.delete(key);
          else op.set(key, value);
        }
        await op.commit();
      }
      await hs.kv.set(remoteDeviceKeys.user(userId), record);
    }
  }
}

/** The keys of remote users, for `/keys/query`. */
export interface RemoteKeys {
  device_keys: Record<string, Record<string, JsonObject>>;
  master_keys: Record<string, JsonObject>;
  self_signing_keys: Record<string, JsonObject>;
  failures: Record<string, JsonObject>;
}

/**
 * Answers a key query for users of other servers from the cache, fetching the lists that are
 * missing or stale (servers in parallel); a server that fails is reported in `failures`.
 *
 * @param wanted user ID -> device IDs (empty for all)
 */
export async function queryRemoteKeys(
  hs: Homeserver,
  wanted: ReadonlyMap<string, readonly string[]>,
  options: { timeoutMs?: number } = {},
): Promise<RemoteKeys> {
  const out: RemoteKeys = { device_keys: {}, master_keys: {}, self_signing_keys: {}, failures: {} };
  const byServer = new Map<string, [string, readonly string[]][]>();
  for (const [userId, devices] of wanted) {
    const server = serverNameOf(userId);
    if (!server) continue;
    if (!hs.config.federation.enabled) {
      out.failures[server] = {};
      continue;
    }
    let list = byServer.get(server);
    if (!list) byServer.set(server, list = []);
    list.push([userId, devices]);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  await Promise.all([...byServer].map(async ([server, users]) => {
    const work = (async () => {
      // Users to fetch: one query for several (a cold cache), else their own resync.
      const fresh = await mapLimited(users, 16, ([userId]) => cachedIfFresh(hs, userId));
      const stale = users.filter((_, i) => fresh[i] === null).map(([userId]) => userId);
      if (stale.length > 1) await prefetchRemoteUsers(hs, server, stale).catch(() => {});
      for (let i = 0; i < users.length; i += 16) {
        await Promise.all(
          users.slice(i, i + 16).map(async ([userId, deviceIds]) => {
            const record = await currentRemoteUser(hs, userId);
            const devices: Record<string, JsonObject> = {};
            const entries = hs.kv.list<JsonObject>({ prefix: remoteDeviceKeys.devicesOf(userId) });
            const only = new Set(deviceIds);
            for await (const entry of entries) {
              const deviceId = entry.key[2] as string;
              if (only.size === 0 || only.has(deviceId)) devices[deviceId] = entry.value;
            }
            out.device_keys[userId] = devices;
            if (record.master) out.master_keys[userId] = record.master;
            if (record.selfSigning) out.self_signing_keys[userId] = record.selfSigning;
          }),
        );
      }
    })();
    try {
      await withDeadline(work, timeoutMs);
    } catch (err) {
      out.failures[server] = failureOf(err);
    }
  }));
  return out;
}

/**
 * Writes a remote user's change into the local device-list stream and wakes the syncs of the
 * local users in that user's rooms (the notifier indexes the rooms of local users only).
 */
async function recordRemoteChange(
  hs: Homeserver,
  userId: string,
  change: { deviceIds?: string[]; deleted?: string[]; crossSigning?: boolean },
): Promise<void> {
  const pos = await recordDeviceListChange(hs, { userId, ...change });
  const users = new Set<string>();
  for (const roomId of await hs.rooms.joinedRooms(userId)) {
    for (const local of localListenersOf(hs, roomId)) users.add(local);
  }
  wakeUsers(hs, users, pos);
}

async function knownToUs(hs: Homeserver, userId: string): Promise<boolean> {
  return (await hs.rooms.joinedRooms(userId)).length > 0;
}

/** Handles an inbound `m.device_list_update` EDU. */
export async function onDeviceListUpdate(
  hs: Homeserver,
  origin: string,
  content: JsonObject,
): Promise<void> {
  const { user_id: userId, device_id: deviceId, stream_id: streamId } = content;
  if (typeof userId !== "string" || serverNameOf(userId) !== origin) return;
  if (typeof deviceId !== "string" || deviceId === "" || deviceId.length > 255) return;
  if (typeof streamId !== "number" || !Number.isSafeInteger(streamId)) return;
  const prevIds = Array.isArray(content.prev_id) ? content.prev_id.slice(0, 50) : [];
  if (!(await knownToUs(hs, userId))) return;
  const deleted = content.deleted === true;
  const userKey = remoteDeviceKeys.user(userId);
  const cached = await hs.kv.get<RemoteUserRecord>(userKey);
  if (!cached.value) {
    // Nothing cached, but a fetch may be under way: this stale entry makes it refetch later.
    const record: RemoteUserRecord = { streamId, seen: [streamId], stale: true, syncedAt: 0 };
    await hs.kv.set(userKey, record);
  } else if (!cached.value.seen.includes(streamId)) {
    const record = { ...cached.value };
    const gap = prevIds.some((id) => !record.seen.includes(id as number));
    if (gap) {
      record.stale = true;
    } else {
      const deviceKey = remoteDeviceKeys.device(userId, deviceId);
      const keys = deleted ? null : checkedRemoteDeviceKeys(content.keys, userId, deviceId);
      if (deleted) await hs.kv.delete(deviceKey);
      else if (keys) await hs.kv.set(deviceKey, withName(keys, content.device_display_name));
      else record.stale = true; // an update without usable keys: fetch the list instead
    }
    record.seen = [...record.seen, streamId].slice(-SEEN_IDS);
    record.streamId = Math.max(record.streamId, streamId);
    if (!(await hs.kv.atomic().check(cached).set(userKey, record).commit()).ok) {
      await hs.kv.set(userKey, { ...record, stale: true });
    }
  }
  await recordRemoteChange(hs, userId, {
    deviceIds: [deviceId],
    deleted: deleted ? [deviceId] : [],
  });
}

/** Handles an inbound `m.signing_key_update` EDU. */
export async function onSigningKeyUpdate(
  hs: Homeserver,
  origin: string,
  content: JsonObject,
): Promise<void> {
  const userId = content.user_id;
  if (typeof userId !== "string" || serverNameOf(userId) !== origin) return;
  if (!(await knownToUs(hs, userId))) return;
  const master = checkedRemoteCrossSigningKey(content.master_key, userId, "master");
  const selfSigning = checkedRemoteCrossSigningKey(
    content.self_signing_key,
    userId,
    "self_signing",
  );
  const userKey = remoteDeviceKeys.user(userId);
  const cached = await hs.kv.get<RemoteUserRecord>(userKey);
  if (cached.value) {
    const record = { ...cached.value };
    if (master) record.master = master;
    if (selfSigning) record.selfSigning = selfSigning;
    if (!(await hs.kv.atomic().check(cached).set(userKey, record).commit()).ok) {
      await hs.kv.set(userKey, { ...record, stale: true });
    }
  }
  await recordRemoteChange(hs, userId, { crossSigning: true });
}

/** What the servers of remote devices handed out for `/keys/claim`. */
export interface RemoteClaims {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, JsonObject>;
}

/** Runs `work` with a deadline; a late answer is ignored. */
async function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
  }
}

function failureOf(err: unknown): JsonObject {
  return err instanceof FederationRequestError && err.status
    ? { status: err.status }
    : { status: 503, message: err instanceof Error ? err.message : "unreachable" };
}

/**
 * Claims one-time keys of remote devices from their servers (`/user/keys/claim`), servers in
 * parallel; the answer of each keeps only its own users' devices that were asked for, with
 * each key an object or string of bounded size.
 */
export async function claimRemoteKeys(
  hs: Homeserver,
  claims: readonly { userId: string; deviceId: string; algorithm: string }[],
  options: { timeoutMs?: number } = {},
): Promise<RemoteClaims> {
  const out: RemoteClaims = { one_time_keys: {}, failures: {} };
  const byServer = new Map<string, Record<string, Record<string, string>>>();
  for (const { userId, deviceId, algorithm } of claims) {
    const server = serverNameOf(userId);
    if (!server) continue;
    if (!hs.config.federation.enabled) {
      out.failures[server] = {};
      continue;
    }
    let users = byServer.get(server);
    if (!users) byServer.set(server, users = {});
    (users[userId] ??= {})[deviceId] = algorithm;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  await Promise.all([...byServer].map(async ([server, asked]) => {
    try {
      const answer = await withDeadline(
        hs.federation.client.request(server, {
          method: "POST",
          path: "/_matrix/federation/v1/user/keys/claim",
          body: { one_time_keys: asked },
          timeoutMs,
          maxBytes: 4 * 1024 * 1024,
        }),
        timeoutMs,
      );
      const body = answer.json;
      if (answer.status !== 200 || !isObject(body) || !isObject(body.one_time_keys)) {
        out.failures[server] = { status: answer.status };
        return;
      }
      for (const [userId, devices] of Object.entries(body.one_time_keys)) {
        if (!asked[userId] || !isObject(devices)) continue;
        for (const [deviceId, keys] of Object.entries(devices)) {
          if (!(deviceId in asked[userId]) || !isObject(keys)) continue;
          const [entry] = Object.entries(keys);
          if (!entry || entry[0].length > 300) continue;
          const [keyId, key] = entry;
          if (typeof key !== "string" && !isObject(key)) continue;
          if (JSON.stringify(key).length > 4096) continue;
          (out.one_time_keys[userId] ??= {})[deviceId] = { [keyId]: key };
        }
      }
    } catch (err) {
      out.failures[server] = failureOf(err);
    }
  }));
  return out;
}
