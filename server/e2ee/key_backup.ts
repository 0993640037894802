/**
 * Server-side key backup storage: backup versions (numbered per user, never reused) and the
 * encrypted megolm session keys stored in them. The server sees only ciphertext
 * (`session_data`) and the metadata the spec's replacement rules need.
 *
 * @module
 */

import { MatrixError, notFound } from "../errors.ts";
import {
  addCosts,
  checkCost,
  commitBatches,
  deleteCost,
  deleteRange,
  getManyChunked,
  setCost,
} from "../store/kv_batch.ts";
import {
  type BackupSessionRecord,
  type BackupVersionRecord,
  e2eeKeys,
  type JsonObject,
} from "./schema.ts";
import { ContentionError, inTurn } from "../store/turns.ts";

/**
 * Sessions per commit: each adds a check, and Deno KV allows 100 checks per commit (large
 * session data cuts batches shorter, see {@link commitBatches}).
 */
const SESSIONS_PER_COMMIT = 90;

/** Reads the latest backup version of a user (null when there is none). */
export async function latestBackup(
  kv: Deno.Kv,
  userId: string,
): Promise<Deno.KvEntry<BackupVersionRecord> | null> {
  const iter = kv.list<BackupVersionRecord>({ prefix: e2eeKeys.backupVersionsOf(userId) }, {
    reverse: true,
    limit: 1,
  });
  for await (const entry of iter) return entry;
  return null;
}

/** Reads one backup version (null when it does not exist or was deleted). */
export async function getBackup(
  kv: Deno.Kv,
  userId: string,
  version: string,
): Promise<Deno.KvEntry<BackupVersionRecord> | null> {
  const entry = await kv.get<BackupVersionRecord>(e2eeKeys.backupVersion(userId, version));
  return entry.value ? entry as Deno.KvEntry<BackupVersionRecord> : null;
}

/** Creates a backup version; it becomes the current one. */
export async function createBackup(
  kv: Deno.Kv,
  userId: string,
  backup: { algorithm: string; authData: JsonObject },
): Promise<string> {
  return await inTurn(kv, ["room_keys", userId], async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const counter = await kv.get<number>(e2eeKeys.backupCounter(userId));
      const version = String((counter.value ?? 0) + 1);
      const record: BackupVersionRecord = {
        version,
        algorithm: backup.algorithm,
        authData: backup.authData,
        etag: 0,
        count: 0,
      };
      const result = await kv.atomic().check(counter)
        .set(counter.key, Number(version))
        .set(e2eeKeys.backupVersion(userId, version), record)
        .commit();
      if (result.ok) return version;
    }
    throw new ContentionError("backup creation");
  });
}

/**
 * Replaces a backup's `auth_data`; the algorithm cannot change.
 *
 * @throws {MatrixError} 404 M_NOT_FOUND, 400 M_INVALID_PARAM for another algorithm
 */
export async function updateBackup(
  kv: Deno.Kv,
  userId: string,
  update: { version: string; algorithm: string; authData: JsonObject },
): Promise<void> {
  return await inTurn(kv, ["room_keys", userId], async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await getBackup(kv, userId, update.version);
      if (!entry) throw notFound("Unknown backup version");
      if (entry.value.algorithm !== update.algorithm) {
        throw new MatrixError("M_INVALID_PARAM", "The algorithm of a backup cannot change");
      }
      const result = await kv.atomic().check(entry)
        .set(entry.key, { ...entry.value, authData: update.authData }).commit();
      if (result.ok) return;
    }
    throw new ContentionError("backup update");
  });
}

/**
 * Deletes a backup version and all its keys.
 *
 * @returns false when it did not exist
 */
export async function deleteBackup(kv: Deno.Kv, userId: string, version: string): Promise<boolean> {
  const entry = await getBackup(kv, userId, version);
  if (!entry) return false;
  // The version goes first: from then on nobody can read or write its keys.
  await kv.delete(entry.key);
  await deleteRange(kv, { prefix: e2eeKeys.backupSessionsOf(userId, version) });
  return true;
}

/** The `etag` of a backup. */
export function backupEtag(record: BackupVersionRecord): string {
  return String(record.etag);
}

/** True when `candidate` should replace `existing` under the spec's rules. */
export function shouldReplace(existing: BackupSessionRecord, candidate: BackupSessionRecord) {
  if (existing.is_verified !== candidate.is_verified) return candidate.is_verified;
  if (existing.first_message_index !== candidate.first_message_index) {
    return candidate.first_message_index < existing.first_message_index;
  }
  return candidate.forwarded_count < existing.forwarded_count;
}

/** Session keys to store: room ID -> session ID -> key data. */
export type BackupKeys = ReadonlyMap<string, ReadonlyMap<string, BackupSessionRecord>>;

/**
 * Stores session keys in the current backup version, keeping the better of an existing and an
 * uploaded key (see {@link shouldReplace}).
 *
 * @returns the new etag and count
 * @throws {MatrixError} 404 for an unknown version; 403 M_WRONG_ROOM_KEYS_VERSION when
 *   `version` is not the current one
 */
