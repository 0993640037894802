/**
 * The state of one fuzz run shared by setup, the probe and the load: the server's address,
 * routes, the tokens of the fixture's users (logged in again when a fuzzed `/logout` kills
 * them), what setup and the probe learned, and every request's outcome.
 *
 * @module
 */

import { checkAnswer, type Failure, type SentRequest } from "./check.ts";
import { type RawResponse, sendRaw, TransportError } from "./http.ts";
import type { Route } from "./routes.ts";
import { type FuzzValue, type Plausible, STATIC_PLAUSIBLE, toJsonText } from "./values.ts";
import type { FuzzServer } from "./server_process.ts";

/** A fixture user: its login and current token. */
export interface FixtureUser {
  userId: string;
  localpart: string;
  password: string;
  token: string;
  deviceId: string;
}

/** Counters of a run. */
export interface RunStats {
  requests: number;
  byStatus: Map<number, number>;
  transportRefusals: number;
  /** Route keys that answered at least one 2xx (how deep the fuzz reaches). */
  succeeded: Set<string>;
  relogins: number;
}

const encoder = new TextEncoder();

/** Builds a regular expression matching the concrete paths of a route. */
function routeMatcher(route: Route): RegExp {
  const source = route.segments.map((segment) => {
    if (typeof segment === "string") return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = route.params[segment].pattern;
    return pattern ? `(?:${pattern})` : "[^/]+";
  }).join("/");
  return new RegExp(`^/${source}$`);
}

/** Shared state of a run. */
export class Harness {
  readonly server: FuzzServer;
  readonly routes: readonly Route[];
  readonly maxBody: number;
  readonly deadlineMs: number;
  readonly plausible: Plausible;
  readonly corpus = new Map<string, { bodies: FuzzValue[]; queries: Record<string, string>[] }>();
  readonly learned = new Map<string, string[]>();
  /** Routes whose success ends the caller's session (logout): found by the probe. */
  readonly tokenKillers = new Set<string>();
  readonly users: { user?: FixtureUser; admin?: FixtureUser; other?: FixtureUser } = {};
  /** The user admin routes act on (see `GenContext.adminTarget`). */
  adminTarget: string | undefined;
  readonly failures: Failure[] = [];
  readonly stats: RunStats = {
    requests: 0,
    byStatus: new Map(),
    transportRefusals: 0,
    succeeded: new Set(),
    relogins: 0,
  };
  readonly #matchers: { route: Route; pattern: RegExp }[];
  readonly #relogins = new Map<string, Promise<void>>();

  constructor(
    server: FuzzServer,
    routes: readonly Route[],
    options: { maxBody: number; deadlineMs: number },
  ) {
    this.server = server;
    this.routes = routes;
    this.maxBody = options.maxBody;
    this.deadlineMs = options.deadlineMs;
    this.#matchers = routes.map((route) => ({ route, pattern: routeMatcher(route) }));
    const plausible = {} as Plausible;
    for (const key of Object.keys(STATIC_PLAUSIBLE) as (keyof Plausible)[]) {
      plausible[key] = [...STATIC_PLAUSIBLE[key]!];
    }
    for (
      const key of [
        "userId",
        "roomId",
        "roomAlias",
        "eventId",
        "deviceId",
        "mediaId",
        "mxc",
        "serverName",
        "filterId",
        "backupVersion",
        "sessionId",
        "assetFile",
        "streamToken",
        "url",
      ] as const
    ) {
      plausible[key] ??= [];
    }
    this.plausible = plausible;
  }

  /** `http://127.0.0.1:port` */
  get baseUrl(): string {
    return `http://${this.server.hostname}:${this.server.port}`;
  }

  /** The route a concrete method and path belong to. */
  routeOf(method: string, path: string): Route | null {
    const bare = path.split("?")[0];
    return this.#matchers.find((m) => m.route.method === method && m.pattern.test(bare))?.route ??
      null;
  }

  /**
   * Puts a fresh value in place of a destroyed one (same position, so the request numbers of
   * a seed keep their shape).
   */
  replace(category: keyof Plausible, old: string, value: string): void {
    const list = this.plausible[category];
    const at = list.indexOf(old);
    if (at >= 0) list[at] = value;
  }

  /** Adds a plausible value (deduplicated, first ones first). */
  remember(category: keyof Plausible, value: string | undefined | null): void {
    if (typeof value !== "string") return;
    const list = this.plausible[category];
    if (!list.includes(value)) list.push(value);
  }

