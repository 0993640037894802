/**
 * Outbound federation requests: every request signed with `X-Matrix` (origin, destination, key,
 * signature), sent over HTTPS to where discovery says, with the certificate checked for the
 * server name and `Host` set to it. The operator's rules apply before anything leaves: never to
 * ourselves, only to servers on the `allow` list (when it has entries), and never to private or
 * loopback addresses unless `allow_private_addresses`. Responses are size- and time-limited.
 *
 * @module
 */

import type { SigningKey } from "../../crypto/signing.ts";
import { isValidServerName } from "../../federation/identifiers.ts";
import { signRequest } from "../../federation/request_auth.ts";
import { ServerResolutionError } from "../../federation/server_resolution.ts";
import { MAX_JSON_DEPTH } from "../http_util.ts";
import type { ServerDiscovery } from "./discovery.ts";
import {
  type HttpsTransport,
  resolveAddresses,
  TransportError,
  type TransportResponse,
} from "./transport.ts";

/** Response bytes read at most unless a request says otherwise. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Time for a whole request unless a request says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Why a request was not sent or got no usable answer. */
export class FederationRequestError extends Error {
  /**
   * `SELF` (the destination is this server), `NOT_ALLOWED` (not on the `allow` list),
   * `BAD_DESTINATION` (not a server name), a {@link TransportError} code (`PRIVATE_ADDRESS`,
   * `UNRESOLVABLE`, `CONNECT`, `TIMEOUT`, `TOO_LARGE`, `BAD_RESPONSE`), or `HTTP_ERROR` (see
   * {@link FederationRequestError.status}).
   */
  readonly code: string;
  /** The server asked. */
  readonly destination: string;
  /** The HTTP status, for `HTTP_ERROR`. */
  readonly status?: number;
  /** The answer's `errcode`, for `HTTP_ERROR` when it had one. */
  readonly errcode?: string;

  /**
   * @param code see {@link FederationRequestError.code}
   * @param destination the server asked
   * @param message what happened
   * @param options the HTTP status and Matrix `errcode` of an error answer
   */
  constructor(
    code: string,
    destination: string,
    message: string,
    options: { status?: number; errcode?: string } = {},
  ) {
    super(`${destination}: ${message}`);
    this.name = "FederationRequestError";
    this.code = code;
    this.destination = destination;
    this.status = options.status;
    this.errcode = options.errcode;
  }
}

/** One outbound request. */
export interface FederationRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /**
   * The path from `/_matrix/`, each variable segment already escaped with
   * `encodeURIComponent` (the signature covers the path exactly as sent).
   */
  path: string;
  /** Query parameters; a list repeats the parameter. */
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  /** The JSON body (POST and PUT must have one; `{}` is sent when absent). */
  body?: Record<string, unknown>;
  /** Response bytes accepted (default {@link DEFAULT_MAX_RESPONSE_BYTES}). */
  maxBytes?: number;
  /** Time for the whole request (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** An answer. */
export interface FederationResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or null when the body is not JSON. */
  json: unknown;
}

/** What a {@link FederationClient} needs. */
export interface FederationClientOptions {
  serverName: string;
  signingKey: SigningKey;
  discovery: ServerDiscovery;
  transport: HttpsTransport;
  /** PEM CAs trusted in addition to the system's. */
  caCerts: readonly string[];
  allowPrivateAddresses: boolean;
  /** Servers we may talk to; empty means all. */
  allow: readonly string[];
  /** A and AAAA lookups (default `Deno.resolveDns`). */
  resolveDns?: (name: string, type: "A" | "AAAA") => Promise<string[]>;
}

