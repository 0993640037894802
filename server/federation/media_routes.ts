/**
 * This server's media as other servers fetch it (Server-Server API, "Content Repository"):
 * `GET /_matrix/federation/v1/media/download/{mediaId}` and `.../thumbnail/{mediaId}`, answered
 * `multipart/mixed` with empty JSON metadata and the bytes themselves (never a redirect). Only
 * media uploaded here are served: remote media we cached are not ours to hand on. The request
 * is authenticated by the federation middleware (any server may ask, as the spec has it).
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { invalidParam, missingParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { contentDisposition, isInlineType } from "../media/download_response.ts";
import { FORMAT_TYPES } from "../media/image_codecs.ts";
import { MEDIA_ID_PATTERN, type MediumRecord } from "../media/media_store.ts";
import { buildMultipart, type MultipartContent } from "../media/multipart.ts";
import { MediaRepository } from "../media/repository.ts";
import { refuseQuarantined } from "../media/quarantine.ts";
import type { ThumbnailMethod } from "../media/thumbnailer.ts";
import { authenticatedOrigin } from "./inbound_auth.ts";

const V1 = "/_matrix/federation/v1/media";
/** The spec's default wait for an asynchronous upload. */
const DEFAULT_TIMEOUT_MS = 20_000;
/** Largest thumbnail side another server may ask for (as for clients). */
const MAX_THUMBNAIL_SIDE = 4096;

function integerQuery(c: Context<AppEnv>, name: string, fallback?: number): number {
  const text = c.req.query(name);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw missingParam(name);
  }
  if (!/^\d{1,15}$/.test(text)) throw invalidParam(`'${name}' must be a non-negative integer`);
  return Number(text);
}

/** A medium uploaded to this server (not one cached from elsewhere), waiting for an upload. */
async function localMedium(
  hs: Homeserver,
  repo: MediaRepository,
  c: Context<AppEnv>,
): Promise<MediumRecord> {
  authenticatedOrigin(c); // the middleware ran: the asker is a verified server
  const mediaId = c.req.param("mediaId") ?? "";
  if (!MEDIA_ID_PATTERN.test(mediaId)) throw notFound("Media not found");
  await refuseQuarantined(hs, hs.config.serverName, mediaId);
  const timeout = integerQuery(c, "timeout_ms", DEFAULT_TIMEOUT_MS);
  const medium = await repo.waitForMedium(hs.config.serverName, mediaId, timeout);
  if (medium.cachedTs !== null) throw notFound("Media not found");
  return medium;
}

function multipartResponse(content: MultipartContent): Response {
  const { contentType, length, body } = buildMultipart({}, content);
  return new Response(body, {
    status: 200,
    headers: { "Content-Type": contentType, "Content-Length": String(length) },
  });
}

function disposition(contentType: string, fileName: string | null): string {
  return contentDisposition(isInlineType(contentType) ? "inline" : "attachment", fileName);
}

function thumbnailRequest(c: Context<AppEnv>) {
  const width = integerQuery(c, "width");
  const height = integerQuery(c, "height");
  if (width < 1 || height < 1 || width > MAX_THUMBNAIL_SIDE || height > MAX_THUMBNAIL_SIDE) {
    throw invalidParam(`width and height must be between 1 and ${MAX_THUMBNAIL_SIDE}`);
  }
  const method = c.req.query("method") ?? "scale";
  if (method !== "crop" && method !== "scale") {
    throw invalidParam("method must be 'crop' or 'scale'");
  }
  const animated = c.req.query("animated");
  if (animated !== undefined && animated !== "true" && animated !== "false") {
    throw invalidParam("'animated' must be true or false");
  }
  return { width, height, method: method as ThumbnailMethod };
}

/** Routes of the federation media endpoints. */
export function mediaFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const repo = MediaRepository.of(hs);

  app.get(`${V1}/download/:mediaId`, async (c) => {
    const medium = await localMedium(hs, repo, c);
    const blob = await repo.blobOf(medium);
    return multipartResponse({
      contentType: medium.contentType,
      contentDisposition: disposition(medium.contentType, medium.fileName),
      size: blob.size,
      open: () => repo.stream(blob, { start: 0, end: blob.size - 1 }),
    });
  });

  app.get(`${V1}/thumbnail/:mediaId`, async (c) => {
    const request = thumbnailRequest(c);
    const medium = await localMedium(hs, repo, c);
    const result = await repo.thumbnail(medium, request);
    const ext = (type: string) => type === "image/png" ? "png" : "jpg";
    if (result.kind === "original") {
      const blob = await repo.blobOf(medium);
      const info = await repo.imageInfoOf(blob);
      const type = info ? FORMAT_TYPES[info.format] : "application/octet-stream";
      return multipartResponse({
        contentType: type,
        contentDisposition: contentDisposition("inline", `thumbnail.${info?.format ?? "bin"}`),
        size: blob.size,
        open: () => repo.stream(blob, { start: 0, end: blob.size - 1 }),
      });
    }
    if (result.kind === "cached") {
      const { record, blob } = result;
      return multipartResponse({
        contentType: record.contentType,
        contentDisposition: contentDisposition("inline", `thumbnail.${ext(record.contentType)}`),
        size: blob.size,
        open: () => repo.stream(blob, { start: 0, end: blob.size - 1 }),
      });
    }
    const { thumbnail } = result;
    return multipartResponse({
      contentType: thumbnail.contentType,
      contentDisposition: contentDisposition("inline", `thumbnail.${ext(thumbnail.contentType)}`),
      size: thumbnail.bytes.byteLength,
      open: () =>
        new ReadableStream({
          start(controller) {
            controller.enqueue(thumbnail.bytes);
            controller.close();
          },
        }),
    });
  });

  return app;
}
