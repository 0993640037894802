/**
 * Resolving server names (Server-Server API, "Resolving server names"): from a server name to
 * where to connect, which `Host` header to send and which name the certificate must be valid
 * for. The steps are the spec's, numbered as there. The lookups (the `/.well-known/matrix/server`
 * request and SRV records) are the caller's: this module only decides, so it stays pure and its
 * every branch is tested without a network. Address records (CNAME, AAAA, A) of the chosen host
 * are resolved by whoever connects, so that every address is checked where it is used.
 *
 * @module
 */

import { parseServerName, type ServerName } from "./identifiers.ts";

/** The federation port when nothing names another. */
export const DEFAULT_FEDERATION_PORT = 8448;

/** One SRV answer. */
export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

/** What the caller looks up for the resolution. */
export interface ResolutionLookups {
  /**
   * The `m.server` value of `https://<hostname>/.well-known/matrix/server` (see
   * {@link parseWellKnownServer}), or null when the request failed or the answer was invalid.
   */
  wellKnown(hostname: string): Promise<string | null>;
  /** The SRV records of `name` (e.g. `_matrix-fed._tcp.example.org`), none when there are none. */
  srv(name: string): Promise<SrvRecord[]>;
}

/** Where and how to reach a server. */
export interface ResolvedServer {
  /** Hosts and ports to try, in order: a hostname to resolve (CNAME, AAAA, A) or an IP literal. */
  targets: { host: string; port: number }[];
  /** The `Host` header of every request. */
  hostHeader: string;
  /** The name (hostname or IP literal) the server's certificate must be valid for. */
  tlsName: string;
  /** The spec's step that decided, e.g. "1", "3.3", "6" (for logs and tests). */
  step: string;
}

/** Why a server name cannot be resolved at all. */
export class ServerResolutionError extends Error {
  /** Stable code for callers. */
  readonly code = "BAD_SERVER_NAME";
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "ServerResolutionError";
  }
}

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** An IP literal as a connect address: IPv6 without its brackets. */
function bare(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function withPort(name: ServerName): string {
  return name.port === undefined ? name.host : `${name.host}:${name.port}`;
}

/**
 * SRV answers in the order to try them: by priority, then (RFC 2782 picks by weight at random;
 * here the order must not depend on chance) heavier first. A single record with target `.`
 * means the service is not offered.
 */
export function orderSrv(records: readonly SrvRecord[]): { host: string; port: number }[] {
  if (records.length === 1 && (records[0].target === "." || records[0].target === "")) return [];
  return [...records]
    .filter((record) => record.target !== "." && record.port > 0 && record.port < 65536)
    .sort((a, b) => a.priority - b.priority || b.weight - a.weight)
    .map((record) => ({ host: record.target.replace(/\.$/, ""), port: record.port }));
}

/**
 * The `m.server` value of a `/.well-known/matrix/server` answer when it is valid (a JSON object
 * whose `m.server` is a server name), else null.
 */
export function parseWellKnownServer(body: unknown): string | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const value = (body as Record<string, unknown>)["m.server"];
  if (typeof value !== "string" || parseServerName(value) === undefined) return null;
  return value;
}

/** Steps 3.3 to 3.5 and 4 to 6: SRV records, the deprecated ones, then the host on 8448. */
async function bySrv(
  hostname: string,
  lookups: ResolutionLookups,
  steps: [string, string, string],
): Promise<ResolvedServer> {
  const common = { hostHeader: hostname, tlsName: hostname };
  const current = orderSrv(await lookups.srv(`_matrix-fed._tcp.${hostname}`));
  if (current.length > 0) return { ...common, targets: current, step: steps[0] };
  const deprecated = orderSrv(await lookups.srv(`_matrix._tcp.${hostname}`));
  if (deprecated.length > 0) return { ...common, targets: deprecated, step: steps[1] };
  return {
    ...common,
    targets: [{ host: hostname, port: DEFAULT_FEDERATION_PORT }],
    step: steps[2],
  };
}

/**
 * Resolves a server name by the spec's steps.
 *
 * @throws {ServerResolutionError} when `serverName` is not a server name
 */
export async function resolveServerName(
  serverName: string,
  lookups: ResolutionLookups,
): Promise<ResolvedServer> {
  const name = parseServerName(serverName);
  if (!name) throw new ServerResolutionError(`'${serverName}' is not a server name`);
  const port = name.port ?? DEFAULT_FEDERATION_PORT;
  // 1. An IP literal, with its port or 8448.
  if (isIpLiteral(name.host)) {
    return {
      targets: [{ host: bare(name.host), port }],
      hostHeader: withPort(name),
      tlsName: bare(name.host),
      step: "1",
    };
  }
  // 2. A hostname with an explicit port.
  if (name.port !== undefined) {
    return {
      targets: [{ host: name.host, port }],
      hostHeader: withPort(name),
      tlsName: name.host,
      step: "2",
    };
  }
  // 3. Delegation through /.well-known/matrix/server.
  const delegatedText = await lookups.wellKnown(name.host);
  const delegated = delegatedText === null ? undefined : parseServerName(delegatedText);
  if (delegated) {
    if (isIpLiteral(delegated.host)) {
      return {
        targets: [{ host: bare(delegated.host), port: delegated.port ?? DEFAULT_FEDERATION_PORT }],
        hostHeader: withPort(delegated),
        tlsName: bare(delegated.host),
        step: "3.1",
      };
    }
    if (delegated.port !== undefined) {
      return {
        targets: [{ host: delegated.host, port: delegated.port }],
        hostHeader: withPort(delegated),
        tlsName: delegated.host,
        step: "3.2",
      };
    }
    return await bySrv(delegated.host, lookups, ["3.3", "3.4", "3.5"]);
  }
  // 4-6. No delegation: SRV records of the hostname itself, then the hostname on 8448.
  return await bySrv(name.host, lookups, ["4", "5", "6"]);
}
