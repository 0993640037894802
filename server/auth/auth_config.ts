/**
 * `[auth]`: sign-in with the organisation's accounts (docs/auth.md): `[auth.jwt]`,
 * `[auth.ldap]` and `[[auth.oidc]]` providers, next to the ordinary passwords.
 *
 * @module
 */

import { ConfigError, type TableReader } from "../config.ts";

/** `[auth.jwt]`: `org.matrix.login.jwt`. */
export interface JwtConfig {
  readonly enabled: boolean;
  /** `algorithm`: HS256/384/512 (with `secret`), RS*, PS*, ES*, EdDSA (with `public_key`). */
  readonly algorithm: string;
  /** `secret`: the shared HMAC secret. */
  readonly secret: string;
  /** `public_key`: path of a PEM (SPKI) public key file. */
  readonly publicKey: string;
  /** `issuer`: the required `iss` ("" = not checked). */
  readonly issuer: string;
  /** `audiences`: one of them must be in `aud` (empty = not checked). */
  readonly audiences: readonly string[];
  /** `subject_claim`: the claim holding the user's localpart. */
  readonly subjectClaim: string;
}

/** `[auth.ldap]`: passwords checked against a directory. */
export interface LdapConfig {
  readonly enabled: boolean;
  /** `url`: `ldap://host:389` or `ldaps://host:636`. */
  readonly url: string;
  /** `starttls`: upgrade an `ldap://` connection with StartTLS. */
  readonly starttls: boolean;
  /** `ca_file`: PEM CA file trusted for LDAPS/StartTLS ("" = the system's). */
  readonly caFile: string;
  /** `bind_dn`, `bind_password`: the service account that searches ("" = anonymous). */
  readonly bindDn: string;
  readonly bindPassword: string;
  /** `search_base`: where users are searched (subtree). */
  readonly searchBase: string;
  /** `filter`: with `{username}` replaced by the escaped name typed at login. */
  readonly filter: string;
  /** `username_attribute`, `display_name_attribute`, `email_attribute`. */
  readonly usernameAttribute: string;
  readonly displayNameAttribute: string;
  readonly emailAttribute: string;
  /** `timeout_ms`: connect and operation timeout. */
  readonly timeoutMs: number;
  /** `check_interval_ms`: how often vanished users are deactivated (0 = never). */
  readonly checkIntervalMs: number;
}

/** One `[[auth.oidc]]` provider. */
export interface OidcProviderConfig {
  /** `id`: the `idp_id` clients see and `/login/sso/redirect/{id}` names. */
  readonly id: string;
  /** `name`: the button label. */
  readonly name: string;
  /** `icon`: an `mxc://` icon URI ("" = none). */
  readonly icon: string;
  /** `issuer`: the provider's issuer URL (its discovery document is read from it). */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `scopes`: requested scopes; `openid` is always included. */
  readonly scopes: readonly string[];
  /** `localpart_claim`, `display_name_claim`, `email_claim`: the claim mapping. */
  readonly localpartClaim: string;
  readonly displayNameClaim: string;
  readonly emailClaim: string;
  /** `allow_existing_users`: a first login may take over a local account of the same name. */
  readonly allowExistingUsers: boolean;
  /** `allow_insecure_http`: the issuer may use plain http:// (tests on loopback only). */
  readonly allowInsecureHttp: boolean;
}

/**
 * `[auth.login_via_existing_session]`: `POST /_matrix/client/v1/login/get_token`, by which a
 * signed-in device issues an `m.login.token` for another (Synapse's option of the same name).
 */
export interface LoginViaExistingSessionConfig {
  readonly enabled: boolean;
  /** `require_uia`: confirm each token with user-interactive auth (the spec's default). */
  readonly requireUia: boolean;
  /** `token_lifetime_ms`: how long such a token stays usable. */
  readonly tokenLifetimeMs: number;
}

/** `[auth]`. */
export interface AuthConfig {
  readonly jwt: JwtConfig;
  readonly ldap: LdapConfig;
  readonly oidc: readonly OidcProviderConfig[];
  /**
   * `sso_client_allowlist`: URL prefixes an SSO login may return to without a confirmation
   * page, besides `public_base_url` (the web app).
   */
  readonly ssoClientAllowlist: readonly string[];
  /** `login_token_lifetime_ms`: how long an `m.login.token` issued after SSO stays usable. */
  readonly loginTokenLifetimeMs: number;
  /** `[auth.login_via_existing_session]`: `POST /v1/login/get_token`. */
  readonly loginViaExistingSession: LoginViaExistingSessionConfig;
}

