/**
 * Client-Server API, "Content repository": `POST /_matrix/media/v3/upload`,
 * `POST /_matrix/media/v1/create` with `PUT /_matrix/media/v3/upload/{serverName}/{mediaId}`,
 * the authenticated `/_matrix/client/v1/media/{download,thumbnail,config,preview_url}`, and the
 * deprecated `/_matrix/media/v3/...` ones. The unauthenticated v3 download and thumbnail are
 * "frozen" as the spec asks (404 M_NOT_FOUND) unless `[media] legacy_unauthenticated` is set.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { isValidServerName } from "../../federation/identifiers.ts";
import { invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, rateLimit, requireAuth } from "../request_context.ts";
import {
  cleanContentType,
  contentDisposition,
  downloadResponse,
  securityHeaders,
} from "../media/download_response.ts";
import { FORMAT_TYPES } from "../media/image_codecs.ts";
import { MEDIA_ID_PATTERN, type MediumRecord } from "../media/media_store.ts";
import { MediaRepository } from "../media/repository.ts";
import { refuseQuarantined } from "../media/quarantine.ts";
import type { ThumbnailMethod } from "../media/thumbnailer.ts";
import { previewUrl } from "../media/url_preview.ts";
import { uploadLimit } from "../media/media_scan.ts";
import { fetchRemoteMedium, RemoteMediaError } from "../federation/media_fetch.ts";
import { requireServerAuth } from "../federation/inbound_auth.ts";

/** The spec's default wait for an asynchronous upload. */
const DEFAULT_TIMEOUT_MS = 20_000;
/** Largest thumbnail side a client may ask for. */
const MAX_THUMBNAIL_SIDE = 4096;

function checkMxc(serverName: string, mediaId: string): void {
  if (!isValidServerName(serverName) || !MEDIA_ID_PATTERN.test(mediaId)) {
    throw notFound("Not a valid mxc:// media identifier");
  }
}

function integerParam(c: Context<AppEnv>, name: string, fallback?: number): number {
  const text = c.req.query(name);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw new MatrixError("M_MISSING_PARAM", `Missing required query parameter '${name}'`);
  }
  if (!/^\d{1,15}$/.test(text)) throw invalidParam(`'${name}' must be a non-negative integer`);
  return Number(text);
}

/**
 * Checks the spec's boolean query parameters (`allow_remote`, `allow_redirect`, `animated`):
 * absent, `true` or `false`. Only `allow_remote=false` changes anything (no fetch from the
 * origin); this server never redirects.
 */
function checkBooleanParams(c: Context<AppEnv>, names: readonly string[]): void {
  for (const name of names) {
    const text = c.req.query(name);
    if (text !== undefined && text !== "true" && text !== "false") {
      throw invalidParam(`'${name}' must be true or false`);
    }
  }
}

/** Serves a ready medium, as the original bytes. */
async function serveMedium(
  repo: MediaRepository,
  c: Context<AppEnv>,
  medium: MediumRecord,
  fileName: string | null,
): Promise<Response> {
  const blob = await repo.blobOf(medium);
  return downloadResponse(c.req.raw, {
    contentType: medium.contentType,
    fileName,
    size: blob.size,
    etag: medium.sha256,
    open: (range) => repo.stream(blob, range),
  });
}

/**
 * The media of this server, or another server's from the cache, fetched over federation into
 * it first when missing (unless `allow_remote=false`, or `localOnly` for another server's
 * legacy request).
 */
