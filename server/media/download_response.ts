/**
 * How stored bytes are served: a single `Range` (RFC 9110) with 206/416 answers,
 * `Content-Disposition` (inline only for the spec's safe types, with an RFC 6266 `filename*`
 * for names that are not plain ASCII), and headers that stop a browser from running uploaded
 * content.
 *
 * @module
 */

/** Content types the spec allows to be served `inline`. */
const INLINE_TYPES = new Set([
  "text/css",
  "text/plain",
  "text/csv",
  "application/json",
  "application/ld+json",
  "image/jpeg",
  "image/gif",
  "image/png",
  "image/apng",
  "image/webp",
  "image/avif",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "audio/mp4",
  "audio/webm",
  "audio/aac",
  "audio/mpeg",
  "audio/ogg",
  "audio/wave",
  "audio/wav",
  "audio/x-wav",
  "audio/x-pn-wav",
  "audio/flac",
  "audio/x-flac",
]);

/** The spec's recommended policy for served media. */
export const MEDIA_CSP =
  "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; " +
  "style-src 'unsafe-inline'; object-src 'self';";

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A content type as given by the uploader, if it is well formed (`type/subtype` with optional
 * parameters, no control characters); otherwise `application/octet-stream`.
 */
export function cleanContentType(value: string | null | undefined): string {
  if (!value) return "application/octet-stream";
  const trimmed = value.trim();
  // deno-lint-ignore no-control-regex
  if (trimmed.length > 255 || /[\x00-\x1f\x7f]/.test(trimmed)) return "application/octet-stream";
  const [essence] = trimmed.split(";", 1);
  const parts = essence.trim().split("/");
  if (parts.length !== 2 || !TOKEN.test(parts[0]) || !TOKEN.test(parts[1])) {
    return "application/octet-stream";
  }
  return trimmed;
}

/** Whether a content type may be served inline. */
export function isInlineType(contentType: string): boolean {
  return INLINE_TYPES.has(contentType.split(";", 1)[0].trim().toLowerCase());
}

/** A file name fit for a header: control characters removed, at most 255 characters. */
export function sanitiseFileName(name: string | null | undefined): string | null {
  if (!name) return null;
  // deno-lint-ignore no-control-regex
  const clean = [...name.replace(/[\x00-\x1f\x7f]/g, "")].slice(0, 255).join("").trim();
  return clean === "" ? null : clean;
}

/**
 * `Content-Disposition` value: `inline` or `attachment`, with the file name if any. A name
 * that is not plain printable ASCII goes in RFC 6266's `filename*` (UTF-8, percent-encoded),
 * after an ASCII `filename` fallback for old clients.
 */
export function contentDisposition(
  disposition: "inline" | "attachment",
  fileName: string | null,
): string {
  const name = sanitiseFileName(fileName);
  if (name === null) return disposition;
  if (/^[\x20-\x7e]*$/.test(name) && !/["\\%]/.test(name)) {
    return `${disposition}; filename="${name}"`;
  }
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${disposition}; filename="${fallback}"; filename*=utf-8''${encoded}`;
}

/** A byte range of a `size`-byte body, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against a body of `size` bytes.
 *
 * @returns null to serve the whole body (no header, a syntax this server ignores, or several
 *   ranges), `"unsatisfiable"` for a 416, or the one range to serve
 */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | "unsatisfiable" | null {
  if (header === null) return null;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return null; // several ranges or another unit: the full body is a valid answer
  const [, first, last] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return null; // invalid: ignore the header
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/** Headers every media response carries. */
export function securityHeaders(): Record<string, string> {
  return {
    "Content-Security-Policy": MEDIA_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
  };
}

/** What a download response is built from. */
export interface DownloadSource {
  contentType: string;
  fileName: string | null;
  size: number;
  /** A strong validator (the SHA-256 of the bytes). */
  etag: string;
  /** Opens the bytes `start..end` (inclusive). */
  open(range: ByteRange): ReadableStream<Uint8Array>;
}

/**
 * The response for a download: 200 with the whole body, 206 with one range, 416 when the
 * range is outside the body, 304 when `If-None-Match` matches.
 */
export function downloadResponse(
  request: Request,
  source: DownloadSource,
  options: { disposition?: "inline" | "attachment"; cacheControl?: string } = {},
): Response {
  const contentType = cleanContentType(source.contentType);
  const disposition = options.disposition ??
    (isInlineType(contentType) ? "inline" : "attachment");
  const headers: Record<string, string> = {
    ...securityHeaders(),
    "Content-Type": contentType,
    "Content-Disposition": contentDisposition(disposition, source.fileName),
    "Cache-Control": options.cacheControl ?? "private, max-age=31536000, immutable",
    "Accept-Ranges": "bytes",
    "ETag": `"${source.etag}"`,
  };
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim() === headers.ETag)) {
    return new Response(null, { status: 304, headers });
  }
  const ifRange = request.headers.get("if-range");
  const range = ifRange && ifRange.trim() !== headers.ETag
    ? null
    : parseRange(request.headers.get("range"), source.size);
  if (range === "unsatisfiable") {
    return new Response(null, {
      status: 416,
      headers: { ...headers, "Content-Range": `bytes */${source.size}` },
    });
  }
  if (range === null) {
    const body = source.size === 0 ? null : source.open({ start: 0, end: source.size - 1 });
    return new Response(body, {
      status: 200,
      headers: { ...headers, "Content-Length": String(source.size) },
    });
  }
  return new Response(source.open(range), {
    status: 206,
    headers: {
      ...headers,
      "Content-Length": String(range.end - range.start + 1),
      "Content-Range": `bytes ${range.start}-${range.end}/${source.size}`,
    },
  });
}
