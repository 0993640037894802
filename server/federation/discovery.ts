/**
 * Server discovery with real lookups: `/.well-known/matrix/server` over HTTPS and SRV records,
 * fed to the spec's steps in `federation/server_resolution.ts`, with caching and backoff.
 *
 * A well-known answer is kept as long as its `Cache-Control` says, within one hour and 48 hours
 * (24 hours when it says nothing); a failed one (no answer, not 200, not valid) for 5 minutes,
 * doubling with each failure in a row up to an hour, as the spec recommends. SRV answers are
 * kept for an hour (a failed lookup for 5 minutes). Caches are bounded.
 *
 * @module
 */

import {
  parseWellKnownServer,
  type ResolvedServer,
  resolveServerName,
  type SrvRecord,
} from "../../federation/server_resolution.ts";
import { HttpsTransport, resolveAddresses, TransportError } from "./transport.ts";

/** Bytes of a `.well-known/matrix/server` answer read at most. */
export const MAX_WELL_KNOWN_BYTES = 64 * 1024;
/** Redirects of a `.well-known` request followed at most. */
export const MAX_WELL_KNOWN_REDIRECTS = 5;

const HOUR = 3600_000;
const DEFAULT_WELL_KNOWN_MS = 24 * HOUR;
const MIN_WELL_KNOWN_MS = HOUR;
const MAX_WELL_KNOWN_MS = 48 * HOUR;
const FIRST_FAILURE_MS = 5 * 60_000;
const MAX_FAILURE_MS = HOUR;
const SRV_MS = HOUR;
const SRV_FAILURE_MS = 5 * 60_000;
const MAX_CACHE_ENTRIES = 10_000;
const WELL_KNOWN_TIMEOUT_MS = 10_000;

/** Options of a {@link ServerDiscovery}. */
export interface DiscoveryOptions {
  transport: HttpsTransport;
  /** PEM CAs trusted in addition to the system's. */
  caCerts: readonly string[];
  /** Connect to private and loopback addresses (tests). */
  allowPrivate: boolean;
  /** A and AAAA lookups (default `Deno.resolveDns`). */
  resolveDns?: (name: string, type: "A" | "AAAA") => Promise<string[]>;
  /** SRV lookups (default `Deno.resolveDns`); none found is an empty list. */
  resolveSrv?: (name: string) => Promise<SrvRecord[]>;
  /** The clock (tests). */
  now?: () => number;
}

interface WellKnownEntry {
  value: string | null;
  expiresAt: number;
  /** Failures in a row (0 after a valid answer). */
  failures: number;
}

