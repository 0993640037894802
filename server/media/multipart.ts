/**
 * The `multipart/mixed` body of the federation media endpoints (Server-Server API, "Content
 * Repository"; RFC 2046): exactly two parts, JSON metadata first, then the content itself (or a
 * `Location` header naming where to get it). Built as a stream so large media are never held
 * whole on the serving side; parsed from bytes (already size-limited) on the fetching side.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";

const encoder = new TextEncoder();

/** One received part: its headers (lower-case names) and body bytes. */
export interface MultipartPart {
  headers: Headers;
  body: Uint8Array;
}

/** Why a multipart body could not be read. */
export class MultipartError extends Error {
  /** Always `BAD_MULTIPART`. */
  readonly code = "BAD_MULTIPART";

  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "MultipartError";
  }
}

/** What the second part carries: its headers and the content stream (with its size). */
export interface MultipartContent {
  contentType: string;
  contentDisposition: string;
  size: number;
  open(): ReadableStream<Uint8Array>;
}

/**
 * A two-part `multipart/mixed` body: `metadata` as JSON, then `content`.
 *
 * @returns the `Content-Type` header value (with the boundary), the total length and the body
 */
export function buildMultipart(
  metadata: Record<string, unknown>,
  content: MultipartContent,
): { contentType: string; length: number; body: ReadableStream<Uint8Array> } {
  // 32 random alphanumerics cannot plausibly occur in the content next to CRLF and dashes.
  const boundary = `gemeng${randomString(32)}`;
  const head = encoder.encode(
    `--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(metadata)}\r\n` +
      `--${boundary}\r\nContent-Type: ${content.contentType}\r\n` +
      `Content-Disposition: ${content.contentDisposition}\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  let inner: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let stage = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (stage === 0) {
        stage = 1;
        controller.enqueue(head);
        if (content.size > 0) inner = content.open().getReader();
        return;
      }
      if (stage === 1 && inner) {
        const { done, value } = await inner.read();
        if (!done) return controller.enqueue(value);
      }
      stage = 2;
      controller.enqueue(tail);
      controller.close();
    },
    async cancel(reason) {
      await inner?.cancel(reason);
    },
  });
  return {
    contentType: `multipart/mixed; boundary=${boundary}`,
    length: head.byteLength + content.size + tail.byteLength,
    body,
  };
}

/** The `boundary` parameter of a `multipart/*` content type, or null. */
export function multipartBoundary(contentType: string | null): string | null {
  if (!contentType) return null;
  const [essence, ...params] = contentType.split(";");
  if (!/^\s*multipart\/[a-z0-9.+-]+\s*$/i.test(essence)) return null;
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(param);
    if (match) return match[1] ?? match[2];
  }
  return null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (
    let i = haystack.indexOf(first, from);
    i !== -1 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Splits a multipart body into its parts (preamble and epilogue ignored).
 *
 * @throws {MultipartError} when the framing is broken
 */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  const delimiter = encoder.encode(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = indexOf(body, delimiter, 0);
  if (at === -1) throw new MultipartError("no boundary in the body");
  while (true) {
    let start = at + delimiter.length;
    if (body[start] === 45 && body[start + 1] === 45) return parts; // "--": the last one
    // Transport padding, then CRLF (a bare LF is tolerated).
    while (body[start] === 32 || body[start] === 9) start++;
    if (body[start] === 13) start++;
    if (body[start] !== 10) throw new MultipartError("bad boundary line");
    start++;
    const next = indexOf(body, encoder.encode(`\r\n--${boundary}`), start);
    if (next === -1) throw new MultipartError("unterminated part");
    parts.push(parsePart(body.subarray(start, next)));
    if (parts.length > 16) throw new MultipartError("too many parts");
    at = next + 2;
  }
}

function parsePart(bytes: Uint8Array): MultipartPart {
  let split = indexOf(bytes, encoder.encode("\r\n\r\n"), 0);
  let skip = 4;
  if (bytes[0] === 13 && bytes[1] === 10) {
    split = 0; // no headers at all
    skip = 2;
  }
  if (split === -1) throw new MultipartError("part without a header end");
  if (split > 16 * 1024) throw new MultipartError("part headers too long");
  const headers = new Headers();
  const text = new TextDecoder().decode(bytes.subarray(0, split));
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MultipartError("bad part header");
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw new MultipartError("bad part header");
    }
  }
  return { headers, body: bytes.subarray(split + skip) };
}

/**
 * The file name of a `Content-Disposition` value: `filename*` (RFC 6266, UTF-8) first, then
 * `filename`; null when there is none.
 */
export function dispositionFileName(value: string | null): string | null {
  if (!value) return null;
  const extended = /filename\*\s*=\s*utf-8''([^;\s]+)/i.exec(value);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]);
    } catch { /* fall through to the plain name */ }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(value);
  if (!plain) return null;
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : plain[2];
}
