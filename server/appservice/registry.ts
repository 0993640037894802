/**
 * The application services of one server: their registrations (read once, at start-up), who
 * owns which namespace, and the user and alias queries the server asks them (spec: Application
 * Service API, "Querying"). One {@link Appservices} per {@link Homeserver}, found with
 * {@link appservicesOf}.
 *
 * @module
 */

import { constantTimeEqual } from "../../crypto/tokens.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { secretHash } from "../store/kv_store.ts";
import { callAppservice } from "./client.ts";
import {
  type AppserviceRegistration,
  checkRegistrations,
  matchesNamespace,
  readRegistrationFile,
} from "./registration.ts";

/** The path prefix of the Application Service API. */
export const APP_V1 = "/_matrix/app/v1";

/** How long user and alias queries may take (see {@link Appservices.queryTiming}). */
export interface QueryTiming {
  /** One attempt. */
  attemptMs: number;
  /** Every attempt of one query together, the pauses between them included. */
  deadlineMs: number;
  /** Pause after the first failed attempt; it doubles after each. */
  retryDelayMs: number;
  /** Attempts at most. */
  maxAttempts: number;
}

/**
 * The default {@link QueryTiming}. Synapse waits up to 60 s for one attempt and never retries;
 * the spec asks for several attempts before giving up. Three attempts of 10 s answer a client
 * within about 30 s however the service misbehaves.
 */
export const DEFAULT_QUERY_TIMING: Readonly<QueryTiming> = {
  attemptMs: 10_000,
  deadlineMs: 30_000,
  retryDelayMs: 500,
  maxAttempts: 3,
};

/** The registered application services of one server. */
export class Appservices {
  /** Every registration, in the order of the config's `registration_files`. */
  readonly list: readonly AppserviceRegistration[];
  readonly #serverName: string;
  readonly #byTokenHash = new Map<string, AppserviceRegistration>();
  /** Queries under way, by service and path: concurrent askers share one. */
  readonly #queries = new Map<string, Promise<boolean>>();
  /** Time allowed to user and alias queries (tests shorten it). */
  queryTiming: QueryTiming = { ...DEFAULT_QUERY_TIMING };

  /**
   * @param registrations checked registrations (see {@link checkRegistrations})
   * @param options the server's name (namespaces only ever cover local users)
   */
  constructor(registrations: readonly AppserviceRegistration[], options: { serverName: string }) {
    checkRegistrations(registrations);
    this.list = registrations;
    this.#serverName = options.serverName;
    for (const reg of registrations) this.#byTokenHash.set(secretHash(reg.asToken), reg);
  }

  /** The service whose `as_token` this is, or null (compared in constant time). */
  byToken(token: string): AppserviceRegistration | null {
    // Every authenticated request asks: spare it the hash on servers without services.
    if (this.list.length === 0) return null;
    const reg = this.#byTokenHash.get(secretHash(token));
    return reg && constantTimeEqual(reg.asToken, token) ? reg : null;
  }

  /** The service with this `id`, or null. */
  byId(id: string): AppserviceRegistration | null {
    return this.list.find((reg) => reg.id === id) ?? null;
  }

  /**
   * The service that holds `userId` exclusively (its sender or an exclusive user namespace),
   * or null when any client may register it.
   */
  exclusiveOwnerOfUser(userId: string): AppserviceRegistration | null {
    if (serverNameOf(userId) !== this.#serverName) return null;
    return this.list.find((reg) =>
      reg.sender === userId || matchesNamespace(reg, "users", userId, { exclusiveOnly: true })
    ) ?? null;
  }

  /** The service that holds `alias` in an exclusive alias namespace, or null. */
  exclusiveOwnerOfAlias(alias: string): AppserviceRegistration | null {
    return this.list.find((reg) =>
      matchesNamespace(reg, "aliases", alias, { exclusiveOnly: true })
    ) ??
      null;
  }

  /**
   * Asks the services whose user namespace covers `userId` whether it should exist; true
   * when one of them answered 200 (it has then created the user through the Client-Server
   * API). A service that fails or does not answer in time has not created it (see
   * {@link QueryTiming}).
   */
  async queryUser(userId: string): Promise<boolean> {
    if (serverNameOf(userId) !== this.#serverName) return false;
    for (const reg of this.list) {
      if (reg.url === null || !matchesNamespace(reg, "users", userId)) continue;
      if (await this.#ask(reg, `${APP_V1}/users/${encodeURIComponent(userId)}`)) return true;
    }
    return false;
  }

  /**
   * Asks the services whose alias namespace covers `alias` whether it should exist; true when
   * one answered 200 (it has then created the room and the alias).
   */
  async queryAlias(alias: string): Promise<boolean> {
    for (const reg of this.list) {
      if (reg.url === null || !matchesNamespace(reg, "aliases", alias)) continue;
      if (await this.#ask(reg, `${APP_V1}/rooms/${encodeURIComponent(alias)}`)) return true;
    }
    return false;
  }

  /** One query to one service, shared with the askers of the same query meanwhile. */
  #ask(reg: AppserviceRegistration, path: string): Promise<boolean> {
    const key = `${reg.id}\u0000${path}`;
    let pending = this.#queries.get(key);
    if (!pending) {
      pending = askWithRetries(reg, path, this.queryTiming)
        .finally(() => this.#queries.delete(key));
      this.#queries.set(key, pending);
    }
    return pending;
  }
}

/**
 * Asks until the service answers: 2xx means yes, any other answer (404 above all) no.
 * Connection failures, timeouts and 5xx are retried within the deadline, then mean no.
 */
async function askWithRetries(
  reg: AppserviceRegistration,
  path: string,
  timing: QueryTiming,
): Promise<boolean> {
  const deadline = Date.now() + timing.deadlineMs;
  let pause = timing.retryDelayMs;
  for (let attempt = 1;; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const answer = await callAppservice(reg, path, {
      timeoutMs: Math.min(timing.attemptMs, left),
    });
    if (answer.ok) return true;
    if (answer.status !== 0 && answer.status < 500) return false;
    if (attempt >= timing.maxAttempts || Date.now() + pause >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause *= 2;
  }
}

const registries = new WeakMap<Homeserver, Appservices>();

/**
 * The application services of `hs`, read from its config's registration files on first use
 * (the route module asks at start-up, so a bad file stops the server from starting).
 *
 * @throws {ConfigError} for an unreadable or invalid registration file
 */
export function appservicesOf(hs: Homeserver): Appservices {
  let registry = registries.get(hs);
  if (!registry) {
    const serverName = hs.config.serverName;
    const registrations = hs.config.appservices.registrationFiles.map((file) =>
      readRegistrationFile(file, serverName)
    );
    registry = new Appservices(registrations, { serverName });
    registries.set(hs, registry);
  }
  return registry;
}
