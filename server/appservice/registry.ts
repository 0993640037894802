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

/** The registered application services of one server. */
export class Appservices {
  /** Every registration, in the order of the config's `registration_files`. */
  readonly list: readonly AppserviceRegistration[];
  readonly #serverName: string;
  readonly #byTokenHash = new Map<string, AppserviceRegistration>();

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
   * API).
   */
  async queryUser(userId: string): Promise<boolean> {
    if (serverNameOf(userId) !== this.#serverName) return false;
    for (const reg of this.list) {
      if (reg.url === null || !matchesNamespace(reg, "users", userId)) continue;
      const answer = await callAppservice(reg, `${APP_V1}/users/${encodeURIComponent(userId)}`);
      if (answer.ok) return true;
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
      const answer = await callAppservice(reg, `${APP_V1}/rooms/${encodeURIComponent(alias)}`);
      if (answer.ok) return true;
    }
    return false;
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