/** The embedded defaults of `[auth]` (appended to config.ts's). */
export const AUTH_DEFAULT_TOML = `
[auth]
# Sign-in with the organisation's accounts (docs/auth.md), side by side with passwords.
sso_client_allowlist = []           # URL prefixes SSO may return to without asking the user;
                                    # public_base_url (the web app) is always allowed
login_token_lifetime_ms = 120000    # m.login.token issued after SSO: single use, this long

[auth.login_via_existing_session]
enabled = false                     # POST /v1/login/get_token: a signed-in device issues an
                                    # m.login.token to sign in another one
require_uia = true                  # confirm each token (password or SSO); the spec requires it
token_lifetime_ms = 300000          # such a token: single use, this long

[auth.jwt]
enabled = false                     # org.matrix.login.jwt
algorithm = "HS256"                 # HS256/384/512 with secret; RS256, ES256 ... with public_key
secret = ""
public_key = ""                     # PEM file path
issuer = ""                         # checked when set
audiences = []                      # checked when non-empty
subject_claim = "sub"               # the user's localpart

[auth.ldap]
enabled = false                     # m.login.password checked against the directory first
url = "ldap://127.0.0.1:389"        # or "ldaps://dc.example.org:636"
starttls = false                    # StartTLS on an ldap:// URL
ca_file = ""                        # PEM CA for ldaps/StartTLS ("" = system CAs)
bind_dn = ""                        # service account that searches ("" = anonymous)
bind_password = ""
search_base = ""                    # e.g. "ou=people,dc=example,dc=org"
filter = "(uid={username})"         # AD: "(sAMAccountName={username})"
username_attribute = "uid"          # becomes the localpart (lower-cased)
display_name_attribute = "cn"
email_attribute = "mail"
timeout_ms = 10000
check_interval_ms = 3600000         # deactivate accounts gone from the directory; 0 = never

# [[auth.oidc]]                     # one table per OpenID Connect provider (m.login.sso)
# id = "keycloak"                   # idp_id: letters, digits, - . _ (at most 64)
# name = "Commune account"          # the button label
# icon = ""                         # mxc:// icon
# issuer = "https://id.example.org/realms/commune"
# client_id = "gemeng"
# client_secret = ""
# scopes = ["openid", "profile", "email"]
# localpart_claim = "preferred_username"
# display_name_claim = "name"
# email_claim = "email"
# allow_existing_users = false      # a first SSO login may take a local account of that name
# allow_insecure_http = false   # plain http:// issuer (tests only)
`;

const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"];
const KEY_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];
const IDP_ID = /^[A-Za-z0-9._~-]{1,64}$/;

function readJwt(auth: TableReader): JwtConfig {
  const table = auth.table("jwt");
  const jwt = {
    enabled: table.boolean("enabled", false),
    algorithm: table.string("algorithm", "HS256"),
    secret: table.string("secret", ""),
    publicKey: table.string("public_key", ""),
    issuer: table.string("issuer", ""),
    audiences: table.stringList("audiences", []),
    subjectClaim: table.string("subject_claim", "sub"),
  };
  table.finish();
  const isHmac = HMAC_ALGORITHMS.includes(jwt.algorithm);
  if (!isHmac && !KEY_ALGORITHMS.includes(jwt.algorithm)) {
    throw new ConfigError(
      table.key("algorithm"),
      `expected one of ${[...HMAC_ALGORITHMS, ...KEY_ALGORITHMS].join(", ")}`,
    );
  }
  if (jwt.enabled && isHmac && jwt.secret.length < 16) {
    throw new ConfigError(table.key("secret"), `${jwt.algorithm} needs a secret of 16+ chars`);
  }
  if (jwt.enabled && !isHmac && jwt.publicKey.trim() === "") {
    throw new ConfigError(table.key("public_key"), `${jwt.algorithm} needs a PEM public key file`);
  }
  if (jwt.subjectClaim === "") throw new ConfigError(table.key("subject_claim"), "empty");
  return jwt;
}

