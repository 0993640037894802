/**
 * LDAP / Active Directory sign-in (`[auth.ldap]`, docs/auth.md): `m.login.password` is checked
 * against the directory (search with the service account, then bind as the user), accounts are
 * created on the first sign-in, and a periodic check deactivates accounts whose directory entry
 * is gone. `ldapts` is loaded on first use.
 *
 * @module
 */

import type { Client, ClientOptions } from "ldapts";
import { deactivateUser } from "../admin/user_accounts.ts";
import type { LdapConfig } from "./auth_config.ts";
import { forbidden } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { getUser } from "../store/accounts.ts";
import { externalIdKey, linkedAccounts, provisionUser } from "./external_accounts.ts";

/** A directory entry of a user, as the attribute mapping reads it. */
export interface DirectoryUser {
  dn: string;
  username: string;
  displayName?: string;
  email?: string;
}

/** The directory could not be asked (unreachable, TLS failure, service bind refused). */
export class DirectoryUnavailableError extends Error {
  /** Always `LDAP_UNAVAILABLE`. */
  readonly code = "LDAP_UNAVAILABLE";

  /** @param cause what went wrong */
  constructor(cause: unknown) {
    super(`LDAP directory unavailable: ${cause instanceof Error ? cause.message : cause}`);
    this.name = "DirectoryUnavailableError";
  }
}

/** Escapes a value for an LDAP filter (RFC 4515). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (ch) => `\\${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * The search filter for a typed name: `{username}` in the configured template becomes the escaped
 * name, taken literally (a string replacement would expand `$'`, `` $` `` and `$&` into parts of
 * the template, unescaped).
 */
export function directoryFilter(template: string, username: string): string {
  const value = escapeFilterValue(username);
  return template.replaceAll("{username}", () => value);
}

function firstValue(value: unknown): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  if (typeof one === "string") return one;
  if (one instanceof Uint8Array) return new TextDecoder().decode(one);
  return undefined;
}

const caCache = new Map<string, Promise<string>>();

async function connect(config: LdapConfig): Promise<Client> {
  const { Client } = await import("ldapts");
  let ca: string | undefined;
  if (config.caFile) {
    let read = caCache.get(config.caFile);
    if (!read) caCache.set(config.caFile, read = Deno.readTextFile(config.caFile));
    ca = await read;
  }
  const tlsOptions = ca ? { ca: [ca] } : undefined;
  const options: ClientOptions = {
    url: config.url,
    timeout: config.timeoutMs,
    connectTimeout: config.timeoutMs,
    ...(tlsOptions && config.url.startsWith("ldaps:") ? { tlsOptions } : {}),
  };
  const client = new Client(options);
  try {
    if (config.starttls) {
      // The upgraded socket must check the certificate against the directory's own name.
      const host = new URL(config.url).hostname.replace(/^\[|\]$/g, "");
      const isIp = /^[\d.]+$/.test(host) || host.includes(":");
      await client.startTLS({ ...tlsOptions, host, ...(isIp ? {} : { servername: host }) });
    }
    if (config.bindDn) await client.bind(config.bindDn, config.bindPassword);
  } catch (err) {
    await client.unbind().catch(() => {});
    throw new DirectoryUnavailableError(err);
  }
  return client;
}

async function findUsers(
  client: Client,
  config: LdapConfig,
  username: string,
): Promise<DirectoryUser[]> {
  const filter = directoryFilter(config.filter, username);
  let entries;
  try {
    ({ searchEntries: entries } = await client.search(config.searchBase, {
      scope: "sub",
      filter,
      attributes: [config.usernameAttribute, config.displayNameAttribute, config.emailAttribute],
      sizeLimit: 2,
    }));
  } catch (err) {
    throw new DirectoryUnavailableError(err);
  }
  const users: DirectoryUser[] = [];
  for (const entry of entries) {
    const name = firstValue(entry[config.usernameAttribute]);
    if (!name) continue;
    users.push({
      dn: entry.dn,
      username: name,
      displayName: firstValue(entry[config.displayNameAttribute]),
      email: firstValue(entry[config.emailAttribute]),
    });
  }
  return users;
}

/** What a user typed as the name: `alice` or `@alice:server` becomes `alice`. */
function typedName(hs: Homeserver, input: string): string | null {
  if (!input.startsWith("@")) return input;
  const colon = input.indexOf(":");
  if (colon < 0 || input.slice(colon + 1) !== hs.config.serverName) return null;
  return input.slice(1, colon);
}

