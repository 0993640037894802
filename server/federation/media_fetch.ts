/**
 * Fetching another server's media for our clients (Server-Server API, "Content Repository"):
 * first the authenticated `GET /_matrix/federation/v1/media/download/{mediaId}` (signed, a
 * `multipart/mixed` answer), then, for servers that predate it (Synapse 1.67), the legacy
 * `GET /_matrix/media/v3/download/{serverName}/{mediaId}` (then `r0`) on the same federation
 * address. Both go through our HTTPS transport, so the operator's rules hold as for every
 * federation request: not to ourselves, only to allowed servers, never to private addresses
 * unless allowed. A `Location` answer is followed with the SSRF-safe fetch.
 *
 * The federation client ({@link FederationClient.request}) hands back parsed JSON only; media
 * needs the raw bytes, so the signed GET is made here with the same discovery and transport.
 *
 * The fetched bytes are cached as a medium under their origin and media ID, with `uploader`
 * null and `cachedTs` set (so the admin purge of cached remote media finds them); the second
 * download is served from the cache without asking the origin again. Concurrent downloads of
 * one uncached medium share one fetch.
 *
 * @module
 */

import { isValidServerName } from "../../federation/identifiers.ts";
import { signRequest } from "../../federation/request_auth.ts";
import { MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { cleanContentType, sanitiseFileName } from "../media/download_response.ts";
import { parseCidr } from "../media/ip_ranges.ts";
import { getMedium, MediaStoreError, type MediumRecord } from "../media/media_store.ts";
import {
  dispositionFileName,
  multipartBoundary,
  MultipartError,
  parseMultipart,
} from "../media/multipart.ts";
import type { MediaRepository } from "../media/repository.ts";
import { safeFetch, SafeFetchError } from "../media/safe_fetch.ts";
import { resolveAddresses, TransportError, type TransportResponse } from "./transport.ts";

/** Room for the multipart framing and metadata around the content. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** Longest wait for another server's media. */
const MAX_FETCH_MS = 60_000;

/** Why another server's medium could not be fetched. */
export class RemoteMediaError extends Error {
  /**
   * @param code `NOT_FOUND` (the origin has no such medium), `TOO_LARGE` (over our limit),
   *   `NOT_ALLOWED` (federation off, or the origin not allowed), `UNAVAILABLE` (no usable answer)
   * @param message what happened
   */
  constructor(
    readonly code: "NOT_FOUND" | "TOO_LARGE" | "NOT_ALLOWED" | "UNAVAILABLE",
    message: string,
  ) {
    super(message);
    this.name = "RemoteMediaError";
  }

  /** The error the client sees. */
  toMatrix(): MatrixError {
    switch (this.code) {
      case "NOT_FOUND":
      case "NOT_ALLOWED":
        return notFound(this.message);
      case "TOO_LARGE":
        return new MatrixError("M_TOO_LARGE", this.message, { status: 502 });
      case "UNAVAILABLE":
        return new MatrixError("M_UNKNOWN", this.message, { status: 502 });
    }
  }
}

/** Fetched content before it is cached. */
interface Fetched {
  bytes: Uint8Array;
  contentType: string;
  fileName: string | null;
}

/**
 * How long a failure is remembered, so that clients retrying (or many clients rendering one
 * broken image) do not each cost the origin a request.
 */
const FAILURE_TTL_MS: Record<RemoteMediaError["code"], number> = {
  NOT_FOUND: 60_000,
  TOO_LARGE: 10 * 60_000,
  NOT_ALLOWED: 0,
  UNAVAILABLE: 10_000,
};
/** Failures remembered at most per server (the oldest are forgotten first). */
const MAX_REMEMBERED_FAILURES = 10_000;

const inFlight = new WeakMap<Homeserver, Map<string, Promise<MediumRecord>>>();
const failures = new WeakMap<Homeserver, Map<string, { until: number; error: RemoteMediaError }>>();
const trustedCas = new WeakMap<Homeserver, Promise<string[]>>();

/**
 * The cached copy of `origin`'s medium, fetched over federation first when there is none.
 *
 * @throws {RemoteMediaError} when it cannot be had
 */
export function fetchRemoteMedium(
  hs: Homeserver,
  repo: MediaRepository,
  options: { origin: string; mediaId: string; timeoutMs: number },
): Promise<MediumRecord> {
  let flights = inFlight.get(hs);
  if (!flights) inFlight.set(hs, flights = new Map());
  const key = `${options.origin}/${options.mediaId}`;
  let failed = failures.get(hs);
  if (!failed) failures.set(hs, failed = new Map());
  const known = failed.get(key);
  if (known && known.until > Date.now()) return Promise.reject(known.error);
  let pending = flights.get(key);
  if (!pending) {
    pending = fetchAndCache(hs, repo, options).catch((err) => {
      if (err instanceof RemoteMediaError) remember(failed, key, err);
      throw err;
    }).finally(() => flights.delete(key));
    flights.set(key, pending);
  }
  return pending;
}

function remember(
  failed: Map<string, { until: number; error: RemoteMediaError }>,
  key: string,
  error: RemoteMediaError,
): void {
  const ttl = FAILURE_TTL_MS[error.code];
  if (ttl <= 0) return;
  failed.delete(key);
  failed.set(key, { until: Date.now() + ttl, error });
  // A Map iterates in insertion order: the first entries are the oldest.
  for (const old of failed.keys()) {
    if (failed.size <= MAX_REMEMBERED_FAILURES) break;
    failed.delete(old);
  }
}

async function fetchAndCache(
  hs: Homeserver,
  repo: MediaRepository,
  options: { origin: string; mediaId: string; timeoutMs: number },
): Promise<MediumRecord> {
  const { origin, mediaId } = options;
  const cached = await getMedium(hs.kv, origin, mediaId);
  if (cached?.state === "ready") return cached;
  const fetched = await fetchRemoteContent(hs, options);
  try {
    return await repo.storeBytes(fetched.bytes, {
      contentType: fetched.contentType,
      fileName: fetched.fileName,
      origin,
      mediaId,
      cachedTs: Date.now(),
    });
  } catch (err) {
    // Another process (or an earlier fetch) cached it meanwhile: serve that one.
    if (err instanceof MediaStoreError && err.code === "EXISTS") {
      const stored = await getMedium(hs.kv, origin, mediaId);
      if (stored?.state === "ready") return stored;
    }
    throw err;
  }
}

/**
 * The content of `origin`'s medium, from the authenticated endpoint or the legacy one.
 *
 * @throws {RemoteMediaError} when it cannot be had
 */
export async function fetchRemoteContent(
  hs: Homeserver,
  options: { origin: string; mediaId: string; timeoutMs: number },
): Promise<Fetched> {
  const { origin, mediaId } = options;
  if (!hs.config.federation.enabled) {
    throw new RemoteMediaError("NOT_ALLOWED", "This server does not federate");
  }
  if (!isValidServerName(origin) || origin === hs.config.serverName) {
    throw new RemoteMediaError("NOT_FOUND", "Not a remote server");
  }
  if (!hs.federation.client.isAllowed(origin)) {
    throw new RemoteMediaError("NOT_ALLOWED", "This server does not federate with that server");
  }
  const maxBytes = hs.config.media.maxUploadSize;
  const deadline = Date.now() + Math.min(Math.max(options.timeoutMs, 5_000), MAX_FETCH_MS);
  const id = encodeURIComponent(mediaId);
  const authenticated = await signedGet(hs, origin, {
    path: `/_matrix/federation/v1/media/download/${id}`,
    query: `?timeout_ms=${Math.max(0, deadline - Date.now())}`,
    maxBytes: maxBytes + MULTIPART_OVERHEAD_BYTES,
    deadline,
  });
  if (authenticated.status === 200) return await fromMultipart(hs, authenticated, maxBytes);
  throwIfFinal(authenticated);
  // Servers without authenticated media answer 404 M_UNRECOGNIZED (or 400/405/501): try the
  // legacy endpoint, which they serve unauthenticated.
  const origin_ = encodeURIComponent(origin);
  for (const version of ["v3", "r0"]) {
    const legacy = await signedGet(hs, origin, {
      path: `/_matrix/media/${version}/download/${origin_}/${id}`,
      query: `?allow_remote=false&timeout_ms=${Math.max(0, deadline - Date.now())}`,
      maxBytes,
      deadline,
    });
    if (legacy.status === 200) {
      return {
        bytes: legacy.body,
        contentType: cleanContentType(legacy.headers.get("content-type")),
        fileName: sanitiseFileName(dispositionFileName(legacy.headers.get("content-disposition"))),
      };
    }
    throwIfFinal(legacy);
  }
  throw new RemoteMediaError("UNAVAILABLE", `${origin} did not serve the media`);
}

function errcodeOf(response: TransportResponse): string | null {
  try {
    const json = JSON.parse(new TextDecoder().decode(response.body.subarray(0, 4096)));
    return typeof json?.errcode === "string" ? json.errcode : null;
  } catch {
    return null;
  }
}

/** A 404 M_NOT_FOUND, M_TOO_LARGE or 504 M_NOT_YET_UPLOADED is the origin's final word. */
function throwIfFinal(response: TransportResponse): void {
  const errcode = errcodeOf(response);
  if (errcode === "M_NOT_FOUND") throw new RemoteMediaError("NOT_FOUND", "Media not found");
  if (errcode === "M_TOO_LARGE") {
    throw new RemoteMediaError("TOO_LARGE", "The remote media is too large");
  }
  if (errcode === "M_NOT_YET_UPLOADED") {
    throw new MatrixError("M_NOT_YET_UPLOADED", "Content has not yet been uploaded", {
      status: 504,
    });
  }
}

async function fromMultipart(
  hs: Homeserver,
  response: TransportResponse,
  maxBytes: number,
): Promise<Fetched> {
  const boundary = multipartBoundary(response.headers.get("content-type"));
  if (!boundary) throw new RemoteMediaError("UNAVAILABLE", "The answer is not multipart/mixed");
  let parts;
  try {
    parts = parseMultipart(response.body, boundary);
  } catch (err) {
    if (err instanceof MultipartError) {
      throw new RemoteMediaError("UNAVAILABLE", `Bad multipart answer: ${err.message}`);
    }
    throw err;
  }
  if (parts.length !== 2) throw new RemoteMediaError("UNAVAILABLE", "Expected two parts");
  const content = parts[1];
  const location = content.headers.get("location");
  if (location !== null) return await followLocation(hs, location, maxBytes);
  if (content.body.byteLength > maxBytes) {
    throw new RemoteMediaError("TOO_LARGE", "The remote media is too large");
  }
  return {
    bytes: content.body,
    contentType: cleanContentType(content.headers.get("content-type")),
    fileName: sanitiseFileName(dispositionFileName(content.headers.get("content-disposition"))),
  };
}

async function followLocation(hs: Homeserver, location: string, maxBytes: number) {
  const allowPrivate = hs.config.federation.allowPrivateAddresses;
  let response;
  try {
    response = await safeFetch(location, {
      allowedRanges: allowPrivate ? [parseCidr("0.0.0.0/0")!, parseCidr("::/0")!] : [],
      maxBytes,
      timeoutMs: 30_000,
      accept: "*/*",
    });
  } catch (err) {
    if (err instanceof SafeFetchError) {
      throw new RemoteMediaError("UNAVAILABLE", `Cannot fetch the media location: ${err.message}`);
    }
    throw err;
  }
  if (response.truncated) throw new RemoteMediaError("TOO_LARGE", "The remote media is too large");
  if (response.status !== 200) {
    throw new RemoteMediaError("UNAVAILABLE", `The media location answered ${response.status}`);
  }
  return {
    bytes: response.body,
    contentType: cleanContentType(response.headers.get("content-type")),
    fileName: sanitiseFileName(dispositionFileName(response.headers.get("content-disposition"))),
  };
}

function loadTrustedCas(hs: Homeserver): Promise<string[]> {
  let cas = trustedCas.get(hs);
  if (!cas) {
    // The same files the federation client trusts (config `federation.trusted_ca`); they were
    // read successfully at start-up.
    cas = Promise.all(hs.config.federation.trustedCa.map((path) => Deno.readTextFile(path)));
    trustedCas.set(hs, cas);
  }
  return cas;
}

/**
 * A signed GET over the federation transport, answered with raw bytes whatever its status.
 *
 * @throws {RemoteMediaError} `TOO_LARGE` over `maxBytes`, `UNAVAILABLE` when nothing answered
 */
async function signedGet(
  hs: Homeserver,
  destination: string,
  request: { path: string; query: string; maxBytes: number; deadline: number },
): Promise<TransportResponse> {
  const uri = `${request.path}${request.query}`;
  const authorization = await signRequest({
    method: "GET",
    uri,
    origin: hs.config.serverName,
    destination,
  }, hs.signingKey);
  const headers = { Authorization: authorization, "User-Agent": "gemeng", Accept: "*/*" };
  const caCerts = await loadTrustedCas(hs);
  let resolved;
  try {
    resolved = await hs.federation.discovery.resolve(destination);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new RemoteMediaError("UNAVAILABLE", `Cannot resolve ${destination}: ${detail}`);
  }
  let last = "no address to try";
  for (const target of resolved.targets) {
    let addresses;
    try {
      addresses = await resolveAddresses(target.host, {
        allowPrivate: hs.config.federation.allowPrivateAddresses,
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      last = err.message;
      if (err.code === "PRIVATE_ADDRESS") break;
      continue;
    }
    for (const address of addresses) {
      const timeoutMs = request.deadline - Date.now();
      if (timeoutMs <= 0) throw new RemoteMediaError("UNAVAILABLE", "Timed out");
      try {
        return await hs.federation.transport.exchange(
          { address, port: target.port, tlsName: resolved.tlsName },
          { method: "GET", path: uri, host: resolved.hostHeader, headers },
          { caCerts, maxBytes: request.maxBytes, timeoutMs },
        );
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        if (err.code === "TOO_LARGE") {
          throw new RemoteMediaError("TOO_LARGE", "The remote media is too large");
        }
        // Only a failed connection is worth another address; anything later is an answer.
        if (err.code !== "CONNECT") {
          throw new RemoteMediaError("UNAVAILABLE", `${destination}: ${err.message}`);
        }
        last = err.message;
      }
    }
  }
  throw new RemoteMediaError("UNAVAILABLE", `${destination}: ${last}`);
}
