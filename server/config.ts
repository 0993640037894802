/**
 * The operator's configuration: a TOML file (or the embedded defaults) validated into a typed
 * {@link Config}. Unknown keys and bad values stop start-up with a {@link ConfigError} naming the
 * key, so a typo never silently falls back to a default.
 *
 * TOML keys are a public contract (snake_case); the TypeScript fields are their camelCase twins.
 *
 * @module
 */

import { parse as parseToml } from "smol-toml";
import { AUTH_DEFAULT_TOML, type AuthConfig, readAuthConfig } from "./auth/auth_config.ts";
import { type IpRange, parseCidr } from "./media/ip_ranges.ts";
import { parseClamdAddress } from "./media/clamd.ts";
import type { ScannerConfig } from "./media/media_scan.ts";
import { decodePublicKey } from "../crypto/signing.ts";
import { isValidServerName } from "../federation/identifiers.ts";
import {
  type BackupConfig,
  type LogConfig,
  type MetricsConfig,
  OPS_DEFAULT_TOML,
} from "./ops/ops_settings.ts";
import { readOpsConfig } from "./ops/ops_config.ts";
import {
  readRetentionConfig,
  RETENTION_DEFAULT_TOML,
  type RetentionConfig,
} from "./retention/retention_config.ts";
import { EMAIL_DEFAULT_TOML, type EmailConfig, readEmailConfig } from "./email/email_config.ts";

/** A token bucket: `burst` requests at once, refilled at `perSecond` per second. */
export interface RateLimitConfig {
  /** Sustained requests per second. */
  readonly perSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  readonly burst: number;
}

/** `[media]`: the content repository (uploads, downloads, thumbnails, URL previews). */
export interface MediaConfig {
  /** `max_upload_size`: largest upload in bytes (413 M_TOO_LARGE beyond). */
  readonly maxUploadSize: number;
  /** `legacy_unauthenticated`: serve the frozen `/_matrix/media/v3/download|thumbnail`. */
  readonly legacyUnauthenticated: boolean;
  /** `user_quota_bytes`: total bytes one user may have uploaded; 0 means no quota. */
  readonly userQuotaBytes: number;
  /** `max_pending_uploads`: created but not yet uploaded media IDs per user. */
  readonly maxPendingUploads: number;
  /** `unused_expires_ms`: how long a media ID from `/create` waits for its upload. */
  readonly unusedExpiresMs: number;
  /** `max_image_pixels`: images with more pixels (read from the header) are not decoded. */
  readonly maxImagePixels: number;
  /** `max_thumbnail_source_size`: larger files are not thumbnailed (413 M_TOO_LARGE). */
  readonly maxThumbnailSourceSize: number;
  /** `[media.url_preview]`. */
  readonly urlPreview: {
    /** `enabled`: answer `/preview_url` (off by default). */
    readonly enabled: boolean;
    /** `allowed_ranges`: CIDR ranges fetched even though they are private or loopback. */
    readonly allowedRanges: readonly IpRange[];
    /** `max_page_size`: bytes of a page (or image) read at most. */
    readonly maxPageSize: number;
    /** `timeout_ms`: time for a whole fetch, redirects included. */
    readonly timeoutMs: number;
  };
  /** `[media.scanner]`: malware scanning through ClamAV's daemon. */
  readonly scanner: ScannerConfig;
}

/**
 * `[turn]`: the TURN servers `GET /voip/turnServer` hands to clients for calls. Credentials
 * are either minted per user from `shared_secret` (the TURN REST API that coturn's
 * `use-auth-secret` implements) or the static `username` and `password`.
 */
export interface TurnConfig {
  /** `uris`: `turn:` / `turns:` URIs; empty means no TURN (the endpoint answers `{}`). */
  readonly uris: readonly string[];
  /** `shared_secret`: coturn's `static-auth-secret`; empty when static credentials are used. */
  readonly sharedSecret: string;
  /** `username` and `password`: static credentials, instead of `shared_secret`. */
  readonly username: string;
  readonly password: string;
  /** `ttl`: seconds the credentials (and the client's cache of them) are valid. */
  readonly ttl: number;
}

/**
 * `[web]`: settings the web app reads at start from `/config.json`: the tile source of its
 * maps (256-pixel Web Mercator tiles, `{z}/{x}/{y}`).
 */
export interface WebConfig {
  /** `map_tile_url`: tile URL template with `{z}`, `{x}` and `{y}`. */
  readonly mapTileUrl: string;
  /** `map_attribution`: credit shown under every map. */
  readonly mapAttribution: string;
  /** `map_max_zoom`: the deepest zoom level the tile source has. */
  readonly mapMaxZoom: number;
  /**
   * `map_link_url`: the web map "Open in map" leads to, an https URL template with `{lat}` and
   * `{lon}` (degrees) or `{x}` and `{y}` (EPSG:3857 metres), and optionally `{zoom}`; empty
   * (the default): Geoportail.lu for places in Luxembourg, OpenStreetMap elsewhere.
   */
  readonly mapLinkUrl: string;
}

/** A key `pinned_keys` names for a server: only such keys are accepted from it. */
export interface PinnedKey {
  /** The key ID, e.g. `ed25519:a_Abc`. */
  readonly keyId: string;
  /** The unpadded Base64 Ed25519 public key. */
  readonly key: string;
}

