/**
 * The media repository of one server instance: streaming uploads into the blob store, media
 * IDs awaiting an asynchronous upload, waiting for such an upload on download, thumbnails
 * (pre-generated after an upload and made on demand, cached in KV), deletions, and the
 * background work (freeing chunks, collecting abandoned uploads) that `Homeserver.close()`
 * drains.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import { MatrixError, notFound, tooLarge } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import {
  blobKeys,
  type BlobRecord,
  blobStream,
  BlobTooLargeError,
  BlobWriter,
  collectUnownedBlobs,
  readBlob,
  writeBlob,
} from "./blob_store.ts";
import { decodeImage, type ImageInfo, imageInfo } from "./image_codecs.ts";
import {
  enforceVerdict,
  recordUnscanned,
  scanBytes,
  tooLargeToScan,
  unscannedKey,
  uploadLimit,
  UploadScan,
} from "./media_scan.ts";
import {
  createPendingMedium,
  deleteMediumEntry,
  freeBlob,
  freeThumbnails,
  getMedium,
  getUsage,
  mediaKeys,
  MediaStoreError,
  type MediumRecord,
  publishMedium,
  type ThumbnailRecord,
} from "./media_store.ts";
import {
  makeThumbnail,
  planThumbnail,
  STANDARD_THUMBNAILS,
  type Thumbnail,
  type ThumbnailRequest,
  thumbnailSpec,
} from "./thumbnailer.ts";

/** Uploads idle longer than this are considered dead; their chunks are collected. */
export const STALE_UPLOAD_MS = 15 * 60_000;
/** How often abandoned uploads are looked for while the server runs. */
const COLLECT_INTERVAL_MS = 15 * 60_000;
/** Longest wait for an asynchronous upload a download may ask for. */
export const MAX_DOWNLOAD_WAIT_MS = 60_000;

/** Options of one upload. */
export interface UploadOptions {
  uploader: string;
  contentType: string;
  fileName: string | null;
  /** The declared `Content-Length`, if any (checked before reading). */
  declaredLength?: number | null;
  /** Fill a media ID from `/create` instead of a new one. */
  mediaId?: string;
}

/** A thumbnail answer: a cached one, a fresh one, or "serve the original". */
export type ThumbnailResult =
  | { kind: "cached"; record: ThumbnailRecord; blob: BlobRecord }
  | { kind: "fresh"; thumbnail: Thumbnail }
  | { kind: "original" };

const repositories = new WeakMap<Homeserver, MediaRepository>();

/** The media repository of one {@link Homeserver}. */
export class MediaRepository {
  readonly #hs: Homeserver;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #thumbnailQueue: Promise<void> = Promise.resolve();
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(hs: Homeserver) {
    this.#hs = hs;
    hs.addCloseHook(() => this.close());
    this.background(this.collectGarbage());
    this.#timer = setInterval(() => this.background(this.collectGarbage()), COLLECT_INTERVAL_MS);
    Deno.unrefTimer(this.#timer);
  }

  /** The repository of `hs`, created on first use. */
  static of(hs: Homeserver): MediaRepository {
    let repo = repositories.get(hs);
    if (!repo) {
      repo = new MediaRepository(hs);
      repositories.set(hs, repo);
    }
    return repo;
  }

  get #kv(): Deno.Kv {
    return this.#hs.kv;
  }

