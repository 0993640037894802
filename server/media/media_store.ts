/**
 * Media records on top of the blob layer: which `mxc://origin/mediaId` points at which blob,
 * who uploaded it, per-user usage, the content-addressed index (SHA-256 -> blob) that stores
 * identical bytes once, and the indexes the admin operations walk. ARCHITECTURE.md ("Storage:
 * media") documents the key schema.
 *
 * @module
 */

import {
  blobKeys,
  type BlobRecord,
  type BlobWriter,
  freeChunks,
  type UnownedRecord,
  type WrittenBlob,
} from "./blob_store.ts";
import { inTurn } from "../store/turns.ts";

/** Key builders of the media layer. */
export const mediaKeys = {
  /** `["media", origin, mediaId]`: {@link MediumRecord}. */
  medium: (origin: string, mediaId: string): Deno.KvKey => ["media", origin, mediaId],
  /** `["media_by_user", userId, origin, mediaId]`: null (index for purges and listings). */
  byUser: (userId: string, origin: string, mediaId: string): Deno.KvKey => [
    "media_by_user",
    userId,
    origin,
    mediaId,
  ],
  /** `["media_by_size", size, origin, mediaId]`: null (index for "largest media"). */
  bySize: (size: number, origin: string, mediaId: string): Deno.KvKey => [
    "media_by_size",
    size,
    origin,
    mediaId,
  ],
  /** `["media_remote_cache", cachedTs, origin, mediaId]`: null (index for cache expiry). */
  remoteCache: (cachedTs: number, origin: string, mediaId: string): Deno.KvKey => [
    "media_remote_cache",
    cachedTs,
    origin,
    mediaId,
  ],
  /** `["media_pending", userId, mediaId]`: expiry timestamp of a created, not uploaded ID. */
  pending: (userId: string, mediaId: string): Deno.KvKey => ["media_pending", userId, mediaId],
  /** `["media_usage", userId]`: {@link UsageRecord}. */
  usage: (userId: string): Deno.KvKey => ["media_usage", userId],
  /** `["media_sha256", hex]`: the blob ID holding these bytes. */
  sha256: (hex: string): Deno.KvKey => ["media_sha256", hex],
  /** `["media_thumbnail", blobId, spec]`: {@link ThumbnailRecord} of a source blob. */
  thumbnail: (blobId: string, spec: string): Deno.KvKey => ["media_thumbnail", blobId, spec],
} as const;

/** `["media", origin, mediaId]`. */
export interface MediumRecord {
  origin: string;
  mediaId: string;
  /** `pending`: created by `/create`, bytes not uploaded yet. */
  state: "pending" | "ready";
  /** The local user who uploaded it; null for remote media. */
  uploader: string | null;
  contentType: string;
  fileName: string | null;
  size: number;
  sha256: string;
  blobId: string;
  createdTs: number;
  /** Pending media only: when the ID expires unused. */
  unusedExpiresTs: number | null;
  /** Remote media only: when the cache was filled (the spec's freeze counts from here). */
  cachedTs: number | null;
}

/** `["media_usage", userId]`: what a user's media take, for the quota. */
export interface UsageRecord {
  bytes: number;
  count: number;
}

/** `["media_thumbnail", sourceBlobId, spec]`: a cached thumbnail (its bytes are a blob). */
export interface ThumbnailRecord {
  blobId: string;
  contentType: string;
  width: number;
  height: number;
  size: number;
}

/** A media operation refused for a reason the client can act on. */
export class MediaStoreError extends Error {
  /**
   * @param code `QUOTA`, `EXISTS` (already uploaded), `NOT_PENDING` (unknown or expired ID),
   *   `WRONG_USER`, `PENDING_LIMIT`, or `CONFLICT` (too many concurrent changes)
   * @param message what happened
   */
  constructor(
    readonly code: "QUOTA" | "EXISTS" | "NOT_PENDING" | "WRONG_USER" | "PENDING_LIMIT" | "CONFLICT",
    message: string,
  ) {
    super(message);
    this.name = "MediaStoreError";
  }
}

const MAX_ATTEMPTS = 20;

/**
 * Every upload and deletion of one user's media rewrites the user's usage record under an
 * optimistic check, so they take turns per uploader (a purge while uploads ran used to lose the
 * race until its retries ran out).
 */