/** `[federation]`: the Server-Server API (an HTTPS listener, outbound requests, trust). */
export interface FederationConfig {
  /** `enabled`: default true when `tls_cert` and `tls_key` are set or `http.tls` is on. */
  readonly enabled: boolean;
  /** `listen`: `host:port` of the HTTPS listener for federation. */
  readonly listen: string;
  /** `tls_cert`: PEM certificate chain of the federation listener ("" when unset). */
  readonly tlsCert: string;
  /** `tls_key`: PEM private key of the federation listener ("" when unset). */
  readonly tlsKey: string;
  /** `trusted_ca`: PEM files of extra CAs trusted for outbound federation. */
  readonly trustedCa: readonly string[];
  /** `allow_private_addresses`: connect to loopback and private addresses (tests only). */
  readonly allowPrivateAddresses: boolean;
  /** `allow`: the only servers to federate with; empty means every server. */
  readonly allow: readonly string[];
  /** `pinned_keys`: server name -> the only keys accepted from it (never fetched). */
  readonly pinnedKeys: Readonly<Record<string, readonly PinnedKey[]>>;
}

/** `http.tls`: how the main listener does TLS. */
export type HttpTlsMode = "off" | "files" | "acme";

/** Let's Encrypt's production ACME directory, the default `acme_directory`. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/** The validated server configuration. */
export interface Config {
  /** `server_name`: the domain part of user IDs, e.g. `localhost` or `example.org:8448`. */
  readonly serverName: string;
  /** `data_dir`: where the KV database (`gemeng.kv`) and other data live. */
  readonly dataDir: string;
  /** `[http]`. */
  readonly http: {
    /** `listen`: `host:port` for the client API, web app and plain-HTTP federation. */
    readonly listen: string;
    /** `public_base_url`: how clients reach us; advertised in `.well-known` and login. */
    readonly publicBaseUrl: string;
    /** `tls`: `off` (plain HTTP), `files` (`tls_cert`/`tls_key`) or `acme` (certificates from a CA). */
    readonly tls: HttpTlsMode;
    /** `tls_cert`: PEM certificate chain with `tls = "files"` ("" otherwise). */
    readonly tlsCert: string;
    /** `tls_key`: PEM private key with `tls = "files"` ("" otherwise). */
    readonly tlsKey: string;
    /** `acme_directory`: the ACME directory URL (default Let's Encrypt). */
    readonly acmeDirectory: string;
    /** `acme_email`: contact address of the ACME account ("" for none). */
    readonly acmeEmail: string;
    /** `acme_ca`: PEM file of an extra CA trusted for the ACME directory ("" for none). */
    readonly acmeCa: string;
    /** `acme_domains`: names the certificate covers (default: the host of `public_base_url`). */
    readonly acmeDomains: readonly string[];
    /** `http_listen`: plain-HTTP `host:port` for HTTP-01 challenges and redirects ("" for none). */
    readonly httpListen: string;
  };
  /** `[registration]`. */
  readonly registration: {
    /** `enabled`: open sign-up through `/register`. */
    readonly enabled: boolean;
    /** `require_token`: when enabled, require `m.login.registration_token`. */
    readonly requireToken: boolean;
    /** `shared_secret`: Synapse-compatible shared-secret registration when non-empty. */
    readonly sharedSecret: string;
    /** `allow_guests`: guest accounts (`POST /register?kind=guest`), off by default. */
    readonly allowGuests: boolean;
  };
  /** `[limits]`. */
  readonly limits: {
    /** `max_request_body`: largest JSON request body in bytes. */
    readonly maxRequestBody: number;
    /** `access_token_lifetime_ms`: lifetime of access tokens issued with a refresh token. */
    readonly accessTokenLifetimeMs: number;
    /** `uia_session_lifetime_ms`: how long a user-interactive auth session lives. */
    readonly uiaSessionLifetimeMs: number;
    /** `max_devices_per_user`: logins beyond this are refused with M_LIMIT_EXCEEDED. */
    readonly maxDevicesPerUser: number;
  };
  /** `[rate_limits.*]`: token buckets per client address (and user where known). */
  readonly rateLimits: {
    readonly login: RateLimitConfig;
    readonly register: RateLimitConfig;
    readonly send: RateLimitConfig;
    /** `[rate_limits.media_upload]`: uploads and `/create`, per user. */
    readonly mediaUpload: RateLimitConfig;
    /** `[rate_limits.login_token]`: tokens of `POST /v1/login/get_token`, per user. */
    readonly loginToken: RateLimitConfig;
  };
  /** `[media]`. */
  readonly media: MediaConfig;
  /** `[e2ee]`. */
  readonly e2ee: {
    /**
     * `default_for`: which new rooms get `m.room.encryption` in their initial state: `all`,
     * `invite` (private_chat and trusted_private_chat presets, and direct chats) or `off`.
     */
    readonly defaultFor: "all" | "invite" | "off";
  };
  /** `[turn]`. */
  readonly turn: TurnConfig;
  /** `[push]`: delivery to push gateways (HTTP pushers). */
  readonly push: {
    /** `enabled`: deliver notifications (false keeps pushers but sends nothing). */
    readonly enabled: boolean;
    /** `allow_private_addresses`: deliver to gateways on loopback/private addresses. */
    readonly allowPrivateAddresses: boolean;
  };
  /** `[web]`. */
  readonly web: WebConfig;
  /** `[rooms]`: defaults of new rooms. */
  readonly rooms: {
    /** `internal_by_default`: new rooms get `lu.gemeng.internal` (server/rooms/internal_rooms.ts). */
    readonly internalByDefault: boolean;
  };
  /** `[user_directory]`: who `POST /user_directory/search` finds. */
  readonly userDirectory: {
    /**
     * `search_all_users`: every local account (not guests, not deactivated) is found by display
     * name and user ID; false finds only users who share a room or are in a public room.
     */
    readonly searchAllUsers: boolean;
  };
  /** `[federation]`. */
  readonly federation: FederationConfig;
  /** `[appservices]`. */
  readonly appservices: {
    /** `registration_files`: YAML registration files of application services (bridges). */
    readonly registrationFiles: readonly string[];
  };
  /** `[server_notices]`: the system account and room of admin notices (server/admin). */
  readonly serverNotices: {
    /** `system_localpart`: the account that sends notices, e.g. `server` for `@server:...`. */
    readonly systemLocalpart: string;
    /** `system_display_name`: its display name. */
    readonly systemDisplayName: string;
    /** `room_name`: the name of each user's notices room. */
    readonly roomName: string;
  };
  /** `[retention]`: message retention (server/retention/retention_config.ts). */
  readonly retention: RetentionConfig;
  /** `[backup]`: scheduled backups (server/ops/ops_config.ts). */
  readonly backup: BackupConfig;
  /** `[metrics]`: Prometheus metrics. */
  readonly metrics: MetricsConfig;
  /** `[log]`: log format and level. */
  readonly log: LogConfig;
  /** `[auth]`: LDAP, OpenID Connect and JWT sign-in (server/auth/auth_config.ts). */
  readonly auth: AuthConfig;
  /** `[email]`: outgoing mail (server/email/email_config.ts). */
  readonly email: EmailConfig;
}

