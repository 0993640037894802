/**
 * Downloading media for display. Authenticated media (`/_matrix/client/v1/media/*`) needs the
 * `Authorization` header, which `<img src>` cannot send, so files are fetched with the access
 * token, decrypted when the event carries an `EncryptedFile` (after checking its SHA-256), and
 * handed to the views as Blobs for object URLs. A small cache keeps recent blobs so scrolling
 * back does not download again.
 *
 * @module
 */

import type { MatrixClient } from "matrix-js-sdk";
import { decryptAttachment, type EncryptedFile } from "./attachments.ts";

/** Where a file is: a plain `mxc://` URL, or an encrypted file. */
export interface MediaSource {
  url?: string;
  file?: EncryptedFile;
}

/** Why media could not be loaded. */
export type MediaErrorCode = "no_source" | "http" | "network";

/** A download that failed. */
export class MediaError extends Error {
  readonly code: MediaErrorCode;
  /** The HTTP status, when the server answered. */
  readonly status?: number;
  constructor(code: MediaErrorCode, message: string, status?: number) {
    super(message);
    this.name = "MediaError";
    this.code = code;
    this.status = status;
  }
}

/**
 * Types a browser may render from a blob: URL. Anything else (HTML, SVG, scripts...) is typed
 * `application/octet-stream`, so that opening the blob cannot run code in the app's origin.
 */
const DISPLAYABLE_TYPES = new Set([
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/apng",
  "image/bmp",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "audio/mp4",
  "audio/webm",
  "audio/ogg",
  "audio/opus",
  "audio/aac",
  "audio/mpeg",
  "audio/wav",
  "audio/x-wav",
  "audio/flac",
  "audio/x-m4a",
]);

/** The type to give a blob of `mimetype` (parameters such as `codecs` are kept). */
export function safeBlobType(mimetype: string | undefined): string {
  const essence = (mimetype ?? "").split(";")[0].trim().toLowerCase();
  return DISPLAYABLE_TYPES.has(essence) ? mimetype!.trim() : "application/octet-stream";
}

/** Options of {@link loadMedia}. */
export interface LoadMediaOptions {
  /** The type the blob gets (made safe by {@link safeBlobType}). */
  mimetype?: string;
  /** Ask the server for a thumbnail of at least this size (plain `mxc://` URLs only). */
  thumbnail?: { width: number; height: number };
}

const CACHE_ENTRIES = 48;
/** Larger files are not kept in the cache. */
const CACHE_MAX_BYTES = 16 * 1024 * 1024;
const cache = new Map<string, Promise<Blob>>();

function remember(key: string, blob: Promise<Blob>): void {
  cache.set(key, blob);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  blob.then((b) => {
    if (b.size > CACHE_MAX_BYTES) cache.delete(key);
  }, () => cache.delete(key));
}

/** Loads the file (or the server's thumbnail of it) as a Blob, decrypted when encrypted. */
export function loadMedia(
  client: MatrixClient,
  source: MediaSource,
  options: LoadMediaOptions = {},
): Promise<Blob> {
  const mxc = source.file?.url ?? source.url;
  if (!mxc) return Promise.reject(new MediaError("no_source", "The event names no file"));
  const size = !source.file && options.thumbnail
    ? `${options.thumbnail.width}x${options.thumbnail.height}`
    : "full";
  const key = `${mxc} ${size} ${source.file?.hashes?.sha256 ?? ""} ${options.mimetype ?? ""}`;
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key); // most recently used goes last
    cache.set(key, cached);
    return cached;
  }
  // The cache is shared, so one view going away must not abort another's download.
  const blob = download(client, mxc, source, options);
  remember(key, blob);
  return blob;
}

async function download(
  client: MatrixClient,
  mxc: string,
  source: MediaSource,
  options: LoadMediaOptions,
): Promise<Blob> {
  const thumbnail = !source.file ? options.thumbnail : undefined;
  const url = thumbnail
    ? client.mxcUrlToHttp(mxc, thumbnail.width, thumbnail.height, "scale", false, true, true)
    : client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
  if (!url) throw new MediaError("no_source", "Not a valid mxc:// URL");
  const token = client.getAccessToken();
  let response: Response;
  try {
    response = await fetch(url, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch (err) {
    throw new MediaError("network", err instanceof Error ? err.message : String(err));
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new MediaError("http", `The server answered ${response.status}`, response.status);
  }
  const bytes = await response.arrayBuffer();
  const type = safeBlobType(options.mimetype ?? response.headers.get("content-type") ?? "");
  if (!source.file) return new Blob([bytes], { type });
  return new Blob([await decryptAttachment(bytes, source.file)], { type });
}

/** Saves a blob as a file with `name` (the browser's download, through `<a download>`). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL; keep it a while for slow starts, then let it go.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