export async function putBackupKeys(
  kv: Deno.Kv,
  userId: string,
  upload: { version: string; keys: BackupKeys },
): Promise<{ etag: string; count: number }> {
  return await inTurn(kv, ["room_keys", userId], async () => {
    const items: { key: Deno.KvKey; data: BackupSessionRecord }[] = [];
    for (const [roomId, sessions] of upload.keys) {
      for (const [sessionId, data] of sessions) {
        items.push({
          key: e2eeKeys.backupSession(userId, upload.version, roomId, sessionId),
          data,
        });
      }
    }
    let record = await requireCurrent(kv, userId, upload.version);
    const batches = commitBatches(
      items,
      (item) => addCosts(checkCost(item.key), setCost(item.key, { value: item.data })),
      { maxItems: SESSIONS_PER_COMMIT },
    );
    for (const batch of batches) {
      for (let attempt = 0;; attempt++) {
        if (attempt > 10) throw new ContentionError("backup upload");
        const existing = await getManyChunked<BackupSessionRecord>(
          kv,
          batch.map((item) => item.key),
        );
        const op = kv.atomic().check(record);
        let added = 0;
        let changed = 0;
        batch.forEach((item, i) => {
          const old = existing[i];
          if (old.value && !shouldReplace(old.value, item.data)) return;
          op.check(old).set(old.key, item.data);
          changed++;
          if (!old.value) added++;
        });
        const next: BackupVersionRecord = {
          ...record.value,
          count: record.value.count + added,
          etag: record.value.etag + (changed > 0 ? 1 : 0),
        };
        if (changed === 0) break;
        op.set(record.key, next);
        const result = await op.commit();
        if (result.ok) {
          record = { ...record, value: next, versionstamp: result.versionstamp };
          break;
        }
        record = await requireCurrent(kv, userId, upload.version);
      }
    }
    return { etag: backupEtag(record.value), count: record.value.count };
  });
}

async function requireCurrent(
  kv: Deno.Kv,
  userId: string,
  version: string,
): Promise<Deno.KvEntry<BackupVersionRecord>> {
  const latest = await latestBackup(kv, userId);
  if (!latest) throw notFound("No backup exists");
  if (latest.value.version !== version) {
    const exists = await getBackup(kv, userId, version);
    if (!exists) throw notFound("Unknown backup version");
    throw new MatrixError("M_WRONG_ROOM_KEYS_VERSION", "Keys may only go into the current backup", {
      status: 403,
      extra: { current_version: latest.value.version },
    });
  }
  return latest;
}

/** Where in a backup: everything, one room, or one session. */
export interface BackupScope {
  roomId?: string;
  sessionId?: string;
}

/**
 * Reads the session keys of a backup version in `scope`.
 *
 * @throws {MatrixError} 404 for an unknown version
 */
export async function getBackupKeys(
  kv: Deno.Kv,
  userId: string,
  query: { version: string } & BackupScope,
): Promise<Map<string, Map<string, BackupSessionRecord>>> {
  if (!(await getBackup(kv, userId, query.version))) throw notFound("Unknown backup version");
  const rooms = new Map<string, Map<string, BackupSessionRecord>>();
  if (query.roomId !== undefined && query.sessionId !== undefined) {
    const entry = await kv.get<BackupSessionRecord>(
      e2eeKeys.backupSession(userId, query.version, query.roomId, query.sessionId),
    );
    if (entry.value) rooms.set(query.roomId, new Map([[query.sessionId, entry.value]]));
    return rooms;
  }
  const prefix = e2eeKeys.backupSessionsOf(userId, query.version, query.roomId);
  for await (const entry of kv.list<BackupSessionRecord>({ prefix })) {
    const roomId = entry.key[3] as string;
    let sessions = rooms.get(roomId);
    if (!sessions) rooms.set(roomId, sessions = new Map());
    sessions.set(entry.key[4] as string, entry.value);
  }
  return rooms;
}

/**
 * Deletes session keys of a backup version in `scope`.
 *
 * @returns the new etag and count
 * @throws {MatrixError} 404 for an unknown version
 */
export async function deleteBackupKeys(
  kv: Deno.Kv,
  userId: string,
  query: { version: string } & BackupScope,
): Promise<{ etag: string; count: number }> {
  return await inTurn(kv, ["room_keys", userId], async () => {
    const keys: Deno.KvKey[] = [];
    if (query.roomId !== undefined && query.sessionId !== undefined) {
      keys.push(e2eeKeys.backupSession(userId, query.version, query.roomId, query.sessionId));
    } else {
      const prefix = e2eeKeys.backupSessionsOf(userId, query.version, query.roomId);
      for await (const entry of kv.list({ prefix })) keys.push(entry.key);
    }
    let record: Deno.KvEntry<BackupVersionRecord> | null = await getBackup(
      kv,
      userId,
      query.version,
    );
    if (!record) throw notFound("Unknown backup version");
    const batches = commitBatches(keys, (key) => addCosts(checkCost(key), deleteCost(key)), {
      maxItems: SESSIONS_PER_COMMIT,
    });
    for (const batch of batches) {
      for (let attempt = 0;; attempt++) {
        if (attempt > 10) throw new ContentionError("backup deletion");
        const existing = await getManyChunked(kv, batch);
        const present = existing.filter((entry) => entry.versionstamp !== null);
        if (present.length === 0) break;
        const next: BackupVersionRecord = {
          ...record.value,
          count: Math.max(0, record.value.count - present.length),
          etag: record.value.etag + 1,
        };
        const op = kv.atomic().check(record).set(record.key, next);
        for (const entry of present) op.check(entry).delete(entry.key);
        const result = await op.commit();
        if (result.ok) {
          record = { ...record, value: next, versionstamp: result.versionstamp };
          break;
        }
        record = await getBackup(kv, userId, query.version);
        if (!record) throw notFound("Unknown backup version");
      }
    }
    return { etag: backupEtag(record.value), count: record.value.count };
  });
}
