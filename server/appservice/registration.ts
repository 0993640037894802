/**
 * Application service registration files (spec: Application Service API, "Registration"): the
 * YAML files bridges ship, read at start-up from `[appservices] registration_files` and checked
 * into typed {@link AppserviceRegistration}s. A bad file stops start-up with a
 * {@link ConfigError} naming the file and the field.
 *
 * Namespace regexes are matched as Synapse matches them (from the start of the ID, not
 * necessarily to its end), so a registration that works there works here.
 *
 * @module
 */

import { ConfigError } from "../config.ts";

/** One entry of a namespace list. */
export interface Namespace {
  /** The regex as written in the file. */
  readonly source: string;
  /** The compiled regex, anchored at the start of the ID. */
  readonly regex: RegExp;
  /** Only this application service may create or manage matching IDs. */
  readonly exclusive: boolean;
}

/** The kinds of namespace a registration declares. */
export type NamespaceKind = "users" | "aliases" | "rooms";

/** A checked registration. */
export interface AppserviceRegistration {
  /** `id`: unique among the server's application services; never changes. */
  readonly id: string;
  /** `url`: where transactions and queries go; null when the service wants no traffic. */
  readonly url: string | null;
  /** `as_token`: the service authenticates to us with it. */
  readonly asToken: string;
  /** `hs_token`: we authenticate to the service with it. */
  readonly hsToken: string;
  /** `sender_localpart`: the service's own user. */
  readonly senderLocalpart: string;
  /** The full user ID of the sender, on this server. */
  readonly sender: string;
  /** `namespaces`. */
  readonly namespaces: Readonly<Record<NamespaceKind, readonly Namespace[]>>;
  /** `rate_limited`: whether masqueraded users are rate-limited (default true). */
  readonly rateLimited: boolean;
  /** `protocols`: third-party protocols the service bridges. */
  readonly protocols: readonly string[];
  /** `receive_ephemeral`: whether it wants typing, receipts and presence (default false). */
  readonly receiveEphemeral: boolean;
  /** The file it came from (for messages). */
  readonly file: string;
}

/** The localpart grammar of user IDs this server creates. */
const LOCALPART = /^[a-z0-9._=\-\/+]+$/;
/** Longest token, ID or regex accepted in a registration. */
const MAX_FIELD_LENGTH = 2048;

/**
 * The YAML parser, loaded by {@link loadRegistrationParser} before registrations are read: it
 * weighs about 4 MB of resident memory that a server without application services should not
 * carry.
 */
let yamlParse: ((text: string) => unknown) | null = null;

/** Loads the YAML parser; `Homeserver.open` awaits it when registration files are configured. */
export async function loadRegistrationParser(): Promise<void> {
  if (!yamlParse) yamlParse = (await import("yaml")).parse;
}

function parseYaml(text: string): unknown {
  if (!yamlParse) throw new Error("loadRegistrationParser() was not awaited");
  return yamlParse(text);
}

/** Reads a YAML registration file. */
export function readRegistrationFile(path: string, serverName: string): AppserviceRegistration {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ConfigError("appservices.registration_files", `cannot read ${path}: ${detail}`);
  }
  return parseRegistration(text, { file: path, serverName });
}

/**
 * Parses and checks one registration (YAML, of which JSON is a subset).
 *
 * @throws {ConfigError} naming the file and the field at fault
 */
