/**
 * URL previews (`GET /_matrix/client/v1/media/preview_url`): fetch the page with
 * {@link safeFetch}, read its OpenGraph tags (with `<title>` and the description meta tag as
 * fallbacks), store its image in the media repository so clients get an `mxc://` URI, and cache
 * the answer in KV for a day.
 *
 * @module
 */

import { sha256 } from "../../crypto/hashes.ts";
import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { sanitiseFileName } from "./download_response.ts";
import { imageInfo } from "./image_codecs.ts";
import type { MediaRepository } from "./repository.ts";
import { safeFetch, SafeFetchError, type SafeFetchOptions } from "./safe_fetch.ts";

/** How long a preview is served from the cache. */
export const PREVIEW_CACHE_MS = 24 * 3600_000;
const MAX_TEXT = 2000;
/** OpenGraph properties kept at most, so a cached preview stays one small KV value. */
const MAX_PROPERTIES = 24;
/** Longest property name kept (`og:image:secure_url` and the like are short). */
const MAX_PROPERTY_NAME = 64;
/**
 * Characters of names and values kept in all: with the URL below, the cached preview stays
 * under the KV value limit (64 KiB) even when every character takes two bytes.
 */
const MAX_PREVIEW_CHARS = 16_000;
/** Longest URL previewed. */
export const MAX_PREVIEW_URL = 8192;

/** `["media_url_preview", sha256hex(url)]`. */
interface CachedPreview {
  url: string;
  ts: number;
  og: Record<string, string | number>;
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  auml: "ä",
  ouml: "ö",
  uuml: "ü",
  Auml: "Ä",
  Ouml: "Ö",
  Uuml: "Ü",
  euml: "ë",
  szlig: "ß",
  eacute: "é",
  egrave: "è",
  ecirc: "ê",
  agrave: "à",
  acirc: "â",
  ccedil: "ç",
  Eacute: "É",
  euro: "€",
  copy: "©",
  reg: "®",
  hellip: "…",
  ndash: "–",
  mdash: "—",
  laquo: "«",
  raquo: "»",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name] ?? ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  const pattern = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g;
  for (const match of tag.matchAll(pattern)) {
    const name = match[1].toLowerCase();
    if (!out.has(name)) out.set(name, decodeEntities(match[2] ?? match[3] ?? match[4] ?? ""));
  }
  return out;
}

function clip(text: string): string {
  const clean = text.replace(/\s+/g, " ").trim();
  return clean.length > MAX_TEXT ? `${clean.slice(0, MAX_TEXT - 1)}…` : clean;
}

/**
 * Reads OpenGraph properties (`og:*`) from HTML, with title and description fallbacks. The
 * title and description are kept first; then the other properties in document order, as many
 * as fit in {@link MAX_PROPERTIES} and {@link MAX_PREVIEW_CHARS}.
 */
export function parseOpenGraph(html: string): Record<string, string> {
  const found = new Map<string, string>();
  let description: string | undefined;
  for (const match of html.matchAll(/<meta\b([^>]*)>/gi)) {
    const attrs = attributes(match[1]);
    const key = attrs.get("property") ?? attrs.get("name");
    const content = attrs.get("content");
    if (!key || content === undefined) continue;
    const lower = key.toLowerCase();
    if (lower.startsWith("og:") && lower.length <= MAX_PROPERTY_NAME && !found.has(lower)) {
      found.set(lower, clip(content));
    }
    if (lower === "description" && description === undefined) description = clip(content);
  }
  if (!found.get("og:title")) {
    const title = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html);
    if (title) found.set("og:title", clip(decodeEntities(title[1])));
  }
  if (!found.get("og:description") && description) found.set("og:description", description);
  const og: Record<string, string> = {};
  let used = 0;
  for (const key of ["og:title", "og:description", ...found.keys()]) {
    const value = found.get(key);
    if (value === undefined || key in og) continue;
    if (Object.keys(og).length >= MAX_PROPERTIES) break;
    if (used + key.length + value.length > MAX_PREVIEW_CHARS) continue;
    og[key] = value;
    used += key.length + value.length;
  }
  return og;
}

