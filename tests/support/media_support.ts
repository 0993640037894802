/**
 * Helpers for media tests: uploads and downloads over real HTTP, deterministic byte streams of
 * any length hashed while they are generated, and SHA-256 of response streams.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { TestServer } from "./test_server.ts";

/** Config overrides most media tests use: generous upload rate limits. */
export const MEDIA_TEST_CONFIG = {
  rate_limits: { media_upload: { per_second: 1000, burst: 1000 } },
};

/** A deterministic pseudo-random byte stream and the SHA-256 of what it produced. */
export interface PatternStream {
  stream: ReadableStream<Uint8Array>;
  /** Resolves to the hex SHA-256 once the stream has been read to its end. */
  digest: Promise<string>;
}

/** Fills `out` with xorshift32 output from `seed`; returns the next state. */
function fill(out: Uint32Array, seed: number): number {
  let x = seed | 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return x;
}

/** `total` bytes of a seeded pattern, made 1 MiB at a time and hashed as they are made. */
export function patternStream(total: number, seed = 1, blockBytes = 1 << 20): PatternStream {
  const hash = createHash("sha256");
  let state = seed;
  let sent = 0;
  let resolveDigest!: (hex: string) => void;
  const digest = new Promise<string>((resolve) => resolveDigest = resolve);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        resolveDigest(hash.digest("hex"));
        controller.close();
        return;
      }
      const size = Math.min(blockBytes, total - sent);
      const words = new Uint32Array(Math.ceil(size / 4));
      state = fill(words, state + sent);
      const bytes = new Uint8Array(words.buffer, 0, size);
      hash.update(bytes);
      sent += size;
      controller.enqueue(bytes);
    },
  }, { highWaterMark: 0 });
  return { stream, digest };
}

/** The bytes of {@link patternStream} in memory (for small sizes). */
export async function patternBytes(
  total: number,
  seed = 1,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await new Response(patternStream(total, seed).stream).arrayBuffer());
}

/** Hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Hex SHA-256 and length of a stream, read chunk by chunk. */
export async function hashStream(
  stream: ReadableStream<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Options of {@link upload}. */
export interface UploadOptions {
  contentType?: string;
  filename?: string;
  /** Upload into a media ID from `/create` (PUT) instead of POST. */
  mxc?: string;
}

/** Uploads a body; returns the status and parsed JSON answer. */
export async function upload(
  server: TestServer,
  token: string,
  body: BodyInit | Uint8Array | null,
  options: UploadOptions = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const query = options.filename !== undefined
    ? `?filename=${encodeURIComponent(options.filename)}`
    : "";
  const path = options.mxc
    ? `/_matrix/media/v3/upload/${options.mxc.slice("mxc://".length)}${query}`
    : `/_matrix/media/v3/upload${query}`;
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (options.contentType) headers["Content-Type"] = options.contentType;
  const init: RequestInit & { duplex?: string } = {
    method: options.mxc ? "PUT" : "POST",
    headers,
    body: body as BodyInit | null,
  };
  if (body instanceof ReadableStream) init.duplex = "half";
  const res = await fetch(`${server.baseUrl}${path}`, init);
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** GETs an authenticated download (or thumbnail) URL for an `mxc://` URI. */
export function download(
  server: TestServer,
  token: string | null,
  mxc: string,
  options: { path?: string; query?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const [serverName, mediaId] = mxc.slice("mxc://".length).split("/");
  const base = options.path ?? "/_matrix/client/v1/media/download";
  const headers: Record<string, string> = { ...options.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(`${server.baseUrl}${base}/${serverName}/${mediaId}${options.query ?? ""}`, {
    headers,
  });
}

/** Counts the KV keys under a prefix. */
export async function countKeys(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}
