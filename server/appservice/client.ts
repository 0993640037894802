/**
 * Requests from the homeserver to an application service (spec: Application Service API,
 * "Homeserver -> Application Service API"): `Authorization: Bearer <hs_token>` on every request
 * (the legacy `access_token` query parameter is not sent: the spec asks for it only from servers
 * that support its pre-1.4 versions). The service's URL comes from the operator's registration
 * file, so loopback and private addresses are allowed here, unlike user-supplied URLs.
 *
 * Answers are hostile until checked: bodies are read up to a size limit and must be JSON.
 *
 * @module
 */

import type { AppserviceRegistration } from "./registration.ts";

/** Largest answer body read from an application service. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The outcome of one request to an application service. */
export interface AppserviceAnswer {
  /** A 2xx status came back. */
  ok: boolean;
  /** The HTTP status; 0 when no answer came (then `error` says why). */
  status: number;
  /** The parsed JSON body, or null. */
  body: unknown;
  /** Why no answer came. */
  error?: string;
}

/** Options of {@link callAppservice}. */
export interface CallOptions {
  /** `GET`, `PUT` or `POST` (default GET). */
  method?: string;
  /** A JSON body. */
  body?: unknown;
  /** Query parameters (a key may repeat). */
  query?: URLSearchParams;
  /** Time allowed for the whole exchange (default 10 s). */
  timeoutMs?: number;
  /** Aborts the request (server shutdown). */
  signal?: AbortSignal;
}

/**
 * Sends one request to `{url}{path}`. Never throws for network trouble or bad answers: the
 * outcome says what happened.
 */
export async function callAppservice(
  reg: AppserviceRegistration,
  path: string,
  options: CallOptions = {},
): Promise<AppserviceAnswer> {
  if (reg.url === null) return { ok: false, status: 0, body: null, error: "no URL configured" };
  const query = options.query?.toString();
  const target = `${reg.url}${path}${query ? `?${query}` : ""}`;
  const headers: Record<string, string> = { Authorization: `Bearer ${reg.hsToken}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const res = await fetch(target, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)])
        : AbortSignal.timeout(options.timeoutMs ?? 10_000),
      redirect: "manual",
    });
    const text = await readLimited(res);
    let body: unknown = null;
    if (text !== null && text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    return { ok: res.ok, status: res.status, body };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { ok: false, status: 0, body: null, error };
  }
}

/** The body as text, or null when it is larger than {@link MAX_ANSWER_BYTES}. */
function readLimited(res: Response): Promise<string | null> {
  return readTextLimited(res.body, MAX_ANSWER_BYTES);
}

/**
 * A JSON object body read from a copy of the request (the route reads the original), or null
 * when it is larger than `maxBytes`, not JSON, or not an object.
 */
export async function peekJsonObject(
  request: Request,
  maxBytes: number,
): Promise<Record<string, unknown> | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return null;
  try {
    const text = await readTextLimited(request.clone().body, maxBytes);
    if (text === null || text === "") return null;
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** A body stream as text, or null when it is larger than `maxBytes` (reading stops there). */
async function readTextLimited(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<string | null> {
  if (!body) return "";
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    parts.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return new TextDecoder().decode(all);
}
