/**
 * The {@link Homeserver}: one server instance as an object (config, storage, rate limits, HTTP
 * app), so that tests can run several in one process.
 *
 * @module
 */

import type { Hono } from "hono";
import type { ScryptCost } from "../crypto/password.ts";
import { type Config, kvPath, listenAddress } from "./config.ts";
import { createApp, type RouteModule } from "./app.ts";
import { type HttpsFront, type HttpsFrontOptions, startHttpsFront } from "./tls/https_front.ts";
import { serveTls } from "./tls/tls_server.ts";
import { watchTokenRevocations } from "./store/token_cache.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { AppEnv } from "./request_context.ts";
import { SigningKey } from "../crypto/signing.ts";
import { loadOrCreateSigningKey, signingKeyPath } from "./signing_key.ts";
import { StreamSequencer } from "./stream.ts";
import { Notifier } from "./notifier.ts";
import { RoomStore } from "./rooms/room_store.ts";
import { EventPipeline } from "./rooms/event_pipeline.ts";
import { queuePdu } from "./federation/outbox.ts";
import { Edus } from "./federation/edu_queue.ts";
import { DeviceListOutbox } from "./federation/device_list_outbox.ts";
import { loadRegistrationParser } from "./appservice/registration.ts";
import { FederationSender } from "./federation/sender.ts";
import { PolicyServers } from "./federation/policy_server.ts";
import { federationClientTransport, pduLoader } from "./federation/transaction_transport.ts";
import { rebuildMembershipIndex } from "./rooms/membership_index.ts";
import { backfillIndexes } from "./search/backfill.ts";
import { migrateDataFormat } from "./store/data_format.ts";
import { Logger } from "./ops/log.ts";
import { startRetentionJob } from "./retention/room_retention.ts";
import { Metrics, timeKvCommits } from "./ops/metrics.ts";
import { addServerGauges, type BackupStats } from "./ops/gauges.ts";
import { serveMetrics } from "./ops/routes.ts";
import {
  FederationContext,
  type FederationListenOptions,
  isServerServerPath,
  notOnPlainHttp,
} from "./federation/context.ts";

/** Listeners told about account changes after they are committed. */
export interface AccountHooks {
  /** A user account was created. */
  userRegistered?(userId: string): void | Promise<void>;
  /** A user logged in on a device (a new one, or an existing one given new tokens). */
  deviceCreated?(userId: string, deviceId: string): void | Promise<void>;
  /** Devices were deleted (logout, deletion, password change, deactivation). */
  devicesDeleted?(userId: string, deviceIds: readonly string[]): void | Promise<void>;
  /** A user account was deactivated. */
  userDeactivated?(userId: string): void | Promise<void>;
}

/** Options for {@link Homeserver.open}. */
export interface OpenOptions {
  /** Use this KV instead of opening `${data_dir}/gemeng.kv`; the caller keeps ownership. */
  kv?: Deno.Kv;
  /** scrypt cost for new password hashes (tests lower it for speed). */
  passwordCost?: ScryptCost;
  /** Extra route modules mounted after the built-in ones. */
  modules?: readonly RouteModule[];
  /**
   * The server's signing key. Default: `${data_dir}/signing.key` (created on first start),
   * or a fresh key per instance when `kv` is given (in-memory test servers).
   */
  signingKey?: SigningKey;
  /** A and AAAA lookups of other servers' names (default `Deno.resolveDns`; tests). */
  resolveDns?: (name: string, type: "A" | "AAAA") => Promise<string[]>;
  /**
   * Where logs go. Default: `[log]` to standard error, without request lines (`main.ts serve`
   * passes a logger that writes them).
   */
  logger?: Logger;
}