async function findMedium(
  hs: Homeserver,
  repo: MediaRepository,
  c: Context<AppEnv>,
  options: { localOnly?: boolean } = {},
): Promise<MediumRecord> {
  const { serverName, mediaId } = c.req.param() as { serverName: string; mediaId: string };
  checkMxc(serverName, mediaId);
  await refuseQuarantined(hs, serverName, mediaId);
  checkBooleanParams(c, ["allow_remote", "allow_redirect"]);
  const timeout = integerParam(c, "timeout_ms", DEFAULT_TIMEOUT_MS);
  if (serverName !== hs.config.serverName) {
    const cached = await repo.waitForMedium(serverName, mediaId, 0).catch(() => null);
    if (cached) return cached;
    if (options.localOnly || c.req.query("allow_remote") === "false") {
      throw notFound("Remote media is not available on this server");
    }
    try {
      return await fetchRemoteMedium(hs, repo, { origin: serverName, mediaId, timeoutMs: timeout });
    } catch (err) {
      if (err instanceof RemoteMediaError) throw err.toMatrix();
      throw err;
    }
  }
  const medium = await repo.waitForMedium(serverName, mediaId, timeout);
  return medium;
}

function thumbnailRequest(c: Context<AppEnv>) {
  const width = integerParam(c, "width");
  const height = integerParam(c, "height");
  if (width < 1 || height < 1 || width > MAX_THUMBNAIL_SIDE || height > MAX_THUMBNAIL_SIDE) {
    throw invalidParam(`width and height must be between 1 and ${MAX_THUMBNAIL_SIDE}`);
  }
  const method = c.req.query("method") ?? "scale";
  if (method !== "crop" && method !== "scale") {
    throw invalidParam("method must be 'crop' or 'scale'");
  }
  checkBooleanParams(c, ["animated"]);
  return { width, height, method: method as ThumbnailMethod };
}

async function serveThumbnail(
  hs: Homeserver,
  repo: MediaRepository,
  c: Context<AppEnv>,
): Promise<Response> {
  const request = thumbnailRequest(c);
  const medium = await findMedium(hs, repo, c);
  const result = await repo.thumbnail(medium, request);
  if (result.kind === "original") {
    const blob = await repo.blobOf(medium);
    const info = await repo.imageInfoOf(blob);
    const type = info ? FORMAT_TYPES[info.format] : "application/octet-stream";
    return downloadResponse(c.req.raw, {
      contentType: type,
      fileName: `thumbnail.${info?.format ?? "bin"}`,
      size: blob.size,
      etag: medium.sha256,
      open: (range) => repo.stream(blob, range),
    }, { disposition: "inline" });
  }
  const ext = (type: string) => type === "image/png" ? "png" : "jpg";
  if (result.kind === "cached") {
    const { record, blob } = result;
    return downloadResponse(c.req.raw, {
      contentType: record.contentType,
      fileName: `thumbnail.${ext(record.contentType)}`,
      size: blob.size,
      etag: blob.sha256,
      open: (range) => repo.stream(blob, range),
    }, { disposition: "inline" });
  }
  const { thumbnail } = result;
  return new Response(thumbnail.bytes as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: {
      ...securityHeaders(),
      "Content-Type": thumbnail.contentType,
      "Content-Disposition": contentDisposition(
        "inline",
        `thumbnail.${ext(thumbnail.contentType)}`,
      ),
      "Content-Length": String(thumbnail.bytes.byteLength),
      "Cache-Control": "private, max-age=31536000, immutable",
    },
  });
}

function declaredLength(c: Context<AppEnv>): number | null {
  const header = c.req.header("content-length");
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : null;
}

function uploadOptions(c: Context<AppEnv>) {
  const fileName = c.req.query("filename");
  return {
    uploader: c.var.auth.userId,
    contentType: cleanContentType(c.req.header("content-type")),
    fileName: fileName === undefined || fileName === "" ? null : fileName,
    declaredLength: declaredLength(c),
  };
}

/** Whether a request came in on the TLS federation listener (the client listener is plain). */
function onFederationListener(c: Context<AppEnv>): boolean {
  return new URL(c.req.url).protocol === "https:";
}

function legacyFrozen(hs: Homeserver): void {
  if (!hs.config.media.legacyUnauthenticated) {
    throw notFound(
      "Unauthenticated media access is frozen on this server; use /_matrix/client/v1/media",
    );
  }
}