  /**
   * Sends one request, checks the answer and records a failure or the status.
   *
   * @returns the answer, or null when none came
   */
  async send(request: Omit<SentRequest, "startedAt" | "endedAt">): Promise<RawResponse | null> {
    const sent: SentRequest = { ...request, startedAt: performance.now(), endedAt: 0 };
    let answer: RawResponse | TransportError;
    try {
      answer = await sendRaw(this.server, sent, { timeoutMs: this.deadlineMs });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      answer = err;
    }
    sent.endedAt = performance.now();
    this.stats.requests++;
    let failure = checkAnswer(sent, answer, this.maxBody);
    if (answer instanceof TransportError) {
      if (failure === null) this.stats.transportRefusals++;
      // A connection refused or reset may be the server dying: give its exit a moment to show.
      if (failure?.kind === "transport") {
        await new Promise((r) => setTimeout(r, 200));
        if (this.server.exited) failure = { ...failure, kind: "server-died" };
      }
    } else {
      this.stats.byStatus.set(answer.status, (this.stats.byStatus.get(answer.status) ?? 0) + 1);
      if (answer.status < 300) this.stats.succeeded.add(sent.routeKey);
    }
    if (failure) this.failures.push(failure);
    return answer instanceof TransportError ? null : answer;
  }

  /**
   * A well-formed JSON request as setup and the probe make them; 2xx answers add the body and
   * query to the route's corpus of valid requests.
   */
  async call(
    method: string,
    path: string,
    options: {
      as?: "user" | "admin" | "other" | null;
      body?: FuzzValue | Uint8Array;
      query?: Record<string, string>;
      contentType?: string;
      phase?: "setup" | "probe";
      record?: boolean;
      /** Do not log in again on a 401 (the liveness check itself). */
      noRelogin?: boolean;
    } = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const route = this.routeOf(method, path);
    const headers: Record<string, string> = {};
    const who = options.as === undefined ? "user" : options.as;
    if (who) headers["Authorization"] = `Bearer ${this.users[who]?.token}`;
    let body: Uint8Array | null = null;
    if (options.body instanceof Uint8Array) {
      body = options.body;
      headers["Content-Type"] = options.contentType ?? "application/octet-stream";
    } else if (options.body !== undefined) {
      body = encoder.encode(toJsonText(options.body));
      headers["Content-Type"] = "application/json";
    }
    const query = new URLSearchParams(options.query ?? {}).toString();
    const answer = await this.send({
      index: null,
      phase: options.phase ?? "setup",
      routeKey: route?.key ?? `${method} ${path}`,
      method,
      target: query ? `${path}?${query}` : path,
      headers,
      body,
      notes: [],
    });
    let json: Record<string, unknown> = {};
    try {
      json = answer ? JSON.parse(new TextDecoder().decode(answer.body)) : {};
    } catch { /* not JSON (media) */ }
    const status = answer?.status ?? 0;
    if (status >= 200 && status < 300 && route && options.record !== false) {
      const entry = this.corpus.get(route.key) ?? { bodies: [], queries: [] };
      if (options.body !== undefined && !(options.body instanceof Uint8Array)) {
        entry.bodies.push(options.body);
      }
      if (options.query) entry.queries.push(options.query);
      this.corpus.set(route.key, entry);
    }
    if (who && status === 401 && json.errcode === "M_UNKNOWN_TOKEN" && !options.noRelogin) {
      await this.relogin(who);
    }
    return { status, json };
  }

  /** Logs a fixture user in again (once, however many requests noticed its token died). */
  relogin(who: "user" | "admin" | "other"): Promise<void> {
    const running = this.#relogins.get(who);
    if (running) return running;
    const user = this.users[who];
    if (!user) return Promise.resolve();
    const deadToken = user.token;
    const job = (async () => {
      // Not every 401 M_UNKNOWN_TOKEN is about the access token (`/refresh` answers it for a
      // bad refresh token): log in only when the session really ended.
      const check = await this.call("GET", "/_matrix/client/v3/account/whoami", {
        as: who,
        record: false,
        noRelogin: true,
      });
      if (check.status !== 401) return;
      for (let attempt = 0; attempt < 3 && user.token === deadToken; attempt++) {
        const res = await this.call("POST", "/_matrix/client/v3/login", {
          as: null,
          record: false,
          body: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: user.localpart },
            password: user.password,
          },
        });
        if (res.status === 200) {
          user.token = String(res.json.access_token);
          user.deviceId = String(res.json.device_id);
          this.stats.relogins++;
        } else {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })().finally(() => this.#relogins.delete(who));
    this.#relogins.set(who, job);
    return job;
  }
}