/** Options for {@link Homeserver.serve}. */
export interface ServeOptions {
  /** Override `http.listen`'s host. */
  hostname?: string;
  /** Override `http.listen`'s port (0 picks a free port). */
  port?: number;
  /** Called once the listener is bound. */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Overrides for the TLS federation listener (started when `federation.tls_cert` is set). */
  federation?: FederationListenOptions;
  /** Overrides for the metrics listener (started when `[metrics] listen` is set). */
  metrics?: { hostname?: string; port?: number; onListen?: (addr: Deno.NetAddr) => void };
}

/** One homeserver instance. */
export class Homeserver {
  /** The validated configuration. */
  readonly config: Config;
  /** All persistent state. */
  readonly kv: Deno.Kv;
  /** Token buckets (login, register, send). */
  readonly rateLimiter: RateLimiter;
  /** scrypt cost for new password hashes; undefined means crypto/password.ts's default. */
  readonly passwordCost: ScryptCost | undefined;
  /** The Hono application. */
  readonly app: Hono<AppEnv>;
  /** The server's Ed25519 key: signs events (and, later, federation requests). */
  readonly signingKey: SigningKey;
  /** The global stream positions sync reports (server/stream.ts). */
  readonly stream: StreamSequencer;
  /** Wakes long-polling syncs (server/notifier.ts). */
  readonly notifier: Notifier;
  /** Reads of rooms and events (server/rooms/room_store.ts). */
  readonly rooms: RoomStore;
  /** The one path every room event takes (server/rooms/event_pipeline.ts). */
  readonly pipeline: EventPipeline;
  /** Server-Server API: outbound client, discovery, key ring (server/federation/context.ts). */
  readonly federation: FederationContext;
  /** Delivers queued PDUs and EDUs to other servers (server/federation/sender.ts). */
  readonly sender: FederationSender;
  /** Structured logs (server/ops/log.ts). */
  readonly log: Logger;
  /** Prometheus metrics when `[metrics] enabled`, else null (server/ops/metrics.ts). */
  readonly metrics: Metrics | null;
  /** The data format of the database (server/store/data_format.ts). */
  dataFormat = 0;
  /** Scheduled backups' outcome (server/ops/backup_schedule.ts). */
  readonly backupStats: BackupStats = { lastSuccessTs: 0, failures: 0, lastBytes: 0 };
  /** Start-up is done (`/health/ready`). */
  ready = false;
  /** `close()` has begun. */
  closing = false;
  /** EDUs: the outbound queue and the inbound handlers (server/federation/edu_queue.ts). */
  readonly edus: Edus;
  /** With `http.tls` on, once {@link startTls} ran: the certificates and the plain listener. */
  https: HttpsFront | null = null;
  readonly #ownsKv: boolean;
  readonly #servers = new Set<Deno.HttpServer<Deno.NetAddr>>();
  readonly #hooks: AccountHooks[] = [];
  readonly #closeHooks: (() => Promise<void>)[] = [];
  #closed = false;

  private constructor(
    config: Config,
    kv: Deno.Kv,
    ownsKv: boolean,
    options: OpenOptions & { signingKey: SigningKey },
  ) {
    this.config = config;
    this.kv = kv;
    this.#ownsKv = ownsKv;
    this.signingKey = options.signingKey;
    this.log = options.logger ?? new Logger(config.log, { requests: false });
    this.metrics = config.metrics.enabled ? new Metrics() : null;
    if (this.metrics) timeKvCommits(kv, this.metrics);
    this.stream = new StreamSequencer();
    this.notifier = new Notifier(this.stream);
    this.rooms = new RoomStore(kv);
    this.rooms.retention = config.retention;
    this.pipeline = new EventPipeline({
      kv,
      rooms: this.rooms,
      stream: this.stream,
      notifier: this.notifier,
      serverName: config.serverName,
      signingKey: options.signingKey,
      // A local event in a room with other servers is queued for them in its own commit.
      outbox: config.federation.enabled ? queuePdu : undefined,
    });
    this.federation = new FederationContext({
      config,
      kv,
      signingKey: options.signingKey,
      resolveDns: options.resolveDns,
    });
    // Rooms with an m.room.policy event: local events signed by their Policy Server first.
    this.pipeline.usePolicyServer(
      new PolicyServers({ rooms: this.rooms, client: this.federation.client }),
    );
    this.edus = new Edus(kv, { serverName: config.serverName });
    this.sender = new FederationSender(kv, {
      edus: this.edus,
      origin: config.serverName,
      transport: federationClientTransport(this.federation.client),
      loadPdu: pduLoader(this.rooms),
    });
    this.pipeline.subscribe(({ destinations }) => {
      if (destinations.length > 0) this.sender.wake(destinations);
    });
    this.passwordCost = options.passwordCost;
    this.rateLimiter = new RateLimiter({ ...config.rateLimits });
    this.app = createApp(this, { modules: options.modules });
  }

