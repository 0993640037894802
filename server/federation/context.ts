/**
 * One server's federation machinery in one object ({@link FederationContext}): the HTTPS
 * transport, server discovery, the signing client, the key ring and per-origin rate limits,
 * plus the TLS listener. The plain-HTTP listener never offers the Server-Server API (the spec
 * requires TLS): {@link isServerServerPath} tells it which requests to refuse.
 *
 * @module
 */

import type { SigningKey } from "../../crypto/signing.ts";
import { type Config, ConfigError, federationListenAddress } from "../config.ts";
import { unrecognized } from "../errors.ts";
import { RateLimiter } from "../rate_limit.ts";
import { FederationClient } from "./client.ts";
import { ServerDiscovery } from "./discovery.ts";
import { KeyRing } from "./keys.ts";
import { KeyRotationError, loadOldSigningKeys } from "./key_rotation.ts";
import { HttpsTransport } from "./transport.ts";
import { serveTls } from "../tls/tls_server.ts";

/** Requests per second (and burst) one origin server may make (counted once verified). */
export const ORIGIN_RATE_LIMIT = { perSecond: 200, burst: 2000 } as const;
/**
 * Federation requests per second (and burst) from one address before their signature is
 * checked: forged requests cannot use up a real origin's budget, and each can cost a key fetch.
 */
export const ADDRESS_RATE_LIMIT = { perSecond: 500, burst: 5000 } as const;
/** Notary key queries per second (and burst) per client address. */
export const KEY_QUERY_RATE_LIMIT = { perSecond: 20, burst: 100 } as const;

/** Options of the TLS listener. */
export interface FederationListenOptions {
  /** Override `federation.listen`'s host. */
  hostname?: string;
  /** Override `federation.listen`'s port (0 picks a free port). */
  port?: number;
  /** Called once the listener is bound. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * True for the paths only the TLS listener serves (`/_matrix/federation/*`, `/_matrix/key/*`),
 * except `/openid/userinfo`: it carries no server signature, and widget and call back-ends ask
 * it of the client address as Synapse serves it there.
 */
export function isServerServerPath(pathname: string): boolean {
  let path = pathname;
  try {
    path = decodeURI(pathname);
  } catch { /* malformed escapes: judged as they are */ }
  if (/^\/_matrix\/federation\/v1\/openid\/userinfo$/.test(path)) return false;
  return /^\/+_matrix\/+(federation|key)(\/|$)/.test(path);
}

/** The answer of the plain-HTTP listener to Server-Server API requests. */
export function notOnPlainHttp(): Response {
  return unrecognized("The Server-Server API is served over TLS on the federation listener")
    .toResponse();
}

async function readFile(key: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ConfigError(key, `cannot read ${path}: ${detail}`);
  }
}

/** A server's federation parts. */
export class FederationContext {
  readonly config: Config;
  readonly transport: HttpsTransport;
  readonly discovery: ServerDiscovery;
  /** Signs and sends requests to other servers. */
  readonly client: FederationClient;
  /** Our keys and other servers' keys. */
  readonly keys: KeyRing;
  /** Per-origin (`origin`) and per-address (`address`, `key_query`) limits. */
  readonly rateLimiter: RateLimiter;
  /** A and AAAA lookups of other servers' names (undefined: `Deno.resolveDns`). */
  readonly resolveDns?: (name: string, type: "A" | "AAAA") => Promise<string[]>;
  readonly #caCerts: string[] = [];
  #tls: { cert: string; key: string } | null = null;
  #listener: Deno.HttpServer<Deno.NetAddr> | null = null;

  /**
   * @param options `resolveDns` answers A and AAAA lookups of other servers' host names
   *   (default `Deno.resolveDns`; tests give names of their own)
   */
  constructor(options: {
    config: Config;
    kv: Deno.Kv;
    signingKey: SigningKey;
    resolveDns?: (name: string, type: "A" | "AAAA") => Promise<string[]>;
  }) {
    const { config } = options;
    const federation = config.federation;
    this.config = config;
    this.resolveDns = options.resolveDns;
    this.transport = new HttpsTransport();
    this.discovery = new ServerDiscovery({
      transport: this.transport,
      caCerts: this.#caCerts,
      allowPrivate: federation.allowPrivateAddresses,
      resolveDns: options.resolveDns,
    });
    this.client = new FederationClient({
      serverName: config.serverName,
      signingKey: options.signingKey,
      discovery: this.discovery,
      transport: this.transport,
      caCerts: this.#caCerts,
      allowPrivateAddresses: federation.allowPrivateAddresses,
      allow: federation.allow,
      resolveDns: options.resolveDns,
    });
    this.keys = new KeyRing({
      kv: options.kv,
      serverName: config.serverName,
      signingKey: options.signingKey,
      client: this.client,
      pinnedKeys: federation.pinnedKeys,
    });
    this.rateLimiter = new RateLimiter({
      origin: ORIGIN_RATE_LIMIT,
      address: ADDRESS_RATE_LIMIT,
      key_query: KEY_QUERY_RATE_LIMIT,
    });
  }

  /**
   * Reads the files the config names: `trusted_ca`, and the certificate and key of the
   * separate federation listener when they are set; and the retired signing keys in
   * `data_dir`, if any.
   *
   * @throws {ConfigError} naming the key of a file that cannot be read
   */
  async loadFiles(): Promise<void> {
    const federation = this.config.federation;
    try {
      this.keys.setOldVerifyKeys(await loadOldSigningKeys(this.config));
    } catch (err) {
      if (err instanceof KeyRotationError) throw new ConfigError("data_dir", err.message);
      throw err;
    }
    for (const path of federation.trustedCa) {
      const pem = await readFile("federation.trusted_ca", path);
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        throw new ConfigError("federation.trusted_ca", `${path} holds no PEM certificate`);
      }
      this.#caCerts.push(pem);
    }
    if (federation.enabled && federation.tlsCert !== "") {
      this.#tls = {
        cert: await readFile("federation.tls_cert", federation.tlsCert),
        key: await readFile("federation.tls_key", federation.tlsKey),
      };
    }
  }

  /** The CA certificates trusted beyond the system's (`trusted_ca`), once loaded. */
  get trustedCaCerts(): readonly string[] {
    return this.#caCerts;
  }

  /** The TLS listener, once started. */
  get listener(): Deno.HttpServer<Deno.NetAddr> | null {
    return this.#listener;
  }

  /**
   * Starts the HTTPS listener of the Server-Server API (once; later calls return it).
   *
   * @param handler the server's request handler (it serves the client API there too)
   */
  listen(
    handler: (
      request: Request,
      info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    ) => Response | Promise<Response>,
    options: FederationListenOptions = {},
  ): Deno.HttpServer<Deno.NetAddr> {
    if (this.#listener) return this.#listener;
    if (!this.#tls) throw new Error("no federation tls_cert, or its files are not loaded");
    const address = federationListenAddress(this.config);
    this.#listener = serveTls({
      hostname: options.hostname ?? address.hostname,
      port: options.port ?? address.port,
      cert: this.#tls.cert,
      key: this.#tls.key,
      onListen: options.onListen ?? (() => {}),
    }, handler);
    return this.#listener;
  }

  /** Closes idle outbound connections (the listener is stopped with the server's others). */
  close(): void {
    this.transport.close();
  }
}