/** A configuration problem; `key` names the offending TOML key (dotted path). */
export class ConfigError extends Error {
  /** Always `CONFIG_INVALID`. */
  readonly code = "CONFIG_INVALID";
  /** The dotted TOML key, e.g. `http.listen`, or `(file)` for unreadable/unparsable files. */
  readonly key: string;

  /**
   * @param key the dotted TOML key at fault
   * @param message what is wrong and what is expected
   */
  constructor(key: string, message: string) {
    super(`config: ${key}: ${message}`);
    this.name = "ConfigError";
    this.key = key;
  }
}

/** The embedded defaults, as TOML text (also the documentation of every key). */
export const DEFAULT_CONFIG_TOML = `server_name = "localhost"
data_dir = "./data"

[http]
listen = "127.0.0.1:8008"           # default "0.0.0.0:443" when tls is on
public_base_url = "http://localhost:8008"
# HTTPS on the main listener (docs/appliance.md): the client API, the web app and federation on
# one port. "off": plain HTTP (behind a reverse proxy); "files": tls_cert and tls_key, reloaded
# when they change on disk; "acme": certificates from an ACME CA (Let's Encrypt by default),
# renewed at two thirds of their lifetime and taken into use without a restart.
tls = "off"
tls_cert = ""                       # with tls = "files": PEM certificate chain (fullchain.pem)
tls_key = ""                        # with tls = "files": PEM private key
acme_directory = "https://acme-v02.api.letsencrypt.org/directory"
acme_email = ""                     # contact for the CA's expiry and policy mails
#                                   # (tls = "acme" accepts the CA's terms of service)
acme_ca = ""                        # extra CA file trusted for acme_directory (private CAs, tests)
acme_domains = []                   # names on the certificate; default: the host of public_base_url
# http_listen = "0.0.0.0:80"        # plain HTTP: ACME HTTP-01 challenges, everything else is
#                                   # redirected to public_base_url; default "0.0.0.0:80" with
#                                   # tls = "acme", else none ("" turns it off)

[registration]
enabled = false
require_token = true
shared_secret = ""
allow_guests = false                # guest accounts (register?kind=guest)

[limits]
max_request_body = 1048576          # bytes of a JSON request body
access_token_lifetime_ms = 300000   # only for clients that asked for a refresh token
uia_session_lifetime_ms = 900000
max_devices_per_user = 250

[rate_limits.login]
per_second = 0.5
burst = 10

[rate_limits.register]
per_second = 0.2
burst = 5

[rate_limits.send]
per_second = 10
burst = 50

[rate_limits.media_upload]
per_second = 2
burst = 50

[rate_limits.login_token]           # POST /v1/login/get_token, per user (after its UIA)
per_second = 0.0166667              # one token a minute, as the spec suggests
burst = 1

[media]
max_upload_size = 104857600         # bytes of one upload (100 MB)
legacy_unauthenticated = false      # serve the deprecated unauthenticated downloads
user_quota_bytes = 0                # bytes one user may upload in total; 0 = no quota
max_pending_uploads = 10            # media IDs from /create awaiting their upload, per user
unused_expires_ms = 86400000        # how long such an ID waits
max_image_pixels = 33554432         # larger images are not decoded for thumbnails
max_thumbnail_source_size = 33554432

[media.scanner]
enabled = false                     # scan uploads and remote media with ClamAV's daemon
clamd = "/run/clamav/clamd.ctl"     # clamd's LocalSocket path, or "host:port" for its TCPSocket
fail_mode = "closed"                # clamd down or no verdict: "closed" refuses files, "open" accepts
timeout_ms = 30000
max_scan_size = 26214400            # bytes; keep <= clamd's StreamMaxLength (25M by default)

[media.url_preview]
enabled = false
allowed_ranges = []                 # e.g. ["192.168.1.0/24"]: private ranges that may be fetched
max_page_size = 2097152
timeout_ms = 10000

[e2ee]
default_for = "invite"              # encrypt new rooms: "all", "invite" (private and DMs), "off"

[push]
enabled = true                      # deliver to push gateways (false: a staging copy stays silent)
allow_private_addresses = false     # push gateways on loopback/private addresses (tests only)

[turn]
uris = []                           # e.g. ["turn:turn.example.org:3478?transport=udp"]; none = no TURN
shared_secret = ""                  # coturn's static-auth-secret: per-user credentials (TURN REST API)
username = ""                       # or static credentials instead of shared_secret
password = ""
ttl = 86400                         # seconds the credentials are valid

[web]
# Map tiles for shared locations: Geoportail.lu's open-data base map (Web Mercator, {z}/{x}/{y}).
map_tile_url = "https://wmts1.geoportail.lu/opendata/wmts/basemap/GLOBAL_WEBMERCATOR/{z}/{x}/{y}.png"
map_attribution = "© geoportail.lu (ACT), © OpenStreetMap contributors"
map_max_zoom = 19
# map_link_url = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={zoom}/{lat}/{lon}"
#                                   # "Open in map" for every place; default: Geoportail.lu in
#                                   # Luxembourg ({x}/{y}: EPSG:3857 metres), OpenStreetMap elsewhere

[rooms]
internal_by_default = false         # new rooms start internal: users of other servers cannot join

[user_directory]
search_all_users = true             # find every local user (a staff directory); false: shared rooms only

[federation]
# enabled = true                    # default: true when tls_cert and tls_key are set, or when
#                                   # [http] tls is on (federation is then served on http.listen)
listen = "0.0.0.0:8448"             # a separate HTTPS listener for the Server-Server API, started
                                    # when tls_cert and tls_key are set
tls_cert = ""                       # PEM certificate chain (e.g. fullchain.pem)
tls_key = ""                        # PEM private key
trusted_ca = []                     # extra CA files trusted for outbound federation
allow_private_addresses = false     # connect to loopback/private addresses (tests only)
allow = []                          # empty: federate with every server; else only these
pinned_keys = {}                    # server -> ["ed25519:id base64key", ...]: only these keys

[appservices]
registration_files = []             # application service (bridge) registration YAML files

[server_notices]
system_localpart = "server"         # @server:<server_name> sends admin notices (made on first use)
system_display_name = "Server notices"
room_name = "Server notices"
${OPS_DEFAULT_TOML}${AUTH_DEFAULT_TOML}${RETENTION_DEFAULT_TOML}${EMAIL_DEFAULT_TOML}`;