  /**
   * Opens a server: creates `data_dir` and opens its KV file unless `options.kv` is given.
   */
  static async open(config: Config, options: OpenOptions = {}): Promise<Homeserver> {
    // Read when the route modules are made (in the constructor), with a parser loaded only here.
    if (config.appservices.registrationFiles.length > 0) await loadRegistrationParser();
    let hs: Homeserver;
    // Before anything reads it, the database is brought to the current data format.
    const log = options.logger ?? new Logger(config.log, { requests: false });
    const migrate = (kv: Deno.Kv) =>
      migrateDataFormat(kv, {
        serverName: config.serverName,
        onStep: (step, from) => log.info(`data format ${from} -> ${step.to}: ${step.description}`),
      });
    if (options.kv) {
      const format = await migrate(options.kv);
      const signingKey = options.signingKey ?? await SigningKey.generate();
      hs = new Homeserver(config, options.kv, false, { ...options, logger: log, signingKey });
      hs.dataFormat = format.to;
    } else {
      await Deno.mkdir(config.dataDir, { recursive: true });
      const kv = await Deno.openKv(kvPath(config));
      let format;
      try {
        format = await migrate(kv);
      } catch (err) {
        kv.close();
        throw err;
      }
      const signingKey = options.signingKey ??
        await loadOrCreateSigningKey(signingKeyPath(config));
      hs = new Homeserver(config, kv, true, { ...options, logger: log, signingKey });
      hs.dataFormat = format.to;
    }
    await hs.federation.loadFiles();
    hs.addCloseHook(() => Promise.resolve(hs.federation.close()));
    if (config.federation.enabled) {
      hs.edus.onQueued((destinations) => hs.sender.wake(destinations));
      hs.sender.start();
      hs.sender.wake(await hs.edus.pendingDestinations());
      hs.addCloseHook(() => hs.sender.close());
    }
    await hs.stream.load(hs.kv);
    if (config.federation.enabled) {
      const outbox = new DeviceListOutbox(hs);
      await outbox.start();
      hs.addCloseHook(() => outbox.close());
    }
    await hs.rooms.states.load();
    await rebuildMembershipIndex(hs.kv, hs.notifier, config.serverName);
    await backfillIndexes(hs.kv, hs.rooms);
    // Token revocations by other processes (the CLI) reach this server's token cache.
    const revocations = watchTokenRevocations(hs.kv);
    hs.addCloseHook(() => revocations.stop());
    // Last, so it runs after other close hooks that may still send events.
    hs.addCloseHook(() => hs.pipeline.close());
    if (hs.metrics) addServerGauges(hs, hs.metrics);
    startRetentionJob(hs);
    hs.ready = true;
    return hs;
  }

  /** Requests handed to the app so far (activity, for the idle memory trim). */
  requestsServed = 0;