function inUsageTurn<T>(kv: Deno.Kv, uploader: string | null, fn: () => Promise<T>) {
  return uploader ? inTurn(kv, ["media_usage", uploader], fn) : fn();
}

/** What is being published: the medium's identity and description. */
export interface PublishRequest {
  origin: string;
  mediaId: string;
  uploader: string | null;
  contentType: string;
  fileName: string | null;
  /** Remote media: when the cache was filled. */
  cachedTs?: number;
  /** Upload into an ID from `/create` (must still be pending and the uploader's). */
  intoPending?: boolean;
  /** Per-user quota in bytes; 0 for none. */
  quotaBytes?: number;
}

/**
 * Publishes a written blob as a medium in one commit: the medium record and its indexes, the
 * uploader's usage, and either the blob itself (its last chunks, record and SHA-256 index) or,
 * when identical bytes are stored already, one more reference to that blob. The commit is
 * retried when a concurrent change (another upload of the same bytes, a deletion) won.
 *
 * @returns the record and whether the bytes were a duplicate (then the writer's own chunks are
 *   the caller's to free with `writer.abort()`)
 * @throws {MediaStoreError} QUOTA, EXISTS, NOT_PENDING, WRONG_USER or CONFLICT
 */
export async function publishMedium(
  kv: Deno.Kv,
  writer: BlobWriter,
  written: WrittenBlob,
  request: PublishRequest,
): Promise<{ medium: MediumRecord; duplicate: boolean }> {
  return await inUsageTurn(kv, request.uploader, () => publishOnce(kv, writer, written, request));
}

async function publishOnce(
  kv: Deno.Kv,
  writer: BlobWriter,
  written: WrittenBlob,
  request: PublishRequest,
): Promise<{ medium: MediumRecord; duplicate: boolean }> {
  const mediumKey = mediaKeys.medium(request.origin, request.mediaId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const usageKey = mediaKeys.usage(request.uploader ?? "");
    const [shaEntry, mediumEntry, usageEntry] = await kv.getMany<
      [string, MediumRecord, UsageRecord]
    >(
      [mediaKeys.sha256(written.sha256), mediumKey, usageKey],
    );
    const existing = mediumEntry.value;
    if (request.intoPending) {
      if (!existing) throw new MediaStoreError("NOT_PENDING", "Unknown media ID");
      if (existing.state !== "pending") {
        throw new MediaStoreError("EXISTS", "Media already uploaded");
      }
      if (existing.uploader !== request.uploader) {
        throw new MediaStoreError("WRONG_USER", "This media ID was created by another user");
      }
      if ((existing.unusedExpiresTs ?? 0) < Date.now()) {
        throw new MediaStoreError("NOT_PENDING", "This media ID has expired");
      }
    } else if (existing) {
      throw new MediaStoreError("EXISTS", "Media already uploaded");
    }
    const usage = usageEntry.value ?? { bytes: 0, count: 0 };
    const quota = request.quotaBytes ?? 0;
    if (request.uploader && quota > 0 && usage.bytes + written.size > quota) {
      throw new MediaStoreError("QUOTA", `Upload would exceed your quota of ${quota} bytes`);
    }

    const op = kv.atomic().check(shaEntry, mediumEntry, usageEntry);
    let blobId = writer.blobId;
    let duplicate = false;
    if (shaEntry.value !== null) {
      const blobEntry = await kv.get<BlobRecord>(blobKeys.blob(shaEntry.value));
      if (!blobEntry.value) continue; // being deleted right now: look again
      op.check(blobEntry).set(blobKeys.blob(shaEntry.value), {
        ...blobEntry.value,
        refs: blobEntry.value.refs + 1,
      });
      blobId = shaEntry.value;
      duplicate = true;
    } else {
      writer.addPublish(op, written, 1);
      op.set(mediaKeys.sha256(written.sha256), writer.blobId);
    }
    const now = Date.now();
    const medium: MediumRecord = {
      origin: request.origin,
      mediaId: request.mediaId,
      state: "ready",
      uploader: request.uploader,
      contentType: request.contentType,
      fileName: request.fileName,
      size: written.size,
      sha256: written.sha256,
      blobId,
      createdTs: now,
      unusedExpiresTs: null,
      cachedTs: request.cachedTs ?? null,
    };
    op.set(mediumKey, medium);
    op.set(mediaKeys.bySize(medium.size, medium.origin, medium.mediaId), null);
    if (request.uploader) {
      op.set(mediaKeys.byUser(request.uploader, medium.origin, medium.mediaId), null);
      op.set(usageKey, { bytes: usage.bytes + medium.size, count: usage.count + 1 });
      op.delete(mediaKeys.pending(request.uploader, request.mediaId));
    }
    if (medium.cachedTs !== null) {
      op.set(mediaKeys.remoteCache(medium.cachedTs, medium.origin, medium.mediaId), null);
    }
    const result = await op.commit();
    if (result.ok) return { medium, duplicate };
  }
  throw new MediaStoreError("CONFLICT", "Too many concurrent changes; try again");
}

