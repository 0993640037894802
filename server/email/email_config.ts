/**
 * The `[email]` section of the config: the SMTP server gemeng sends through, and what it sends
 * (password resets, address checks, notifications of unread messages). Read by `config.ts`
 * with its table reader and documented in its embedded defaults.
 *
 * @module
 */

import { ConfigError, splitHostPort, type TableReader } from "../config.ts";

/** How the SMTP connection is secured. */
export type SmtpTlsMode = "none" | "starttls" | "tls";

/** `[email]`: outgoing mail. `enabled` is false when `smtp_host` is empty. */
export interface EmailConfig {
  /** Whether mail can be sent (`smtp_host` is set). */
  readonly enabled: boolean;
  /** `smtp_host`: the SMTP server ("" turns every email feature off). */
  readonly smtpHost: string;
  /** `smtp_port`: default 587 (`starttls`), 465 (`tls`) or 25 (`none`). */
  readonly smtpPort: number;
  /** `tls`: `starttls` (the default; upgrade required), `tls` (implicit TLS) or `none`. */
  readonly tls: SmtpTlsMode;
  /** `username` and `password`: SMTP AUTH ("" for none). */
  readonly username: string;
  readonly password: string;
  /** `from`: the sender, e.g. `gemeng <noreply@commune.lu>`. */
  readonly from: string;
  /** `public_link_base`: where links in mails point (default `http.public_base_url`). */
  readonly publicLinkBase: string;
  /** `app_name`: the name mails use for the service. */
  readonly appName: string;
  /** `token_lifetime_ms`: how long a link in a validation mail works. */
  readonly tokenLifetimeMs: number;
  /** `notif_for_new_users`: an address added to an account gets notification mails. */
  readonly notifForNewUsers: boolean;
  /** `notif_delay_ms`: a notification is mailed only when still unread this long after. */
  readonly notifDelayMs: number;
  /** `trusted_ca`: PEM file of an extra CA trusted for the SMTP server's certificate. */
  readonly trustedCa: string;
}

/** The embedded defaults of the section (appended to config.ts's). */
export const EMAIL_DEFAULT_TOML = `
[email]
# Outgoing mail (docs/email.md): password reset by email, email addresses on accounts, and
# optional notification mails. Everything email is off while smtp_host is "".
smtp_host = ""
# smtp_port = 587                   # default 587 with tls = "starttls", 465 with "tls", 25 with "none"
tls = "starttls"                    # "starttls" (required upgrade), "tls" (implicit TLS, port 465), "none"
username = ""                       # SMTP AUTH; "" for none
password = ""
from = ""                           # the sender, e.g. "Commune chat <noreply@commune.lu>"
public_link_base = ""               # base URL of the links in mails; default http.public_base_url
app_name = "gemeng"                 # how mails name the service
trusted_ca = ""                     # extra CA file trusted for the SMTP server (private CAs)
token_lifetime_ms = 3600000         # how long a validation link works
notif_for_new_users = false         # an address added to an account gets unread-message mails
notif_delay_ms = 600000             # mail only about messages still unread this long after
`;

const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+$/;

/** Reads `[email]`; `publicBaseUrl` is `http.public_base_url` (the links' default base). */
export function readEmailConfig(root: TableReader, publicBaseUrl: string): EmailConfig {
  const table = root.table("email");
  const smtpHost = table.string("smtp_host", "");
  const tls = table.string("tls", "starttls");
  if (tls !== "none" && tls !== "starttls" && tls !== "tls") {
    throw new ConfigError(table.key("tls"), 'expected "starttls", "tls" or "none"');
  }
  const defaultPort = tls === "tls" ? 465 : tls === "none" ? 25 : 587;
  const smtpPort = table.number("smtp_port", defaultPort, { min: 1, max: 65535, int: true });
  if (smtpHost !== "" && splitHostPort(smtpHost)?.port !== null) {
    throw new ConfigError(table.key("smtp_host"), `"${smtpHost}" is not a host name or address`);
  }
  const username = table.string("username", "");
  const password = table.string("password", "");
  if (password !== "" && username === "") {
    throw new ConfigError(table.key("username"), "a password needs a username");
  }
  const from = table.string("from", "");
  const bare = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  if (smtpHost !== "" && !ADDRESS.test(bare.trim())) {
    throw new ConfigError(
      table.key("from"),
      `"${from}" is not a sender address (e.g. "gemeng <noreply@example.org>")`,
    );
  }
  const linkBase = table.string("public_link_base", "");
  if (linkBase !== "" && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(linkBase)) {
    throw new ConfigError(table.key("public_link_base"), "must be an http(s) URL");
  }
  const appName = table.string("app_name", "gemeng");
  if (appName.trim() === "" || appName.length > 64 || /[\r\n]/.test(appName)) {
    throw new ConfigError(table.key("app_name"), "must be one line of 1 to 64 characters");
  }
  const trustedCa = table.string("trusted_ca", "");
  const tokenLifetimeMs = table.number("token_lifetime_ms", 3_600_000, {
    min: 60_000,
    max: 7 * 86_400_000,
    int: true,
  });
  const notifForNewUsers = table.boolean("notif_for_new_users", false);
  const notifDelayMs = table.number("notif_delay_ms", 600_000, {
    min: 100,
    max: 7 * 86_400_000,
    int: true,
  });
  table.finish();
  return {
    enabled: smtpHost !== "",
    smtpHost,
    smtpPort,
    tls,
    username,
    password,
    from,
    publicLinkBase: (linkBase || publicBaseUrl).replace(/\/+$/, ""),
    appName,
    tokenLifetimeMs,
    notifForNewUsers,
    notifDelayMs,
    trustedCa,
  };
}