function readLdap(auth: TableReader): LdapConfig {
  const table = auth.table("ldap");
  const ldap = {
    enabled: table.boolean("enabled", false),
    url: table.string("url", "ldap://127.0.0.1:389"),
    starttls: table.boolean("starttls", false),
    caFile: table.string("ca_file", ""),
    bindDn: table.string("bind_dn", ""),
    bindPassword: table.string("bind_password", ""),
    searchBase: table.string("search_base", ""),
    filter: table.string("filter", "(uid={username})"),
    usernameAttribute: table.string("username_attribute", "uid"),
    displayNameAttribute: table.string("display_name_attribute", "cn"),
    emailAttribute: table.string("email_attribute", "mail"),
    timeoutMs: table.number("timeout_ms", 10_000, { min: 100, max: 600_000, int: true }),
    checkIntervalMs: table.number("check_interval_ms", 3_600_000, {
      min: 0,
      max: 2 ** 40,
      int: true,
    }),
  };
  table.finish();
  if (!/^ldaps?:\/\/[^/]+\/?$/.test(ldap.url)) {
    throw new ConfigError(table.key("url"), "expected ldap://host[:port] or ldaps://host[:port]");
  }
  if (ldap.starttls && ldap.url.startsWith("ldaps:")) {
    throw new ConfigError(table.key("starttls"), "StartTLS is for ldap:// URLs, not ldaps://");
  }
  if (ldap.enabled && ldap.searchBase.trim() === "") {
    throw new ConfigError(table.key("search_base"), "needed when LDAP is enabled");
  }
  if (!ldap.filter.includes("{username}")) {
    throw new ConfigError(table.key("filter"), "must contain {username}");
  }
  if (ldap.checkIntervalMs !== 0 && ldap.checkIntervalMs < 1000) {
    throw new ConfigError(table.key("check_interval_ms"), "use 0 (off) or at least 1000");
  }
  return ldap;
}

function readLoginViaExistingSession(auth: TableReader): LoginViaExistingSessionConfig {
  const table = auth.table("login_via_existing_session");
  const config = {
    enabled: table.boolean("enabled", false),
    requireUia: table.boolean("require_uia", true),
    tokenLifetimeMs: table.number("token_lifetime_ms", 300_000, {
      min: 1000,
      max: 3_600_000,
      int: true,
    }),
  };
  table.finish();
  return config;
}

function readOidc(table: TableReader): OidcProviderConfig {
  const provider = {
    id: table.string("id", ""),
    name: table.string("name", ""),
    icon: table.string("icon", ""),
    issuer: table.string("issuer", ""),
    clientId: table.string("client_id", ""),
    clientSecret: table.string("client_secret", ""),
    scopes: table.stringList("scopes", ["openid", "profile", "email"]),
    localpartClaim: table.string("localpart_claim", "preferred_username"),
    displayNameClaim: table.string("display_name_claim", "name"),
    emailClaim: table.string("email_claim", "email"),
    allowExistingUsers: table.boolean("allow_existing_users", false),
    allowInsecureHttp: table.boolean("allow_insecure_http", false),
  };
  table.finish();
  if (!IDP_ID.test(provider.id)) {
    throw new ConfigError(table.key("id"), "expected 1-64 letters, digits, '-', '.', '_' or '~'");
  }
  if (provider.name === "") throw new ConfigError(table.key("name"), "needed (the button label)");
  let issuer: URL;
  try {
    issuer = new URL(provider.issuer);
  } catch {
    throw new ConfigError(table.key("issuer"), `"${provider.issuer}" is not a URL`);
  }
  if (
    issuer.protocol !== "https:" && !(provider.allowInsecureHttp && issuer.protocol === "http:")
  ) {
    throw new ConfigError(table.key("issuer"), "must be an https:// URL");
  }
  if (provider.clientId === "") throw new ConfigError(table.key("client_id"), "needed");
  if (provider.icon !== "" && !/^mxc:\/\/[^/]+\/[^/]+$/.test(provider.icon)) {
    throw new ConfigError(table.key("icon"), "expected an mxc:// URI");
  }
  if (!provider.scopes.includes("openid")) provider.scopes = ["openid", ...provider.scopes];
  return provider;
}

/** Reads `[auth]` with its subsections. */
export function readAuthConfig(root: TableReader): { auth: AuthConfig } {
  const table = root.table("auth");
  const jwt = readJwt(table);
  const ldap = readLdap(table);
  const loginViaExistingSession = readLoginViaExistingSession(table);
  const oidc = table.tableList("oidc").map(readOidc);
  const ids = new Set<string>();
  for (const provider of oidc) {
    if (ids.has(provider.id)) {
      throw new ConfigError(table.key("oidc"), `two providers have the id "${provider.id}"`);
    }
    ids.add(provider.id);
  }
  const ssoClientAllowlist = table.stringList("sso_client_allowlist", []);
  for (const prefix of ssoClientAllowlist) {
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]+\//i.test(prefix)) {
      throw new ConfigError(
        table.key("sso_client_allowlist"),
        `"${prefix}" must be a URL prefix ending with the path, e.g. https://app.example.org/`,
      );
    }
  }
  const loginTokenLifetimeMs = table.number("login_token_lifetime_ms", 120_000, {
    min: 1000,
    max: 3_600_000,
    int: true,
  });
  table.finish();
  return {
    auth: { jwt, ldap, oidc, ssoClientAllowlist, loginTokenLifetimeMs, loginViaExistingSession },
  };
}