type Table = Record<string, unknown>;

/** Reads keys out of one TOML table, remembering which ones were consumed. */
export class TableReader {
  readonly #table: Table;
  readonly #prefix: string;
  readonly #seen = new Set<string>();

  constructor(table: Table, prefix: string) {
    this.#table = table;
    this.#prefix = prefix;
  }

  key(name: string): string {
    return this.#prefix ? `${this.#prefix}.${name}` : name;
  }

  #get(name: string): unknown {
    this.#seen.add(name);
    return this.#table[name];
  }

  string(name: string, fallback: string): string {
    const value = this.#get(name);
    if (value === undefined) return fallback;
    if (typeof value !== "string") throw new ConfigError(this.key(name), "expected a string");
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.#get(name);
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") {
      throw new ConfigError(this.key(name), "expected true or false");
    }
    return value;
  }

  number(name: string, fallback: number, range: { min: number; max: number; int?: boolean }) {
    let value = this.#get(name);
    if (value === undefined) return fallback;
    if (typeof value === "bigint") value = Number(value);
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ConfigError(this.key(name), "expected a number");
    }
    if (range.int && !Number.isInteger(value)) {
      throw new ConfigError(this.key(name), "expected an integer");
    }
    if (value < range.min || value > range.max) {
      throw new ConfigError(this.key(name), `expected a value from ${range.min} to ${range.max}`);
    }
    return value;
  }

  stringList(name: string, fallback: readonly string[]): string[] {
    const value = this.#get(name);
    if (value === undefined) return [...fallback];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      throw new ConfigError(this.key(name), "expected a list of strings");
    }
    return value;
  }

  /** An array of tables (`[[name]]`), each with its own reader; none when absent. */
  tableList(name: string): TableReader[] {
    const value = this.#get(name);
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every(isTable)) {
      throw new ConfigError(this.key(name), `expected tables ([[${this.key(name)}]])`);
    }
    return value.map((item, i) => new TableReader(item, `${this.key(name)}[${i}]`));
  }

  /** The names of the table's keys (for tables whose keys are data, like server names). */
  names(): string[] {
    return Object.keys(this.#table);
  }

  table(name: string): TableReader {
    const value = this.#get(name);
    if (value === undefined) return new TableReader({}, this.key(name));
    if (!isTable(value)) throw new ConfigError(this.key(name), "expected a table");
    return new TableReader(value, this.key(name));
  }

  /** Throws for any key that no reader asked for. */
  finish(): void {
    for (const name of Object.keys(this.#table)) {
      if (!this.#seen.has(name)) throw new ConfigError(this.key(name), "unknown key");
    }
  }
}

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;

/** Splits `host[:port]`; returns null when the syntax is wrong. */
export function splitHostPort(text: string): { host: string; port: number | null } | null {
  const match = /^(\[[^\]]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && port > 65535) return null;
  const host = match[1];
  if (!HOSTNAME.test(host) && !IPV6_LITERAL.test(host)) return null;
  return { host, port };
}

function readRateLimit(reader: TableReader, name: string, fallback: RateLimitConfig) {
  const table = reader.table(name);
  const limit = {
    perSecond: table.number("per_second", fallback.perSecond, { min: 0, max: 1e6 }),
    burst: table.number("burst", fallback.burst, { min: 1, max: 1e9, int: true }),
  };
  table.finish();
  return limit;
}

/**
 * Validates a parsed TOML document (or an object of the same shape) into a {@link Config}.
 * Missing keys take the embedded defaults.
 *
 * @throws {ConfigError} naming the first unknown key or bad value
 */
export function resolveConfig(raw: unknown): Config {
  if (!isTable(raw)) throw new ConfigError("(file)", "expected a TOML document");
  const root = new TableReader(raw, "");

  const serverName = root.string("server_name", "localhost");
  const parsedName = splitHostPort(serverName);
  if (!parsedName || parsedName.port === 0) {
    throw new ConfigError("server_name", `"${serverName}" is not a valid server name`);
  }
  const dataDir = root.string("data_dir", "./data");
  if (dataDir.trim() === "") throw new ConfigError("data_dir", "must not be empty");

  const httpTable = root.table("http");
  // The appliance (HTTPS built in) answers the world on 443 unless told otherwise.
  const tlsOn = httpTable.string("tls", "off") !== "off";
  const listen = httpTable.string("listen", tlsOn ? "0.0.0.0:443" : "127.0.0.1:8008");
  const parsedListen = splitHostPort(listen);
  if (!parsedListen || parsedListen.port === null) {
    throw new ConfigError("http.listen", `"${listen}" is not of the form host:port`);
  }
  const publicBaseUrl = httpTable.string("public_base_url", "http://localhost:8008");
  let url: URL;
  try {
    url = new URL(publicBaseUrl);
  } catch {
    throw new ConfigError("http.public_base_url", `"${publicBaseUrl}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError("http.public_base_url", "must be an http:// or https:// URL");
  }
  if (url.search || url.hash) {
    throw new ConfigError("http.public_base_url", "must not have a query or fragment");
  }
  const httpTls = readHttpTls(httpTable, url);
  httpTable.finish();

  const reg = root.table("registration");
  const registration = {
    enabled: reg.boolean("enabled", false),
    requireToken: reg.boolean("require_token", true),
    sharedSecret: reg.string("shared_secret", ""),
    allowGuests: reg.boolean("allow_guests", false),
  };
  reg.finish();

  const lim = root.table("limits");
  const limits = {
    maxRequestBody: lim.number("max_request_body", 1048576, { min: 1024, max: 2 ** 31, int: true }),
    accessTokenLifetimeMs: lim.number("access_token_lifetime_ms", 300_000, {
      min: 1000,
      max: 2 ** 40,
      int: true,
    }),
    uiaSessionLifetimeMs: lim.number("uia_session_lifetime_ms", 900_000, {
      min: 1000,
      max: 2 ** 40,
      int: true,
    }),
    maxDevicesPerUser: lim.number("max_devices_per_user", 250, { min: 1, max: 10000, int: true }),
  };
  lim.finish();

  const rl = root.table("rate_limits");
  const rateLimits = {
    login: readRateLimit(rl, "login", { perSecond: 0.5, burst: 10 }),
    register: readRateLimit(rl, "register", { perSecond: 0.2, burst: 5 }),
    send: readRateLimit(rl, "send", { perSecond: 10, burst: 50 }),
    mediaUpload: readRateLimit(rl, "media_upload", { perSecond: 2, burst: 50 }),
    loginToken: readRateLimit(rl, "login_token", { perSecond: 0.0166667, burst: 1 }),
  };
  rl.finish();
  const media = readMedia(root);
  const e2eeTable = root.table("e2ee");
  const defaultFor = e2eeTable.string("default_for", "invite");
  if (defaultFor !== "all" && defaultFor !== "invite" && defaultFor !== "off") {
    throw new ConfigError("e2ee.default_for", 'expected "all", "invite" or "off"');
  }
  e2eeTable.finish();
  const pushTable = root.table("push");
  const push = {
    enabled: pushTable.boolean("enabled", true),
    allowPrivateAddresses: pushTable.boolean("allow_private_addresses", false),
  };
  pushTable.finish();
  const turn = readTurn(root);
  const web = readWeb(root);
  const directoryTable = root.table("user_directory");
  const userDirectory = {
    searchAllUsers: directoryTable.boolean("search_all_users", true),
  };
  directoryTable.finish();
  const roomsTable = root.table("rooms");
  const rooms = { internalByDefault: roomsTable.boolean("internal_by_default", false) };
  roomsTable.finish();
  const federation = readFederation(root, httpTls.tls);
  const asTable = root.table("appservices");
  const registrationFiles = asTable.stringList("registration_files", []);
  if (registrationFiles.some((path) => path.trim() === "")) {
    throw new ConfigError(asTable.key("registration_files"), "a file path must not be empty");
  }
  asTable.finish();
  const noticesTable = root.table("server_notices");
  const serverNotices = {
    systemLocalpart: noticesTable.string("system_localpart", "server"),
    systemDisplayName: noticesTable.string("system_display_name", "Server notices"),
    roomName: noticesTable.string("room_name", "Server notices"),
  };
  if (!/^[a-z0-9._=\-\/+]+$/.test(serverNotices.systemLocalpart)) {
    throw new ConfigError(
      noticesTable.key("system_localpart"),
      "must be a user ID localpart (lowercase letters, digits and . _ = - / +)",
    );
  }
  noticesTable.finish();
  const ops = readOpsConfig(root);
  const auth = readAuthConfig(root);
  const retention = readRetentionConfig(root);
  const email = readEmailConfig(root, publicBaseUrl);
  root.finish();

  return {
    serverName,
    dataDir,
    http: { listen, publicBaseUrl: publicBaseUrl.replace(/\/+$/, ""), ...httpTls },
    registration,
    limits,
    rateLimits,
    media,
    e2ee: { defaultFor },
    push,
    turn,
    web,
    userDirectory,
    rooms,
    federation,
    appservices: { registrationFiles },
    serverNotices,
    retention,
    ...ops,
    ...auth,
    email,
  };
}

/** A key ID and key as `pinned_keys` writes them: `ed25519:<version> <base64 key>`. */
const PINNED_KEY = /^(ed25519:[A-Za-z0-9_]+)\s+(\S+)$/;

type HttpTls = Omit<Config["http"], "listen" | "publicBaseUrl">;

/** A DNS name a public CA can certify (no IP address, no port, no wildcard). */
const CERT_DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$/;

function readHttpTls(table: TableReader, publicUrl: URL): HttpTls {
  const tls = table.string("tls", "off");
  if (tls !== "off" && tls !== "files" && tls !== "acme") {
    throw new ConfigError(table.key("tls"), 'expected "off", "files" or "acme"');
  }
  const tlsCert = table.string("tls_cert", "");
  const tlsKey = table.string("tls_key", "");
  if (tls === "files" && (tlsCert === "" || tlsKey === "")) {
    throw new ConfigError(
      table.key(tlsCert === "" ? "tls_cert" : "tls_key"),
      'tls = "files" needs both tls_cert and tls_key',
    );
  }
  const acmeDirectory = table.string("acme_directory", LETS_ENCRYPT_DIRECTORY);
  if (!/^https:\/\/[^\s]+$/.test(acmeDirectory)) {
    throw new ConfigError(table.key("acme_directory"), "must be an https:// URL");
  }
  const acmeEmail = table.string("acme_email", "");
  if (acmeEmail !== "" && !/^[^\s@]+@[^\s@]+$/.test(acmeEmail)) {
    throw new ConfigError(table.key("acme_email"), `"${acmeEmail}" is not an email address`);
  }
  const acmeCa = table.string("acme_ca", "");
  let acmeDomains = table.stringList("acme_domains", []);
  if (acmeDomains.length === 0) acmeDomains = [publicUrl.hostname];
  if (tls === "acme") {
    for (const domain of acmeDomains) {
      if (!CERT_DOMAIN.test(domain) || /^[0-9.]+$/.test(domain)) {
        throw new ConfigError(
          table.key("acme_domains"),
          `"${domain}" is not a DNS name an ACME CA can certify (set acme_domains, or a ` +
            "public_base_url with a DNS name)",
        );
      }
    }
  }
  const httpListen = table.string("http_listen", tls === "acme" ? "0.0.0.0:80" : "");
  if (httpListen !== "") {
    const parsed = splitHostPort(httpListen);
    if (!parsed || parsed.port === null) {
      throw new ConfigError(
        table.key("http_listen"),
        `"${httpListen}" is not of the form host:port`,
      );
    }
  } else if (tls === "acme") {
    throw new ConfigError(
      table.key("http_listen"),
      'tls = "acme" answers HTTP-01 challenges there: it must not be ""',
    );
  }
  if (tls !== "off" && publicUrl.protocol !== "https:") {
    throw new ConfigError(
      "http.public_base_url",
      `with tls = "${tls}" it must be an https:// URL (clients are sent there)`,
    );
  }
  return { tls, tlsCert, tlsKey, acmeDirectory, acmeEmail, acmeCa, acmeDomains, httpListen };
}

function readFederation(root: TableReader, httpTls: HttpTlsMode): FederationConfig {
  const table = root.table("federation");
  const tlsCert = table.string("tls_cert", "");
  const tlsKey = table.string("tls_key", "");
  if ((tlsCert === "") !== (tlsKey === "")) {
    throw new ConfigError(
      table.key(tlsCert === "" ? "tls_cert" : "tls_key"),
      "tls_cert and tls_key go together: set both or neither",
    );
  }
  // With HTTPS on the main listener, federation is served there (one port).
  const enabled = table.boolean("enabled", tlsCert !== "" || httpTls !== "off");
  if (enabled && tlsCert === "" && httpTls === "off") {
    throw new ConfigError(
      table.key("enabled"),
      "federation needs TLS: set tls_cert and tls_key, or [http] tls (the spec allows no " +
        "plain HTTP)",
    );
  }
  const listen = table.string("listen", "0.0.0.0:8448");
  const parsedListen = splitHostPort(listen);
  if (!parsedListen || parsedListen.port === null) {
    throw new ConfigError(table.key("listen"), `"${listen}" is not of the form host:port`);
  }
  const trustedCa = table.stringList("trusted_ca", []);
  if (trustedCa.some((path) => path.trim() === "")) {
    throw new ConfigError(table.key("trusted_ca"), "a CA file path must not be empty");
  }
  const allowPrivateAddresses = table.boolean("allow_private_addresses", false);
  const allow = table.stringList("allow", []);
  for (const name of allow) {
    if (!isValidServerName(name)) {
      throw new ConfigError(table.key("allow"), `"${name}" is not a server name`);
    }
  }
  const pinnedKeys = readPinnedKeys(table);
  table.finish();
  return {
    enabled,
    listen,
    tlsCert,
    tlsKey,
    trustedCa,
    allowPrivateAddresses,
    allow,
    pinnedKeys,
  };
}

function readPinnedKeys(federation: TableReader): Record<string, PinnedKey[]> {
  const pins = federation.table("pinned_keys");
  const out: Record<string, PinnedKey[]> = Object.create(null);
  for (const server of pins.names()) {
    const key = pins.key(server);
    if (!isValidServerName(server)) throw new ConfigError(key, "not a server name");
    const entries = pins.stringList(server, []);
    if (entries.length === 0) {
      throw new ConfigError(key, 'expected at least one "ed25519:<id> <base64 key>"');
    }
    out[server] = entries.map((entry) => {
      const match = PINNED_KEY.exec(entry.trim());
      if (!match || !decodePublicKey(match[2])) {
        throw new ConfigError(
          key,
          `"${entry}" is not "ed25519:<id> <key>" with an unpadded Base64 Ed25519 key`,
        );
      }
      return { keyId: match[1], key: match[2] };
    });
  }
  pins.finish();
  return out;
}

/** Splits `http.http_listen` into hostname and port (null when it is off). */
export function httpListenAddress(config: Config): { hostname: string; port: number } | null {
  if (config.http.httpListen === "") return null;
  const parsed = splitHostPort(config.http.httpListen);
  if (!parsed || parsed.port === null) {
    throw new ConfigError("http.http_listen", `"${config.http.httpListen}" is not host:port`);
  }
  return { hostname: parsed.host.replace(/^\[|\]$/g, ""), port: parsed.port };
}

/** Splits `federation.listen` into hostname and port for `Deno.serve`. */
export function federationListenAddress(config: Config): { hostname: string; port: number } {
  const parsed = splitHostPort(config.federation.listen);
  if (!parsed || parsed.port === null) {
    throw new ConfigError(
      "federation.listen",
      `"${config.federation.listen}" is not of the form host:port`,
    );
  }
  return { hostname: parsed.host.replace(/^\[|\]$/g, ""), port: parsed.port };
}

/** `turn:` or `turns:`, a host (name, IPv4 or [IPv6]), an optional port and transport. */
const TURN_URI =
  /^turns?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?(?:\?transport=(?:udp|tcp))?$/;

function readTurn(root: TableReader): TurnConfig {
  const table = root.table("turn");
  const uris = table.stringList("uris", []);
  for (const uri of uris) {
    const match = TURN_URI.exec(uri);
    if (!match || (match[1] !== undefined && Number(match[1]) > 65535)) {
      throw new ConfigError(
        table.key("uris"),
        `"${uri}" is not a TURN URI (turn:host[:port][?transport=udp|tcp], or turns:...)`,
      );
    }
  }
  const sharedSecret = table.string("shared_secret", "");
  const username = table.string("username", "");
  const password = table.string("password", "");
  const ttl = table.number("ttl", 86400, { min: 60, max: 30 * 86400, int: true });
  table.finish();
  if (sharedSecret !== "" && (username !== "" || password !== "")) {
    throw new ConfigError(
      table.key("shared_secret"),
      "set either shared_secret or username and password, not both",
    );
  }
  if ((username === "") !== (password === "")) {
    throw new ConfigError(
      table.key(username === "" ? "username" : "password"),
      "username and password go together: set both or neither",
    );
  }
  const hasCredentials = sharedSecret !== "" || username !== "";
  if (uris.length > 0 && !hasCredentials) {
    throw new ConfigError(
      table.key("uris"),
      "TURN servers need credentials: set shared_secret, or username and password",
    );
  }
  if (uris.length === 0 && hasCredentials) {
    throw new ConfigError(table.key("uris"), "credentials are set but no TURN server URI is");
  }
  return { uris, sharedSecret, username, password, ttl };
}

/** The tile source the web app uses when `[web]` does not name one. */
export const DEFAULT_MAP_TILE_URL =
  "https://wmts1.geoportail.lu/opendata/wmts/basemap/GLOBAL_WEBMERCATOR/{z}/{x}/{y}.png";

/**
 * Whether `template` is an https map link with `{lat}` and `{lon}` or `{x}` and `{y}`, and no
 * placeholder but those and `{zoom}` (the web app checks the same in web/src/state/geo_uri.ts).
 */
function isMapLinkTemplate(template: string): boolean {
  if (template.length > 500 || !/^https:\/\/[^/{}\s]+\/\S*$/i.test(template)) return false;
  const names = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  if (names.some((name) => !["lat", "lon", "zoom", "x", "y"].includes(name))) return false;
  return (names.includes("lat") && names.includes("lon")) ||
    (names.includes("x") && names.includes("y"));
}

function readWeb(root: TableReader): WebConfig {
  const table = root.table("web");
  const mapTileUrl = table.string("map_tile_url", DEFAULT_MAP_TILE_URL);
  const names = [...mapTileUrl.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  const missing = ["z", "x", "y"].filter((name) => !names.includes(name));
  const unknown = names.filter((name) => name !== "z" && name !== "x" && name !== "y");
  if (!/^https?:\/\/[^/{}]+\//i.test(mapTileUrl) || missing.length || unknown.length) {
    throw new ConfigError(
      table.key("map_tile_url"),
      `"${mapTileUrl}" is not a tile URL template: expected an http(s) URL with {z}, {x} and {y}` +
        (missing.length ? ` (missing {${missing.join("}, {")}})` : "") +
        (unknown.length ? ` (unknown {${unknown.join("}, {")}})` : ""),
    );
  }
  const defaultCredit = mapTileUrl === DEFAULT_MAP_TILE_URL
    ? "© geoportail.lu (ACT), © OpenStreetMap contributors"
    : "";
  const mapAttribution = table.string("map_attribution", defaultCredit);
  const mapMaxZoom = table.number("map_max_zoom", 19, { min: 1, max: 22, int: true });
  const mapLinkUrl = table.string("map_link_url", "");
  if (mapLinkUrl !== "" && !isMapLinkTemplate(mapLinkUrl)) {
    throw new ConfigError(
      table.key("map_link_url"),
      `"${mapLinkUrl}" is not a map link template: expected an https URL with {lat} and {lon}` +
        " or {x} and {y}, and optionally {zoom}",
    );
  }
  table.finish();
  return { mapTileUrl, mapAttribution, mapMaxZoom, mapLinkUrl };
}

function readMedia(root: TableReader): MediaConfig {
  const table = root.table("media");
  const bytes = { min: 1, max: 2 ** 42, int: true };
  const ms = { min: 1000, max: 2 ** 40, int: true };
  const maxUploadSize = table.number("max_upload_size", 104857600, bytes);
  const legacyUnauthenticated = table.boolean("legacy_unauthenticated", false);
  const userQuotaBytes = table.number("user_quota_bytes", 0, { ...bytes, min: 0 });
  const maxPendingUploads = table.number("max_pending_uploads", 10, {
    min: 1,
    max: 1e6,
    int: true,
  });
  const unusedExpiresMs = table.number("unused_expires_ms", 86400000, ms);
  const maxImagePixels = table.number("max_image_pixels", 33554432, {
    min: 1,
    max: 2 ** 30,
    int: true,
  });
  const maxThumbnailSourceSize = table.number("max_thumbnail_source_size", 33554432, bytes);
  const scanner = readScanner(table);
  const preview = table.table("url_preview");
  const enabled = preview.boolean("enabled", false);
  const allowedRanges = preview.stringList("allowed_ranges", []).map((text) => {
    const range = parseCidr(text);
    if (!range) {
      throw new ConfigError(preview.key("allowed_ranges"), `"${text}" is not a CIDR range`);
    }
    return range;
  });
  const maxPageSize = preview.number("max_page_size", 2097152, {
    min: 1024,
    max: 2 ** 30,
    int: true,
  });
  const timeoutMs = preview.number("timeout_ms", 10000, { min: 100, max: 600000, int: true });
  preview.finish();
  table.finish();
  return {
    maxUploadSize,
    legacyUnauthenticated,
    userQuotaBytes,
    maxPendingUploads,
    unusedExpiresMs,
    maxImagePixels,
    maxThumbnailSourceSize,
    urlPreview: { enabled, allowedRanges, maxPageSize, timeoutMs },
    scanner,
  };
}

function readScanner(media: TableReader): ScannerConfig {
  const table = media.table("scanner");
  const enabled = table.boolean("enabled", false);
  const clamd = table.string("clamd", "/run/clamav/clamd.ctl");
  if (parseClamdAddress(clamd) === null) {
    throw new ConfigError(
      table.key("clamd"),
      `"${clamd}" is neither a socket path (starting with /) nor host:port`,
    );
  }
  const failMode = table.string("fail_mode", "closed");
  if (failMode !== "closed" && failMode !== "open") {
    throw new ConfigError(table.key("fail_mode"), `must be "closed" or "open", not "${failMode}"`);
  }
  const timeoutMs = table.number("timeout_ms", 30000, { min: 100, max: 600000, int: true });
  const maxScanSize = table.number("max_scan_size", 26214400, { min: 1, max: 2 ** 42, int: true });
  table.finish();
  return { enabled, clamd, failMode, timeoutMs, maxScanSize };
}

/**
 * Parses TOML text into a validated {@link Config}.
 *
 * @throws {ConfigError} for a syntax error (key `(file)`) or any bad key
 */
export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError("(file)", `not valid TOML: ${detail}`);
  }
  return resolveConfig(raw);
}

/**
 * Loads the config file at `path`, or the embedded defaults when `path` is undefined.
 *
 * @throws {ConfigError} when the file cannot be read or is invalid
 */
export async function loadConfig(path?: string): Promise<Config> {
  if (path === undefined) return parseConfig(DEFAULT_CONFIG_TOML);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ConfigError("(file)", `cannot read ${path}: ${detail}`);
  }
  return parseConfig(text);
}

/** Where the KV database of a config lives. */
export function kvPath(config: Config): string {
  return `${config.dataDir.replace(/\/+$/, "")}/gemeng.kv`;
}

/** Splits `http.listen` into hostname and port for `Deno.serve`. */
export function listenAddress(config: Config): { hostname: string; port: number } {
  const parsed = splitHostPort(config.http.listen);
  if (!parsed || parsed.port === null) {
    throw new ConfigError("http.listen", `"${config.http.listen}" is not of the form host:port`);
  }
  return { hostname: parsed.host.replace(/^\[|\]$/g, ""), port: parsed.port };
}