export function parseRegistration(
  text: string,
  options: { file: string; serverName: string },
): AppserviceRegistration {
  const fail = (field: string, message: string) =>
    new ConfigError(`appservices.registration_files`, `${options.file}: ${field}: ${message}`);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw fail("(file)", `not valid YAML: ${detail}`);
  }
  if (!isObject(raw)) throw fail("(file)", "expected a mapping of registration fields");
  const str = (name: string, opts: { nullable?: boolean } = {}): string | null => {
    const value = raw[name];
    if (value === null && opts.nullable) return null;
    if (typeof value !== "string" || value === "" || value.length > MAX_FIELD_LENGTH) {
      throw fail(name, `required: a non-empty string of at most ${MAX_FIELD_LENGTH} characters`);
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const value = raw[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") throw fail(name, "expected true or false");
    return value;
  };

  const id = str("id")!;
  if (!("url" in raw)) throw fail("url", "required (a URL, or null for no traffic)");
  const url = str("url", { nullable: true });
  if (url !== null) checkUrl(url, (message) => fail("url", message));
  const asToken = str("as_token")!;
  const hsToken = str("hs_token")!;
  const senderLocalpart = str("sender_localpart")!;
  if (!LOCALPART.test(senderLocalpart)) {
    throw fail("sender_localpart", "may contain only lowercase letters, digits and . _ = - / +");
  }
  const namespacesRaw = raw.namespaces;
  if (!isObject(namespacesRaw)) throw fail("namespaces", "required: a mapping");
  const namespaces = {
    users: readNamespaces(namespacesRaw.users, (m) => fail("namespaces.users", m)),
    aliases: readNamespaces(namespacesRaw.aliases, (m) => fail("namespaces.aliases", m)),
    rooms: readNamespaces(namespacesRaw.rooms, (m) => fail("namespaces.rooms", m)),
  };
  const protocolsRaw = raw.protocols ?? [];
  if (
    !Array.isArray(protocolsRaw) ||
    protocolsRaw.some((p) => typeof p !== "string" || p === "" || p.length > 255)
  ) {
    throw fail("protocols", "expected a list of protocol names");
  }
  return {
    id,
    url: url?.replace(/\/+$/, "") ?? null,
    asToken,
    hsToken,
    senderLocalpart,
    sender: `@${senderLocalpart}:${options.serverName}`,
    namespaces,
    rateLimited: bool("rate_limited", true),
    protocols: protocolsRaw as string[],
    receiveEphemeral: bool("receive_ephemeral", false),
    file: options.file,
  };
}

/**
 * Checks a set of registrations against each other: `id` and `as_token` must be unique (the
 * spec makes the server enforce it), and an `as_token` must differ from every `hs_token`.
 *
 * @throws {ConfigError} for the first clash
 */
export function checkRegistrations(registrations: readonly AppserviceRegistration[]): void {
  const ids = new Set<string>();
  const tokens = new Set<string>();
  const senders = new Set<string>();
  for (const reg of registrations) {
    const fail = (message: string) =>
      new ConfigError("appservices.registration_files", `${reg.file}: ${message}`);
    if (ids.has(reg.id)) throw fail(`id "${reg.id}" is used by another application service`);
    if (tokens.has(reg.asToken)) throw fail("as_token is used by another application service");
    if (senders.has(reg.sender)) throw fail("sender_localpart is used by another one");
    ids.add(reg.id);
    tokens.add(reg.asToken);
    senders.add(reg.sender);
  }
  for (const reg of registrations) {
    if (registrations.some((other) => other.hsToken === reg.asToken)) {
      throw new ConfigError(
        "appservices.registration_files",
        `${reg.file}: as_token must differ from every hs_token`,
      );
    }
  }
}

/** Whether `value` matches one of the registration's namespaces of `kind`. */
export function matchesNamespace(
  reg: AppserviceRegistration,
  kind: NamespaceKind,
  value: string,
  options: { exclusiveOnly?: boolean } = {},
): boolean {
  return reg.namespaces[kind].some((ns) =>
    (!options.exclusiveOnly || ns.exclusive) && ns.regex.test(value)
  );
}

/** Whether a user ID belongs to the service: its sender or a user in its namespace. */
export function ownsUser(reg: AppserviceRegistration, userId: string): boolean {
  return userId === reg.sender || matchesNamespace(reg, "users", userId);
}

function readNamespaces(value: unknown, fail: (message: string) => Error): Namespace[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw fail("expected a list of {regex, exclusive}");
  return value.map((entry, i) => {
    if (!isObject(entry)) throw fail(`entry ${i}: expected {regex, exclusive}`);
    const { regex, exclusive } = entry;
    if (typeof regex !== "string" || regex === "" || regex.length > MAX_FIELD_LENGTH) {
      throw fail(`entry ${i}: 'regex' must be a non-empty string`);
    }
    if (typeof exclusive !== "boolean") throw fail(`entry ${i}: 'exclusive' must be true or false`);
    let compiled: RegExp;
    try {
      compiled = new RegExp(`^(?:${regex})`);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw fail(`entry ${i}: '${regex}' is not a regular expression: ${detail}`);
    }
    return { source: regex, regex: compiled, exclusive };
  });
}

function checkUrl(url: string, fail: (message: string) => Error): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail(`"${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw fail("must be an http:// or https:// URL");
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw fail("must not have a query, fragment or credentials");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