/**
 * Checks a password login against the directory.
 *
 * @returns the local user it signs in (created on the first sign-in), or null when the directory
 *   does not know the name or cannot be reached (then local passwords decide)
 * @throws {MatrixError} 403 M_FORBIDDEN for a wrong password of a directory user
 */
export async function ldapPasswordUser(
  hs: Homeserver,
  name: string,
  password: string,
): Promise<string | null> {
  const config = hs.config.auth.ldap;
  const username = typedName(hs, name);
  // An empty password would be an anonymous bind, which directories accept.
  if (!config.enabled || username === null || username === "" || password === "") return null;
  let client: Client;
  try {
    client = await connect(config);
  } catch (err) {
    console.warn(`auth.ldap: ${err instanceof Error ? err.message : err}`);
    return null;
  }
  let user: DirectoryUser;
  try {
    const found = await findUsers(client, config, username);
    if (found.length === 0) return null;
    if (found.length > 1) throw forbidden("The directory has several entries for this name");
    user = found[0];
    try {
      await client.bind(user.dn, password);
    } catch {
      throw forbidden("Invalid username or password");
    }
  } catch (err) {
    if (err instanceof DirectoryUnavailableError) {
      console.warn(`auth.ldap: ${err.message}`);
      return null;
    }
    throw err;
  } finally {
    await client.unbind().catch(() => {});
  }
  return await provisionUser(hs, {
    provider: "ldap",
    externalId: user.username.toLowerCase(),
    localpart: user.username,
    displayName: user.displayName,
    email: user.email,
  }, { allowExisting: true });
}

/**
 * Whether `password` is the directory password of a local account that LDAP sign-in made (for
 * user-interactive auth: such accounts have no local password). Unreachable directory: false.
 */
export async function directoryPasswordMatches(
  hs: Homeserver,
  userId: string,
  password: string,
): Promise<boolean> {
  const config = hs.config.auth.ldap;
  if (!config.enabled || password === "") return false;
  const localpart = userId.slice(1, userId.indexOf(":"));
  const link = await hs.kv.get<{ userId: string }>(externalIdKey("ldap", localpart));
  if (link.value?.userId !== userId) return false;
  let client: Client;
  try {
    client = await connect(config);
  } catch {
    return false;
  }
  try {
    const found = await findUsers(client, config, localpart);
    if (found.length !== 1) return false;
    await client.bind(found[0].dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** What one directory check did. */
export interface DirectoryCheckResult {
  checked: number;
  deactivated: string[];
}

/**
 * Deactivates the accounts made by LDAP sign-in whose directory entry is gone. When the
 * directory cannot be asked, nothing is deactivated.
 *
 * @throws {DirectoryUnavailableError} when the directory cannot be asked
 */
export async function checkDirectoryAccounts(hs: Homeserver): Promise<DirectoryCheckResult> {
  const config = hs.config.auth.ldap;
  const result: DirectoryCheckResult = { checked: 0, deactivated: [] };
  if (!config.enabled) return result;
  const gone: string[] = [];
  const client = await connect(config);
  try {
    for await (const link of linkedAccounts(hs, "ldap")) {
      const user = await getUser(hs.kv, link.userId);
      if (!user || user.deactivated) continue;
      result.checked++;
      if ((await findUsers(client, config, link.externalId)).length === 0) gone.push(link.userId);
    }
  } finally {
    await client.unbind().catch(() => {});
  }
  for (const userId of gone) {
    await deactivateUser(hs, userId, { erase: false });
    result.deactivated.push(userId);
  }
  return result;
}

/** Starts the periodic directory check of `[auth.ldap] check_interval_ms` (stopped on close). */
export function startDirectoryCheck(hs: Homeserver): void {
  const config = hs.config.auth.ldap;
  if (!config.enabled || config.checkIntervalMs === 0) return;
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = checkDirectoryAccounts(hs)
      .then((result) => {
        if (result.deactivated.length > 0) {
          console.info(
            `auth.ldap: deactivated ${result.deactivated.join(", ")} (gone from the directory)`,
          );
        }
      })
      .catch((err) => console.warn(`auth.ldap: directory check skipped: ${err.message ?? err}`))
      .finally(() => running = null);
  }, config.checkIntervalMs);
  hs.addCloseHook(async () => {
    clearInterval(timer);
    await running;
  });
}