  /** The HTTP handler (usable with `Deno.serve` or called directly in tests). */
  fetch = (request: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response> => {
    this.requestsServed++;
    return this.app.fetch(request, { remoteAddr: info?.remoteAddr });
  };

  /**
   * With `http.tls` on: starts the plain `http_listen` listener (ACME challenges, redirects)
   * and gets the first certificate (docs/appliance.md). Call before {@link serve}.
   */
  async startTls(options: HttpsFrontOptions = {}): Promise<void> {
    if (this.config.http.tls === "off" || this.https) return;
    if (this.#closed) throw new Error("server is closed");
    const front = await startHttpsFront(this.config, options);
    this.https = front;
    if (front.plain) this.#track(front.plain);
    this.addCloseHook(() => front.certificates.close());
  }

  /**
   * Starts the listener on `http.listen` (or the overrides): plain HTTP, which refuses the
   * Server-Server API, or with `http.tls` on, HTTPS serving everything (one port; its
   * certificate is replaced as the source renews it). Also the separate TLS federation
   * listener when `federation.tls_cert` is set; `close()` stops them.
   */
  serve(options: ServeOptions = {}): Deno.HttpServer<Deno.NetAddr> {
    if (this.#closed) throw new Error("server is closed");
    const address = listenAddress(this.config);
    const bind = {
      hostname: options.hostname ?? address.hostname,
      port: options.port ?? address.port,
      onListen: options.onListen ?? (() => {}),
    };
    let server: Deno.HttpServer<Deno.NetAddr>;
    if (this.config.http.tls !== "off") {
      const pair = this.https?.certificates.current();
      if (!this.https || !pair) throw new Error("http.tls is on: call startTls() before serve()");
      const tls = serveTls({ ...bind, ...pair }, this.fetch);
      this.https.certificates.onChange((next) => tls.setCertificate(next));
      server = tls;
    } else {
      server = Deno.serve(
        bind,
        (request, info) =>
          isServerServerPath(new URL(request.url).pathname)
            ? notOnPlainHttp()
            : this.fetch(request, info),
      );
    }
    this.#track(server);
    const metricsServer = serveMetrics(this, options.metrics);
    if (metricsServer) this.#track(metricsServer);
    const fed = this.config.federation;
    if (fed.enabled && fed.tlsCert !== "" && !this.federation.listener) {
      // A caller that hears about the plain listener (the CLI) hears about this one too.
      const announce = options.onListen &&
        ((addr: Deno.NetAddr) =>
          console.error(`gemeng federation listening on https://${addr.hostname}:${addr.port}/`));
      this.#track(this.federation.listen(this.fetch, {
        ...options.federation,
        onListen: options.federation?.onListen ?? announce,
      }));
    }
    return server;
  }

  #track(server: Deno.HttpServer<Deno.NetAddr>): void {
    this.#servers.add(server);
    server.finished.finally(() => this.#servers.delete(server));
  }

  /** Registers listeners for account changes. */
  addAccountHooks(hooks: AccountHooks): void {
    this.#hooks.push(hooks);
  }

  /** Tells the hooks about a committed change; a failing hook is logged, not propagated. */
  async notify<K extends keyof AccountHooks>(
    event: K,
    ...args: Parameters<NonNullable<AccountHooks[K]>>
  ): Promise<void> {
    for (const hooks of this.#hooks) {
      const fn = hooks[event] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (!fn) continue;
      try {
        await fn.apply(hooks, args);
      } catch (err) {
        console.error(`account hook ${event} failed:`, err);
      }
    }
  }

  /** Registers work to finish (background tasks to drain) before `close()` closes the KV. */
  addCloseHook(hook: () => Promise<void>): void {
    this.#closeHooks.push(hook);
  }

  /** Stops listeners (finishing in-flight requests) and closes the KV it opened. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.closing = true;
    this.ready = false;
    this.notifier.closeAll();
    await Promise.all([...this.#servers].map((server) => server.shutdown()));
    for (const hook of this.#closeHooks) {
      await hook().catch((err) => console.error("close hook failed:", err));
    }
    if (this.#ownsKv) this.kv.close();
  }
}