/** Cache lifetime of a valid `.well-known` answer from its `Cache-Control`. */
export function wellKnownLifetimeMs(cacheControl: string | null): number {
  if (cacheControl === null) return DEFAULT_WELL_KNOWN_MS;
  const directives = cacheControl.toLowerCase().split(",").map((d) => d.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return MIN_WELL_KNOWN_MS;
  const maxAge = directives.map((d) => /^max-age=(\d{1,12})$/.exec(d)).find((m) => m !== null);
  if (!maxAge) return DEFAULT_WELL_KNOWN_MS;
  return Math.min(MAX_WELL_KNOWN_MS, Math.max(MIN_WELL_KNOWN_MS, Number(maxAge[1]) * 1000));
}

/** How long a `.well-known` failure is remembered after `failures` failures in a row. */
export function wellKnownFailureMs(failures: number): number {
  return Math.min(MAX_FAILURE_MS, FIRST_FAILURE_MS * 2 ** Math.max(0, failures - 1));
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.delete(key);
  cache.set(key, value);
  while (cache.size > MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

async function defaultSrv(name: string): Promise<SrvRecord[]> {
  try {
    return await Deno.resolveDns(name, "SRV");
  } catch (err) {
    // No such name or no SRV records is an answer: there are none.
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** Resolves server names to connection targets, caching the lookups. */
export class ServerDiscovery {
  readonly #options: DiscoveryOptions;
  readonly #now: () => number;
  readonly #wellKnown = new Map<string, WellKnownEntry>();
  readonly #wellKnownInFlight = new Map<string, Promise<string | null>>();
  readonly #srv = new Map<string, { records: SrvRecord[]; expiresAt: number }>();

  constructor(options: DiscoveryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Where to connect for `serverName`, by the spec's steps.
   *
   * @throws {import("../../federation/server_resolution.ts").ServerResolutionError} for a name
   *   that is not a server name
   */
  resolve(serverName: string): Promise<ResolvedServer> {
    return resolveServerName(serverName, {
      wellKnown: (hostname) => this.wellKnown(hostname),
      srv: (name) => this.#srvRecords(name),
    });
  }

  /** The delegated server name of `hostname`'s `.well-known`, or null (cached). */
  wellKnown(hostname: string): Promise<string | null> {
    const key = hostname.toLowerCase();
    const cached = this.#wellKnown.get(key);
    if (cached && cached.expiresAt > this.#now()) return Promise.resolve(cached.value);
    let pending = this.#wellKnownInFlight.get(key);
    if (!pending) {
      pending = this.#lookUpWellKnown(key, cached?.failures ?? 0).finally(() =>
        this.#wellKnownInFlight.delete(key)
      );
      this.#wellKnownInFlight.set(key, pending);
    }
    return pending;
  }

  async #lookUpWellKnown(hostname: string, failuresBefore: number): Promise<string | null> {
    let value: string | null = null;
    let lifetime = 0;
    try {
      const answer = await this.#fetchWellKnown(hostname);
      value = answer.value;
      lifetime = answer.lifetimeMs;
    } catch {
      value = null;
    }
    const failures = value === null ? failuresBefore + 1 : 0;
    remember(this.#wellKnown, hostname, {
      value,
      failures,
      expiresAt: this.#now() + (value === null ? wellKnownFailureMs(failures) : lifetime),
    });
    return value;
  }

  async #fetchWellKnown(hostname: string): Promise<{ value: string | null; lifetimeMs: number }> {
    let url = new URL(`https://${hostname}/.well-known/matrix/server`);
    const seen = new Set<string>();
    const deadline = this.#now() + WELL_KNOWN_TIMEOUT_MS;
    for (let hop = 0; hop <= MAX_WELL_KNOWN_REDIRECTS; hop++) {
      if (url.protocol !== "https:" || url.username || url.password || seen.has(url.href)) {
        return { value: null, lifetimeMs: 0 };
      }
      seen.add(url.href);
      const host = url.hostname;
      const addresses = await resolveAddresses(host, {
        allowPrivate: this.#options.allowPrivate,
        resolveDns: this.#options.resolveDns,
      });
      const response = await this.#options.transport.exchange(
        {
          address: addresses[0],
          port: url.port ? Number(url.port) : 443,
          tlsName: host.replace(/^\[|\]$/g, ""),
        },
        {
          method: "GET",
          path: `${url.pathname}${url.search}`,
          host: url.host,
          headers: { "User-Agent": "gemeng", Accept: "application/json" },
        },
        {
          caCerts: this.#options.caCerts,
          maxBytes: MAX_WELL_KNOWN_BYTES,
          timeoutMs: Math.max(1, deadline - this.#now()),
        },
      );
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        url = new URL(location, url);
        continue;
      }
      if (response.status !== 200) return { value: null, lifetimeMs: 0 };
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(response.body));
      } catch {
        return { value: null, lifetimeMs: 0 };
      }
      return {
        value: parseWellKnownServer(body),
        lifetimeMs: wellKnownLifetimeMs(response.headers.get("cache-control")),
      };
    }
    throw new TransportError("BAD_RESPONSE", "too many redirects");
  }

  async #srvRecords(name: string): Promise<SrvRecord[]> {
    const key = name.toLowerCase();
    const cached = this.#srv.get(key);
    if (cached && cached.expiresAt > this.#now()) return cached.records;
    const lookup = this.#options.resolveSrv ?? defaultSrv;
    let records: SrvRecord[] = [];
    let lifetime = SRV_MS;
    try {
      records = await lookup(key);
    } catch {
      lifetime = SRV_FAILURE_MS;
    }
    remember(this.#srv, key, { records, expiresAt: this.#now() + lifetime });
    return records;
  }
}