  get #config() {
    return this.#hs.config.media;
  }

  /** Runs `task` in the background; failures are logged; `close()` waits for it. */
  background(task: Promise<unknown>): void {
    const tracked = task.catch((err) => {
      if (!this.#closed) console.error("media background task failed:", err);
    }).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  /** Waits until no background task is left (tests use it before counting keys). */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  /** Stops the collector timer and drains background work. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.idle();
    this.#closed = true;
  }

  /**
   * Frees the chunks of uploads idle for {@link STALE_UPLOAD_MS} and of deleted blobs, and
   * forgets media IDs from `/create` whose upload never came.
   */
  async collectGarbage(olderThanTs = Date.now() - STALE_UPLOAD_MS): Promise<number> {
    const freed = await collectUnownedBlobs(this.#kv, {
      olderThanTs,
      onFreed: (blobId) => freeThumbnails(this.#kv, blobId),
    });
    const now = Date.now();
    for await (const entry of this.#kv.list<number>({ prefix: ["media_pending"] })) {
      if (entry.value < now) {
        await deleteMediumEntry(this.#kv, this.#hs.config.serverName, entry.key[2] as string);
      }
    }
    return freed.length;
  }

  /** A new media ID: 24 characters from `[A-Za-z0-9]`. */
  newMediaId(): string {
    return randomString(24);
  }

  /**
   * Stores a request body as a medium while it streams in, never holding it whole.
   *
   * @throws {MatrixError} 413 M_TOO_LARGE, 403 M_FORBIDDEN (quota, another user's media ID,
   *   malware found), 404 M_NOT_FOUND (unknown or expired media ID), 409
   *   M_CANNOT_OVERWRITE_MEDIA, 503 M_UNKNOWN (no scan verdict under `fail_mode = "closed"`)
   */
  async upload(
    body: ReadableStream<Uint8Array> | null,
    options: UploadOptions,
  ): Promise<MediumRecord> {
    const config = this.#config;
    const origin = this.#hs.config.serverName;
    if ((options.declaredLength ?? 0) > config.maxUploadSize) throw tooLarge(config.maxUploadSize);
    if ((options.declaredLength ?? 0) > uploadLimit(config)) {
      throw tooLargeToScan(config.scanner.maxScanSize);
    }
    const quota = config.userQuotaBytes;
    const used = quota > 0 ? (await getUsage(this.#kv, options.uploader)).bytes : 0;
    if (quota > 0 && used + (options.declaredLength ?? 0) > quota) throw quotaExceeded(quota);
    if (options.mediaId) await this.#checkPending(origin, options.mediaId, options.uploader);

    const writer = new BlobWriter(this.#kv, { maxBytes: config.maxUploadSize });
    // The scanner reads the body as it streams in; the medium is published only after its verdict.
    const scan = UploadScan.start(config.scanner);
    let published = false;
    try {
      if (body) {
        await readInto(body, async (bytes) => {
          await Promise.all([writer.write(bytes), scan.write(bytes)]);
          // Fail-closed refuses a file too large to scan: stop reading it now.
          if (scan.tooLarge && config.scanner.failMode === "closed") {
            throw tooLargeToScan(config.scanner.maxScanSize);
          }
          if (quota > 0 && used + writer.size > quota) throw quotaExceeded(quota);
        });
      }
      const written = await writer.digest();
      const unscanned = await enforceVerdict(this.#hs, await scan.verdict(), {
        source: "upload",
        userId: options.uploader,
        mxc: options.mediaId ? `mxc://${origin}/${options.mediaId}` : null,
        fileName: options.fileName,
        contentType: options.contentType,
        sha256: written.sha256,
        size: written.size,
      });
      const { medium, duplicate } = await publishMedium(this.#kv, writer, written, {
        origin,
        mediaId: options.mediaId ?? this.newMediaId(),
        uploader: options.uploader,
        contentType: options.contentType,
        fileName: options.fileName,
        intoPending: options.mediaId !== undefined,
        quotaBytes: quota,
      });
      published = !duplicate;
      if (duplicate && writer.hasCommittedChunks) this.background(writer.abort());
      if (unscanned !== null) {
        await recordUnscanned(this.#hs, medium, { reason: unscanned, userId: options.uploader });
      }
      this.#wake(origin, medium.mediaId);
      this.#queueThumbnails(medium);
      return medium;
    } catch (err) {
      scan.cancel();
      if (!published) this.background(writer.abort());
      if (err instanceof BlobTooLargeError) throw tooLarge(config.maxUploadSize);
      if (err instanceof MediaStoreError) throw storeErrorToMatrix(err);
      throw err;
    }
  }

  async #checkPending(origin: string, mediaId: string, uploader: string): Promise<void> {
    const medium = await getMedium(this.#kv, origin, mediaId);
    if (!medium) throw notFound("Unknown media ID");
    if (medium.state === "ready") throw cannotOverwrite();
    if (medium.uploader !== uploader) {
      throw new MatrixError("M_FORBIDDEN", "This media ID was created by another user", {
        status: 403,
      });
    }
    if ((medium.unusedExpiresTs ?? 0) < Date.now()) throw notFound("This media ID has expired");
  }

  /**
   * Stores bytes already in memory as a medium without an uploader: URL preview images (local,
   * a new media ID), and remote media fetched over federation (their origin and media ID, with
   * `cachedTs`).
   *
   * @throws {MediaStoreError} EXISTS when `mediaId` is taken (another fetch stored it first)
   * @throws {MatrixError} 403 M_FORBIDDEN when the malware scanner finds something, 503 when it
   *   gives no verdict under `fail_mode = "closed"`
   */
  async storeBytes(
    bytes: Uint8Array,
    options: {
      contentType: string;
      fileName: string | null;
      origin?: string;
      mediaId?: string;
      cachedTs?: number;
    },
  ): Promise<MediumRecord> {
    const origin = options.origin ?? this.#hs.config.serverName;
    const remote = origin !== this.#hs.config.serverName;
    const unscanned = await enforceVerdict(this.#hs, await scanBytes(this.#config.scanner, bytes), {
      source: remote ? "remote" : "preview",
      userId: null,
      mxc: options.mediaId ? `mxc://${origin}/${options.mediaId}` : null,
      fileName: options.fileName,
      contentType: options.contentType,
      sha256: null,
      size: bytes.length,
    });
    const writer = new BlobWriter(this.#kv);
    await writer.write(bytes);
    const written = await writer.digest();
    try {
      const { medium, duplicate } = await publishMedium(this.#kv, writer, written, {
        origin,
        mediaId: options.mediaId ?? this.newMediaId(),
        uploader: null,
        contentType: options.contentType,
        fileName: options.fileName,
        cachedTs: options.cachedTs,
      });
      if (duplicate && writer.hasCommittedChunks) this.background(writer.abort());
      if (unscanned !== null) {
        await recordUnscanned(this.#hs, medium, { reason: unscanned, userId: null });
      }
      this.#queueThumbnails(medium);
      return medium;
    } catch (err) {
      this.background(writer.abort());
      throw err;
    }
  }

  /**
   * Creates a media ID for a later `PUT`.
   *
   * @throws {MatrixError} 429 M_LIMIT_EXCEEDED when too many are pending
   */
  async create(uploader: string): Promise<MediumRecord> {
    try {
      return await createPendingMedium(this.#kv, {
        origin: this.#hs.config.serverName,
        mediaId: this.newMediaId(),
        uploader,
        expiresTs: Date.now() + this.#config.unusedExpiresMs,
        maxPending: this.#config.maxPendingUploads,
      });
    } catch (err) {
      if (err instanceof MediaStoreError) throw storeErrorToMatrix(err);
      throw err;
    }
  }

  /**
   * The medium to serve, waiting up to `timeoutMs` for a pending upload.
   *
   * @throws {MatrixError} 404 M_NOT_FOUND, or 504 M_NOT_YET_UPLOADED after the wait
   */
  async waitForMedium(origin: string, mediaId: string, timeoutMs: number): Promise<MediumRecord> {
    const deadline = Date.now() + Math.min(Math.max(0, timeoutMs), MAX_DOWNLOAD_WAIT_MS);
    while (true) {
      const medium = await getMedium(this.#kv, origin, mediaId);
      if (!medium) throw notFound("Media not found");
      if (medium.state === "ready") return medium;
      if ((medium.unusedExpiresTs ?? 0) < Date.now()) throw notFound("Media not found");
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new MatrixError("M_NOT_YET_UPLOADED", "Content has not yet been uploaded", {
          status: 504,
        });
      }
      await this.#sleepUntilWoken(origin, mediaId, Math.min(left, 1000));
    }
  }

  #sleepUntilWoken(origin: string, mediaId: string, ms: number): Promise<void> {
    const key = `${origin}/${mediaId}`;
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, set = new Set());
      const done = () => {
        clearTimeout(timer);
        set!.delete(done);
        if (set!.size === 0) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  #wake(origin: string, mediaId: string): void {
    for (const done of [...(this.#waiters.get(`${origin}/${mediaId}`) ?? [])]) done();
  }

  /** The blob record of a ready medium. */
  async blobOf(medium: MediumRecord): Promise<BlobRecord> {
    const blob = (await this.#kv.get<BlobRecord>(blobKeys.blob(medium.blobId))).value;
    if (!blob) throw notFound("Media not found");
    return blob;
  }

  /** Streams a byte range of a blob. */
  stream(blob: BlobRecord, range: { start: number; end: number }): ReadableStream<Uint8Array> {
    return blobStream(this.#kv, blob, range);
  }

  /**
   * Deletes a medium; its chunks and thumbnails are freed in the background when no other
   * medium shares them.
   */
  async delete(origin: string, mediaId: string): Promise<MediumRecord | null> {
    let deleted;
    try {
      deleted = await deleteMediumEntry(this.#kv, origin, mediaId);
    } catch (err) {
      if (err instanceof MediaStoreError) throw storeErrorToMatrix(err);
      throw err;
    }
    if (!deleted) return null;
    await this.#kv.delete(unscannedKey(origin, mediaId));
    if (deleted.garbageBlobId) this.background(freeBlob(this.#kv, deleted.garbageBlobId));
    return deleted.medium;
  }

  /** Reads the format and size of an image from its first chunk; null for other content. */
  async imageInfoOf(blob: BlobRecord): Promise<ImageInfo | null> {
    const first = await this.#kv.get<Uint8Array>(blobKeys.chunk(blob.blobId, 0));
    return first.value ? imageInfo(first.value) : null;
  }

  /**
   * A thumbnail of a ready medium: a standard size of the same method that is at least as large
   * as asked (cached), else exactly the asked size (made now and cached).
   *
   * @throws {MatrixError} 400 M_UNKNOWN when the content is not an image this server can
   *   thumbnail, 413 M_TOO_LARGE when it is too large to decode
   */
  async thumbnail(medium: MediumRecord, request: ThumbnailRequest): Promise<ThumbnailResult> {
    const blob = await this.blobOf(medium);
    // A standard size of the same method at least as large as asked is served from the cache;
    // when that size would be the original itself, the exact request is made instead.
    const standard = STANDARD_THUMBNAILS.find((t) =>
      t.method === request.method && t.width >= request.width && t.height >= request.height
    );
    if (standard) {
      const cached = await this.#cachedThumbnail(blob.blobId, thumbnailSpec(standard));
      if (cached) return cached;
    }
    const exact = await this.#cachedThumbnail(blob.blobId, thumbnailSpec(request));
    if (exact) return exact;
    const info = await this.imageInfoOf(blob);
    if (!info) {
      throw new MatrixError("M_UNKNOWN", "Cannot generate thumbnails for the requested content");
    }
    if (blob.size > this.#config.maxThumbnailSourceSize) {
      throw new MatrixError("M_TOO_LARGE", "Content is too large to thumbnail", { status: 413 });
    }
    if (info.width * info.height > this.#config.maxImagePixels) {
      throw new MatrixError("M_TOO_LARGE", "Image has too many pixels to thumbnail", {
        status: 413,
      });
    }
    let chosen = request;
    let plan = planThumbnail(info.width, info.height, request);
    const standardPlan = standard && planThumbnail(info.width, info.height, standard);
    if (standard && standardPlan) {
      chosen = standard;
      plan = standardPlan;
    }
    if (!plan) return { kind: "original" };
    const spec = thumbnailSpec(chosen);
    let image;
    try {
      image = await decodeImage(await readBlob(this.#kv, blob), info, this.#config.maxImagePixels);
    } catch {
      throw new MatrixError("M_UNKNOWN", "Cannot generate thumbnails for the requested content");
    }
    const thumbnail = await makeThumbnail(image, plan);
    await this.#storeThumbnail(blob.blobId, spec, thumbnail);
    return { kind: "fresh", thumbnail };
  }

  async #cachedThumbnail(sourceBlobId: string, spec: string): Promise<ThumbnailResult | null> {
    const record = (await this.#kv.get<ThumbnailRecord>(mediaKeys.thumbnail(sourceBlobId, spec)))
      .value;
    if (!record) return null;
    const blob = (await this.#kv.get<BlobRecord>(blobKeys.blob(record.blobId))).value;
    return blob ? { kind: "cached", record, blob } : null;
  }

  async #storeThumbnail(sourceBlobId: string, spec: string, thumbnail: Thumbnail): Promise<void> {
    const source = await this.#kv.get<BlobRecord>(blobKeys.blob(sourceBlobId));
    if (!source.value) return; // deleted meanwhile
    const key = mediaKeys.thumbnail(sourceBlobId, spec);
    await writeBlob(this.#kv, thumbnail.bytes, (op, written) => {
      const record: ThumbnailRecord = {
        blobId: written.blobId,
        contentType: thumbnail.contentType,
        width: thumbnail.width,
        height: thumbnail.height,
        size: written.size,
      };
      op.check(source).check({ key, versionstamp: null }).set(key, record);
    });
  }

  /** Generates the standard thumbnails of a new image, one image at a time, after the upload. */
  #queueThumbnails(medium: MediumRecord): void {
    const task = this.#thumbnailQueue.then(() => this.pregenerateThumbnails(medium));
    this.#thumbnailQueue = task.then(() => {}, () => {});
    this.background(task);
  }

  /** Generates the standard thumbnails of an image medium (decoding it once). */
  async pregenerateThumbnails(medium: MediumRecord): Promise<number> {
    if (this.#closed) return 0;
    const blob = (await this.#kv.get<BlobRecord>(blobKeys.blob(medium.blobId))).value;
    if (!blob || blob.size > this.#config.maxThumbnailSourceSize) return 0;
    const info = await this.imageInfoOf(blob);
    if (!info || info.width * info.height > this.#config.maxImagePixels) return 0;
    const todo = [];
    for (const request of STANDARD_THUMBNAILS) {
      const plan = planThumbnail(info.width, info.height, request);
      const spec = thumbnailSpec(request);
      if (plan && !(await this.#cachedThumbnail(blob.blobId, spec))) todo.push({ plan, spec });
    }
    if (todo.length === 0) return 0;
    let image;
    try {
      image = await decodeImage(await readBlob(this.#kv, blob), info, this.#config.maxImagePixels);
    } catch {
      return 0; // not an image after all: thumbnails are simply not offered
    }
    for (const { plan, spec } of todo) {
      await this.#storeThumbnail(blob.blobId, spec, await makeThumbnail(image, plan));
    }
    return todo.length;
  }
}

/**
 * Feeds a body to `consume` chunk by chunk. A byte stream is read with a BYOB reader into one
 * reused 64 KiB buffer, so a long upload leaves no garbage behind (garbage buffers are freed
 * only when the garbage collector runs, and would show as resident memory until then).
 */
async function readInto(
  body: ReadableStream<Uint8Array>,
  consume: (bytes: Uint8Array) => Promise<void>,
): Promise<void> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch { /* not a byte stream */ }
  if (byob) {
    let buffer = new Uint8Array(65536);
    try {
      while (true) {
        const { done, value } = await byob.read(buffer);
        if (done) break;
        await consume(value);
        buffer = new Uint8Array(value.buffer);
      }
    } catch (err) {
      await byob.cancel().catch(() => {});
      throw err;
    } finally {
      byob.releaseLock();
    }
    return;
  }
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      await consume(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

function cannotOverwrite(): MatrixError {
  return new MatrixError("M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded", { status: 409 });
}

function quotaExceeded(quota: number): MatrixError {
  return new MatrixError(
    "M_FORBIDDEN",
    `Upload would exceed your media quota of ${quota} bytes; delete media or ask an admin`,
    { status: 403 },
  );
}

function storeErrorToMatrix(err: MediaStoreError): MatrixError {
  switch (err.code) {
    case "QUOTA":
      return new MatrixError("M_FORBIDDEN", err.message, { status: 403 });
    case "EXISTS":
      return cannotOverwrite();
    case "NOT_PENDING":
      return notFound(err.message);
    case "WRONG_USER":
      return new MatrixError("M_FORBIDDEN", err.message, { status: 403 });
    case "PENDING_LIMIT":
      return new MatrixError("M_LIMIT_EXCEEDED", err.message, {
        status: 429,
        extra: { retry_after_ms: 60_000 },
        headers: { "Retry-After": "60" },
      });
    case "CONFLICT":
      // Another process kept changing the same records: the client may simply try again.
      return new MatrixError("M_LIMIT_EXCEEDED", err.message, {
        status: 429,
        extra: { retry_after_ms: 1000 },
        headers: { "Retry-After": "1" },
      });
  }
}