/**
 * Records a media ID that `PUT /upload/{serverName}/{mediaId}` will fill later.
 *
 * @throws {MediaStoreError} PENDING_LIMIT when the user has `maxPending` unexpired IDs already
 */
export async function createPendingMedium(
  kv: Deno.Kv,
  request: {
    origin: string;
    mediaId: string;
    uploader: string;
    expiresTs: number;
    maxPending: number;
  },
): Promise<MediumRecord> {
  const now = Date.now();
  let live = 0;
  for await (const entry of kv.list<number>({ prefix: ["media_pending", request.uploader] })) {
    if (entry.value >= now) live++;
    else await deleteMediumEntry(kv, request.origin, entry.key[2] as string); // expired
  }
  if (live >= request.maxPending) {
    throw new MediaStoreError("PENDING_LIMIT", "Too many media IDs awaiting their upload");
  }
  const medium: MediumRecord = {
    origin: request.origin,
    mediaId: request.mediaId,
    state: "pending",
    uploader: request.uploader,
    contentType: "application/octet-stream",
    fileName: null,
    size: 0,
    sha256: "",
    blobId: "",
    createdTs: now,
    unusedExpiresTs: request.expiresTs,
    cachedTs: null,
  };
  const key = mediaKeys.medium(request.origin, request.mediaId);
  const result = await kv.atomic()
    .check({ key, versionstamp: null })
    .set(key, medium)
    .set(mediaKeys.pending(request.uploader, request.mediaId), request.expiresTs)
    .commit();
  if (!result.ok) throw new MediaStoreError("CONFLICT", "Media ID collision; try again");
  return medium;
}

/** Reads one medium record. */
export async function getMedium(
  kv: Deno.Kv,
  origin: string,
  mediaId: string,
): Promise<MediumRecord | null> {
  return (await kv.get<MediumRecord>(mediaKeys.medium(origin, mediaId))).value;
}

/**
 * Deletes one medium (pending or ready) in one commit: record, indexes, usage and one blob
 * reference. When that was the blob's last reference the blob record and SHA-256 index go in
 * the same commit and an unowned marker (touched at 0) takes their place.
 *
 * @returns the deleted record and the blob ID whose chunks (and thumbnails) are now garbage for
 *   {@link freeBlob}, or null when there was no such medium
 */
export async function deleteMediumEntry(
  kv: Deno.Kv,
  origin: string,
  mediaId: string,
): Promise<{ medium: MediumRecord; garbageBlobId: string | null } | null> {
  const first = await kv.get<MediumRecord>(mediaKeys.medium(origin, mediaId));
  if (!first.value) return null;
  return await inUsageTurn(kv, first.value.uploader, () => deleteOnce(kv, origin, mediaId));
}