/** The query string of a request, `?` included (or empty). */
export function queryString(query: FederationRequest["query"]): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [String(value)];
    for (const item of values) {
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(item)}`);
    }
  }
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** Parses a response body as JSON, or null (not UTF-8, not JSON, nested too deep). */
function parseBody(response: TransportResponse): unknown {
  if (response.body.length === 0) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(response.body);
  } catch {
    return null;
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The deepest bracket nesting of a JSON text (strings skipped), without parsing it. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) i++;
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 || ch === 91) max = Math.max(max, ++depth);
    else if (ch === 125 || ch === 93) depth--;
  }
  return max;
}

/** Signs and sends Server-Server API requests. */
export class FederationClient {
  readonly #options: FederationClientOptions;
  readonly #allow: ReadonlySet<string>;

  constructor(options: FederationClientOptions) {
    this.#options = options;
    this.#allow = new Set(options.allow);
  }

  /** This server's name (the `origin` of every request). */
  get serverName(): string {
    return this.#options.serverName;
  }

  /** Whether the `allow` list lets us talk to `serverName` (always, when the list is empty). */
  isAllowed(serverName: string): boolean {
    return this.#allow.size === 0 || this.#allow.has(serverName);
  }

  /**
   * Sends a signed request to `destination` and returns its answer, whatever its status.
   *
   * @throws {FederationRequestError} when the request may not be sent or no answer came
   */
  async request(destination: string, request: FederationRequest): Promise<FederationResponse> {
    const fail = (code: string, message: string) =>
      new FederationRequestError(code, destination, message);
    if (!isValidServerName(destination)) throw fail("BAD_DESTINATION", "not a server name");
    if (destination === this.serverName) {
      throw fail("SELF", "a server does not send federation requests to itself");
    }
    if (!this.isAllowed(destination)) {
      throw fail("NOT_ALLOWED", "not on the federation.allow list");
    }
    if (!request.path.startsWith("/_matrix/")) throw fail("BAD_DESTINATION", "bad path");
    const uri = `${request.path}${queryString(request.query)}`;
    const hasBody = request.method === "POST" || request.method === "PUT" ||
      request.body !== undefined;
    const content = hasBody ? (request.body ?? {}) : undefined;
    const authorization = await signRequest({
      method: request.method,
      uri,
      origin: this.serverName,
      destination,
      content,
    }, this.#options.signingKey);
    let resolved;
    try {
      resolved = await this.#options.discovery.resolve(destination);
    } catch (err) {
      if (err instanceof ServerResolutionError) throw fail("BAD_DESTINATION", err.message);
      throw err;
    }
    const headers: Record<string, string> = {
      Authorization: authorization,
      "User-Agent": "gemeng",
      Accept: "application/json",
    };
    if (content !== undefined) headers["Content-Type"] = "application/json";
    const body = content === undefined
      ? undefined
      : new TextEncoder().encode(JSON.stringify(content));
    let lastError: TransportError | null = null;
    for (const target of resolved.targets) {
      let addresses;
      try {
        addresses = await resolveAddresses(target.host, {
          allowPrivate: this.#options.allowPrivateAddresses,
          resolveDns: this.#options.resolveDns,
        });
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = err;
        if (err.code === "PRIVATE_ADDRESS") break;
        continue;
      }
      for (const address of addresses) {
        try {
          const response = await this.#options.transport.exchange(
            { address, port: target.port, tlsName: resolved.tlsName },
            { method: request.method, path: uri, host: resolved.hostHeader, headers, body },
            {
              caCerts: this.#options.caCerts,
              maxBytes: request.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
              timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            },
          );
          return { status: response.status, headers: response.headers, json: parseBody(response) };
        } catch (err) {
          if (!(err instanceof TransportError)) throw err;
          lastError = err;
          // Only a failed connection is worth another address; anything later is an answer.
          if (err.code !== "CONNECT") throw fail(err.code, err.message);
        }
      }
    }
    throw fail(lastError?.code ?? "UNRESOLVABLE", lastError?.message ?? "no address to try");
  }

  /**
   * Like {@link request}, but a status other than 2xx, or a body that is not a JSON object, is
   * an error.
   *
   * @throws {FederationRequestError} `HTTP_ERROR` with the status and `errcode`, or as
   *   {@link request}
   */
  async requestJson(
    destination: string,
    request: FederationRequest,
  ): Promise<Record<string, unknown>> {
    const response = await this.request(destination, request);
    const json = response.json;
    const isObject = typeof json === "object" && json !== null && !Array.isArray(json);
    if (response.status < 200 || response.status >= 300) {
      const errcode = isObject && typeof (json as Record<string, unknown>).errcode === "string"
        ? (json as Record<string, string>).errcode
        : undefined;
      const error = isObject ? (json as Record<string, unknown>).error : undefined;
      throw new FederationRequestError(
        "HTTP_ERROR",
        destination,
        `${request.method} ${request.path} answered ${response.status}` +
          (errcode ? ` ${errcode}` : "") + (typeof error === "string" ? `: ${error}` : ""),
        { status: response.status, errcode },
      );
    }
    if (!isObject) {
      throw new FederationRequestError(
        "BAD_RESPONSE",
        destination,
        `${request.method} ${request.path}: the answer is not a JSON object`,
      );
    }
    return json as Record<string, unknown>;
  }
}