function charsetOf(contentType: string | null): string {
  const match = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? "");
  return match ? match[1] : "utf-8";
}

function decodeHtml(bytes: Uint8Array, contentType: string | null): string {
  try {
    return new TextDecoder(charsetOf(contentType)).decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}

/**
 * The file name an image URL suggests: its last path segment, %-decoded when the escapes are
 * valid (a page may link `a%zz.png`, which is then kept as written), cleaned like an upload's
 * name; null when nothing is left.
 */
export function fileNameOf(url: URL): string | null {
  const segment = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  try {
    return sanitiseFileName(decodeURIComponent(segment));
  } catch {
    return sanitiseFileName(segment);
  }
}

async function storeImage(
  repo: MediaRepository,
  url: URL,
  options: SafeFetchOptions,
): Promise<Record<string, string | number>> {
  const response = await safeFetch(url, { ...options, accept: "image/*" });
  if (response.status !== 200 || response.truncated) return {};
  const info = imageInfo(response.body);
  if (!info) return {};
  const type = `image/${info.format}`;
  const medium = await repo.storeBytes(response.body, {
    contentType: type,
    fileName: fileNameOf(url),
  });
  return {
    "og:image": `mxc://${medium.origin}/${medium.mediaId}`,
    "og:image:type": type,
    "og:image:width": info.width,
    "og:image:height": info.height,
    "matrix:image:size": medium.size,
  };
}

/**
 * The preview of `url`, from the cache or freshly fetched.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN for private addresses, 400 M_INVALID_PARAM for URLs
 *   that cannot be previewed, 502 M_UNKNOWN when the page cannot be fetched
 */
export async function previewUrl(
  hs: Homeserver,
  repo: MediaRepository,
  url: string,
  _userId: string,
): Promise<Record<string, string | number>> {
  const config = hs.config.media.urlPreview;
  if (url.length > MAX_PREVIEW_URL) {
    throw new MatrixError(
      "M_INVALID_PARAM",
      `URLs longer than ${MAX_PREVIEW_URL} characters are not previewed`,
    );
  }
  const key = ["media_url_preview", hexOf(sha256(new TextEncoder().encode(url)))];
  const cached = (await hs.kv.get<CachedPreview>(key)).value;
  if (cached && cached.url === url && cached.ts + PREVIEW_CACHE_MS > Date.now()) return cached.og;
  const options: SafeFetchOptions = {
    allowedRanges: config.allowedRanges,
    maxBytes: config.maxPageSize,
    timeoutMs: config.timeoutMs,
  };
  let og: Record<string, string | number> = {};
  try {
    const page = await safeFetch(url, { ...options, accept: "text/html,image/*;q=0.8" });
    if (page.status < 200 || page.status >= 300) {
      throw new MatrixError("M_UNKNOWN", `The page answered HTTP ${page.status}`, { status: 502 });
    }
    const type = (page.headers.get("content-type") ?? "").toLowerCase();
    if (type.startsWith("image/")) {
      og = await storeImage(repo, page.url, options);
    } else if (type.includes("html")) {
      const parsed = parseOpenGraph(decodeHtml(page.body, page.headers.get("content-type")));
      og = { ...parsed };
      const image = parsed["og:image"];
      delete og["og:image"];
      if (image) {
        try {
          og = { ...og, ...await storeImage(repo, new URL(image, page.url), options) };
        } catch { /* a preview without its image is still a preview */ }
      }
    }
  } catch (err) {
    if (err instanceof SafeFetchError) {
      if (err.code === "FORBIDDEN") {
        throw new MatrixError("M_FORBIDDEN", `Cannot preview this URL: ${err.message}`, {
          status: 403,
        });
      }
      if (err.code === "BAD_URL") throw new MatrixError("M_INVALID_PARAM", err.message);
      throw new MatrixError("M_UNKNOWN", `Cannot preview this URL: ${err.message}`, {
        status: 502,
      });
    }
    throw err;
  }
  const record: CachedPreview = { url, ts: Date.now(), og };
  await hs.kv.set(key, record, { expireIn: PREVIEW_CACHE_MS });
  return og;
}

function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}