/** Routes of the content repository. */
export function mediaRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const repo = MediaRepository.of(hs);
  const auth = requireAuth(hs);
  const mxc = (medium: MediumRecord) => `mxc://${medium.origin}/${medium.mediaId}`;

  app.post("/_matrix/media/v3/upload", auth, async (c) => {
    rateLimit(hs, c, "mediaUpload", { userId: c.var.auth.userId });
    const medium = await repo.upload(c.req.raw.body, uploadOptions(c));
    return c.json({ content_uri: mxc(medium) });
  });

  app.post("/_matrix/media/v1/create", auth, async (c) => {
    rateLimit(hs, c, "mediaUpload", { userId: c.var.auth.userId });
    const medium = await repo.create(c.var.auth.userId);
    return c.json({ content_uri: mxc(medium), unused_expires_at: medium.unusedExpiresTs });
  });

  app.put("/_matrix/media/v3/upload/:serverName/:mediaId", auth, async (c) => {
    const { serverName, mediaId } = c.req.param();
    checkMxc(serverName, mediaId);
    if (serverName !== hs.config.serverName) throw notFound("Unknown media ID");
    rateLimit(hs, c, "mediaUpload", { userId: c.var.auth.userId });
    await repo.upload(c.req.raw.body, { ...uploadOptions(c), mediaId });
    return c.json({});
  });

  const config = (c: Context<AppEnv>) => c.json({ "m.upload.size": uploadLimit(hs.config.media) });
  const preview = async (c: Context<AppEnv>) => {
    if (!hs.config.media.urlPreview.enabled) {
      throw new MatrixError("M_UNRECOGNIZED", "URL previews are disabled on this server", {
        status: 404,
      });
    }
    const url = c.req.query("url");
    if (!url) throw new MatrixError("M_MISSING_PARAM", "Missing required query parameter 'url'");
    return c.json(await previewUrl(hs, repo, url, c.var.auth.userId));
  };
  const download = async (c: Context<AppEnv>) => {
    const medium = await findMedium(hs, repo, c);
    const fileName = c.req.param("fileName");
    return serveMedium(repo, c, medium, fileName ?? medium.fileName);
  };
  const thumbnail = (c: Context<AppEnv>) => serveThumbnail(hs, repo, c);

  const v1 = "/_matrix/client/v1/media";
  app.get(`${v1}/config`, auth, config);
  app.get(`${v1}/preview_url`, auth, preview);
  app.get(`${v1}/download/:serverName/:mediaId`, auth, download);
  app.get(`${v1}/download/:serverName/:mediaId/:fileName`, auth, download);
  app.get(`${v1}/thumbnail/:serverName/:mediaId`, auth, thumbnail);

  const v3 = "/_matrix/media/v3";
  app.get(`${v3}/config`, auth, config);
  app.get(`${v3}/preview_url`, auth, preview);
  const frozen = (handler: (c: Context<AppEnv>) => Promise<Response>) => (c: Context<AppEnv>) => {
    legacyFrozen(hs);
    return handler(c);
  };
  // Servers without authenticated federation media (Synapse 1.67) fetch ours with the legacy
  // download on our federation listener, signed with X-Matrix: such a request is served our
  // own media, while the freeze holds for clients.
  const serverAuth = requireServerAuth(hs);
  const legacyDownload = async (c: Context<AppEnv>) => {
    const signed = /^\s*X-Matrix\s/i.test(c.req.header("authorization") ?? "");
    if (
      !hs.config.media.legacyUnauthenticated && signed && onFederationListener(c) &&
      c.req.param("serverName") === hs.config.serverName
    ) {
      let response: Response | undefined;
      await serverAuth(c, async () => {
        response = await download(c);
      });
      return response!;
    }
    return await frozen(download)(c);
  };
  for (const version of ["r0", "v3"]) {
    app.get(`/_matrix/media/${version}/download/:serverName/:mediaId`, legacyDownload);
    app.get(`/_matrix/media/${version}/download/:serverName/:mediaId/:fileName`, legacyDownload);
  }
  app.get(`${v3}/thumbnail/:serverName/:mediaId`, frozen(thumbnail));

  return app;
}