async function deleteOnce(
  kv: Deno.Kv,
  origin: string,
  mediaId: string,
): Promise<{ medium: MediumRecord; garbageBlobId: string | null } | null> {
  const mediumKey = mediaKeys.medium(origin, mediaId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const mediumEntry = await kv.get<MediumRecord>(mediumKey);
    const medium = mediumEntry.value;
    if (!medium) return null;
    const op = kv.atomic().check(mediumEntry).delete(mediumKey);
    if (medium.uploader) op.delete(mediaKeys.pending(medium.uploader, mediaId));
    let garbageBlobId: string | null = null;
    if (medium.state === "ready") {
      op.delete(mediaKeys.bySize(medium.size, origin, mediaId));
      if (medium.cachedTs !== null) {
        op.delete(mediaKeys.remoteCache(medium.cachedTs, origin, mediaId));
      }
      if (medium.uploader) {
        const usageEntry = await kv.get<UsageRecord>(mediaKeys.usage(medium.uploader));
        const usage = usageEntry.value ?? { bytes: 0, count: 0 };
        op.check(usageEntry).delete(mediaKeys.byUser(medium.uploader, origin, mediaId)).set(
          mediaKeys.usage(medium.uploader),
          { bytes: Math.max(0, usage.bytes - medium.size), count: Math.max(0, usage.count - 1) },
        );
      }
      const blobEntry = await kv.get<BlobRecord>(blobKeys.blob(medium.blobId));
      if (blobEntry.value) {
        op.check(blobEntry);
        if (blobEntry.value.refs > 1) {
          op.set(blobKeys.blob(medium.blobId), {
            ...blobEntry.value,
            refs: blobEntry.value.refs - 1,
          });
        } else {
          const shaEntry = await kv.get<string>(mediaKeys.sha256(medium.sha256));
          op.check(shaEntry).delete(blobKeys.blob(medium.blobId));
          if (shaEntry.value === medium.blobId) op.delete(mediaKeys.sha256(medium.sha256));
          const marker: UnownedRecord = { touchedTs: 0 };
          op.set(blobKeys.unowned(medium.blobId), marker);
          garbageBlobId = medium.blobId;
        }
      }
    }
    const result = await op.commit();
    if (result.ok) return { medium, garbageBlobId };
  }
  throw new MediaStoreError("CONFLICT", "Too many concurrent changes; try again");
}

/** Frees a blob that lost its last reference: its thumbnails, then its chunks and marker. */
export async function freeBlob(kv: Deno.Kv, blobId: string): Promise<void> {
  await freeThumbnails(kv, blobId);
  await freeChunks(kv, blobId);
}

/** Deletes the cached thumbnails of a source blob (and their own blobs). */
export async function freeThumbnails(kv: Deno.Kv, sourceBlobId: string): Promise<void> {
  for await (
    const entry of kv.list<ThumbnailRecord>({ prefix: ["media_thumbnail", sourceBlobId] })
  ) {
    const marker: UnownedRecord = { touchedTs: 0 };
    await kv.atomic()
      .delete(entry.key)
      .delete(blobKeys.blob(entry.value.blobId))
      .set(blobKeys.unowned(entry.value.blobId), marker)
      .commit();
    await freeChunks(kv, entry.value.blobId);
  }
}

/** Lists the media IDs uploaded by a user, as `[origin, mediaId]` pairs. */
export async function listUserMedia(kv: Deno.Kv, userId: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const entry of kv.list({ prefix: ["media_by_user", userId] })) {
    out.push([entry.key[2] as string, entry.key[3] as string]);
  }
  return out;
}

/** A media ID as the spec allows it (`[A-Za-z0-9_-]`), at most 255 characters. */
export const MEDIA_ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * The `limit` largest media after skipping the `from` largest, largest first.
 *
 * @param limit at least 1
 */
export async function largestMedia(
  kv: Deno.Kv,
  limit: number,
  from = 0,
): Promise<MediumRecord[]> {
  const out: MediumRecord[] = [];
  let skipped = 0;
  const iter = kv.list({ prefix: ["media_by_size"] }, { reverse: true, limit: from + limit });
  for await (const entry of iter) {
    if (skipped++ < from) continue;
    const medium = await getMedium(kv, entry.key[2] as string, entry.key[3] as string);
    if (medium) out.push(medium);
  }
  return out;
}

/** Remote media whose cache was filled before `beforeTs`, as `[origin, mediaId]` pairs. */
export async function remoteMediaCachedBefore(
  kv: Deno.Kv,
  beforeTs: number,
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const iter = kv.list({ start: ["media_remote_cache"], end: ["media_remote_cache", beforeTs] });
  for await (const entry of iter) out.push([entry.key[2] as string, entry.key[3] as string]);
  return out;
}

/** A user's usage (bytes and count of their media). */
export async function getUsage(kv: Deno.Kv, userId: string): Promise<UsageRecord> {
  return (await kv.get<UsageRecord>(mediaKeys.usage(userId))).value ?? { bytes: 0, count: 0 };
}
