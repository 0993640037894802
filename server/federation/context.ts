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

/** The connection-level HTTP server of `Deno.serveHttp` (left out of Deno 2's types). */
interface HttpConn extends
  AsyncIterable<{
    request: Request;
    respondWith(response: Response): Promise<void>;
  }> {
  close(): void;
}

/**
 * An HTTPS server on `Deno.listenTls` + `Deno.serveHttp`. `Deno.serve` with `cert`/`key`
 * answers every response of more than a few hundred bytes about 40 ms late (its TLS writes
 * split a response and meet the peer's delayed ACK), which capped a peer's transactions at
 * about 20 a second; this path writes them whole.
 */
function serveTls(
  options: {
    hostname: string;
    port: number;
    cert: string;
    key: string;
    onListen: (addr: Deno.NetAddr) => void;
  },
  handler: (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  const serveHttp = (Deno as unknown as { serveHttp?: (conn: Deno.Conn) => HttpConn })
    .serveHttp;
  if (typeof serveHttp !== "function") {
    // A Deno without it: the standard server, correct but slower (see above).
    return Deno.serve(options, handler);
  }
  const listener = Deno.listenTls({
    hostname: options.hostname,
    port: options.port,
    cert: options.cert,
    key: options.key,
    alpnProtocols: ["http/1.1"],
  });
  const addr = listener.addr as Deno.NetAddr;
  options.onListen(addr);
  const conns = new Set<HttpConn>();
  const pending = new Set<Promise<unknown>>();
  let closing = false;
  const serveConn = async (conn: Deno.Conn) => {
    let http: HttpConn;
    try {
      http = serveHttp(conn);
    } catch {
      conn.close();
      return;
    }
    conns.add(http);
    const info = {
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      completed: Promise.resolve(),
    } as Deno.ServeHandlerInfo<Deno.NetAddr>;
    try {
      for await (const event of http) {
        const answering = (async () => {
          let response: Response;
          try {
            response = await handler(event.request, info);
          } catch {
            response = new Response(null, { status: 500 });
          }
          await event.respondWith(response).catch(() => {});
        })();
        pending.add(answering);
        answering.finally(() => pending.delete(answering));
        if (closing) break;
      }
    } catch {
      // A connection that broke mid-request: nothing to answer.
    } finally {
      conns.delete(http);
      try {
        http.close();
      } catch { /* closed already */ }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) serveConn(conn);
    } catch {
      // The listener was closed.
    }
  })();
  let finishResolve: () => void;
  const finished = new Promise<void>((resolve) => finishResolve = resolve);
  const shutdown = async () => {
    if (closing) return await finished;
    closing = true;
    try {
      listener.close();
    } catch { /* closed already */ }
    await accepting;
    await Promise.allSettled([...pending]);
    for (const http of conns) {
      try {
        http.close();
      } catch { /* closed already */ }
    }
    finishResolve();
  };
  return {
    addr,
    finished,
    shutdown,
    ref: () => listener.ref(),
    unref: () => listener.unref(),
    [Symbol.asyncDispose]: shutdown,
  } as Deno.HttpServer<Deno.NetAddr>;
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
  readonly #caCerts: string[] = [];
  #tls: { cert: string; key: string } | null = null;
  #listener: Deno.HttpServer<Deno.NetAddr> | null = null;

  constructor(options: { config: Config; kv: Deno.Kv; signingKey: SigningKey }) {
    const { config } = options;
    const federation = config.federation;
    this.config = config;
    this.transport = new HttpsTransport();
    this.discovery = new ServerDiscovery({
      transport: this.transport,
      caCerts: this.#caCerts,
      allowPrivate: federation.allowPrivateAddresses,
    });
    this.client = new FederationClient({
      serverName: config.serverName,
      signingKey: options.signingKey,
      discovery: this.discovery,
      transport: this.transport,
      caCerts: this.#caCerts,
      allowPrivateAddresses: federation.allowPrivateAddresses,
      allow: federation.allow,
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
   * Reads the files the config names: `trusted_ca`, and the certificate and key when
   * federation is enabled; and the retired signing keys in `data_dir`, if any.
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
    if (federation.enabled) {
      this.#tls = {
        cert: await readFile("federation.tls_cert", federation.tlsCert),
        key: await readFile("federation.tls_key", federation.tlsKey),
      };
    }
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
    if (!this.#tls) throw new Error("federation is not enabled or its files are not loaded");
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
