/**
 * The admin console's HTTP client: the Synapse-compatible admin API (docs/admin.md) with the
 * signed-in admin's access token. Loaded with the console only.
 *
 * @module
 */

/** The admin API's path prefix. */
export const ADMIN = "/_synapse/admin";

/** A refused or failed admin request. */
export class AdminError extends Error {
  /** The Matrix error code (`M_FORBIDDEN`...), or `M_NETWORK` when no answer came. */
  readonly code: string;
  /** The HTTP status (0 without an answer). */
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "AdminError";
    this.status = status;
    this.code = code;
  }
}

/** Who the console works for. */
export interface AdminCredentials {
  homeserverUrl: string;
  accessToken: string;
  userId: string;
}

/** Encodes one path segment (user, room and media IDs). */
export const seg = encodeURIComponent;

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The admin API client. */
export class AdminApi {
  readonly #credentials: AdminCredentials;

  constructor(credentials: AdminCredentials) {
    this.#credentials = credentials;
  }

  /** The signed-in admin's user ID. */
  get userId(): string {
    return this.#credentials.userId;
  }

  /** The server part of the admin's user ID (local users are `@name:<this>`). */
  get serverName(): string {
    return this.#credentials.userId.slice(this.#credentials.userId.indexOf(":") + 1);
  }

  /** Sends a request to `path` (from the server's root) and answers its response. */
  async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#credentials.accessToken}`,
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.#credentials.homeserverUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new AdminError(0, "M_NETWORK", err instanceof Error ? err.message : String(err));
    }
    if (!res.ok) {
      const answer = await res.json().catch(() => ({}));
      throw new AdminError(
        res.status,
        typeof answer.errcode === "string" ? answer.errcode : "M_UNKNOWN",
        typeof answer.error === "string" ? answer.error : `HTTP ${res.status}`,
      );
    }
    return res;
  }

  /** A JSON request; the answer's body. */
  // deno-lint-ignore no-explicit-any
  async call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await this.fetch(method, path, body);
    return await res.json();
  }

  /** GET of an admin path (`/v1/...`, `/v2/...`). */
  // deno-lint-ignore no-explicit-any
  get(path: string): Promise<any> {
    return this.call("GET", `${ADMIN}${path}`);
  }

  /** Whether the signed-in user is a server admin (a 403 says no). */
  async isAdmin(): Promise<boolean> {
    try {
      const answer = await this.get(`/v1/users/${seg(this.userId)}/admin`);
      return answer.admin === true;
    } catch (err) {
      if (err instanceof AdminError && (err.status === 403 || err.status === 404)) return false;
      throw err;
    }
  }
}
