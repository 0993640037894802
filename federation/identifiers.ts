/**
 * Grammar checks for Matrix identifiers (appendices, "Identifier Grammar"): server names,
 * user IDs (strict and historical), room IDs (with a domain, or the v12 hash form), event IDs
 * (v1 `$local:domain`, v3 standard base64, v4+ URL-safe base64) and room aliases.
 *
 * All checks are pure string functions; lengths are measured in UTF-8 bytes as the spec asks.
 *
 * @module
 */

/** The longest user ID, room ID, event ID or room alias, in UTF-8 bytes (sigil included). */
export const MAX_IDENTIFIER_BYTES = 255;

/** A server name split into its host (IPv6 literals keep their brackets) and optional port. */
export interface ServerName {
  /** A DNS name, a dotted-quad IPv4 literal, or `[IPv6]` with the brackets. */
  readonly host: string;
  /** The explicit port, when the server name has one. */
  readonly port?: number;
}

/** Options for {@link isValidUserId}. */
export interface UserIdOptions {
  /**
   * Accept the historical grammar: a localpart of any non-surrogate code points except `:`
   * and NUL, including the empty string. Servers must accept such senders over federation.
   */
  readonly historical?: boolean;
}

/** Options for {@link isValidRoomId}. */
export interface RoomIdOptions {
  /**
   * `true`: only the v12 form (`!` + URL-safe unpadded base64 SHA-256); `false`: only the
   * `!opaque:domain` form of earlier versions; absent: either.
   */
  readonly domainless?: boolean;
}

/** Options for {@link isValidEventId}. */
export interface EventIdOptions {
  /**
   * The room version's event ID format (`RoomVersionRules.eventIdFormat`): `v1` is
   * `$opaque:domain`, `v3` standard unpadded base64 of a SHA-256, `v4` the URL-safe variant.
   * Absent: any of the three.
   */
  readonly format?: "v1" | "v3" | "v4";
}

const STRICT_LOCALPART = /^[a-z0-9._=\-/+]+$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const PORT = /^[0-9]{1,5}$/;
/** 32 bytes of SHA-256 are 43 characters of unpadded base64. */
const STANDARD_HASH = /^[A-Za-z0-9+/]{43}$/;
const URL_SAFE_HASH = /^[A-Za-z0-9_-]{43}$/;

/**
 * The UTF-8 length of a string in bytes, or -1 if it holds a lone surrogate (such a string
 * has no UTF-8 form, so it can never be a valid identifier or event field).
 */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      bytes += 4;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
    else bytes += 3;
  }
  return bytes;
}

/** Splits a server name into host and port per the grammar, or undefined if it is invalid. */
export function parseServerName(s: string): ServerName | undefined {
  let host: string;
  let rest: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return undefined;
    host = s.slice(0, close + 1);
    rest = s.slice(close + 1);
    if (!isIpv6Literal(host.slice(1, -1))) return undefined;
  } else {
    const colon = s.indexOf(":");
    host = colon < 0 ? s : s.slice(0, colon);
    rest = colon < 0 ? "" : s.slice(colon);
    if (!isIpv4Literal(host) && !isDnsName(host)) return undefined;
  }
  if (rest === "") return { host };
  if (!rest.startsWith(":") || !PORT.test(rest.slice(1))) return undefined;
  return { host, port: Number(rest.slice(1)) };
}

/** True if `s` is a server name: `hostname [":" port]` (DNS name, IPv4 or `[IPv6]`). */
export function isValidServerName(s: string): boolean {
  return parseServerName(s) !== undefined;
}

/**
 * True if `s` is a user ID `@localpart:server_name` of at most 255 bytes. By default the
 * localpart must use the current grammar (`a-z 0-9 . _ = - / +`, non-empty); with
 * `historical` any code points except `:` and NUL are allowed, including none.
 */
export function isValidUserId(s: string, options: UserIdOptions = {}): boolean {
  const parts = splitSigilled(s, "@");
  if (parts === undefined) return false;
  const [localpart, server] = parts;
  if (options.historical) {
    if (localpart.includes("\0")) return false;
  } else if (!STRICT_LOCALPART.test(localpart)) return false;
  return isValidServerName(server);
}

/**
 * True if `s` is a room ID of at most 255 bytes: `!opaque:server_name` (room versions 1-11)
 * or `!` followed by the URL-safe unpadded base64 of a SHA-256 hash (room version 12).
 */
export function isValidRoomId(s: string, options: RoomIdOptions = {}): boolean {
  if (options.domainless !== false && s.startsWith("!") && URL_SAFE_HASH.test(s.slice(1))) {
    return true;
  }
  if (options.domainless === true) return false;
  return isOpaqueWithDomain(s, "!");
}

/**
 * True if `s` is an event ID of at most 255 bytes in the given format (see
 * {@link EventIdOptions}); without a format, any of the three room-version formats.
 */
export function isValidEventId(s: string, options: EventIdOptions = {}): boolean {
  if (!s.startsWith("$")) return false;
  const body = s.slice(1);
  switch (options.format) {
    case "v1":
      return isOpaqueWithDomain(s, "$");
    case "v3":
      return STANDARD_HASH.test(body);
    case "v4":
      return URL_SAFE_HASH.test(body);
    default:
      return STANDARD_HASH.test(body) || URL_SAFE_HASH.test(body) || isOpaqueWithDomain(s, "$");
  }
}

/** True if `s` is a room alias `#localpart:server_name` of at most 255 bytes. */
export function isValidRoomAlias(s: string): boolean {
  return isOpaqueWithDomain(s, "#");
}

/**
 * The server name of a sigilled identifier: everything after the first `:` (user IDs,
 * aliases, room IDs before v12, event IDs of v1/v2). Undefined when there is no `:` (v12 room
 * IDs, hash event IDs). The result is not validated.
 */
export function serverNameOf(id: string): string | undefined {
  const colon = id.indexOf(":");
  return colon < 0 ? undefined : id.slice(colon + 1);
}

/**
 * The localpart of a sigilled identifier: between the sigil and the first `:`, or everything
 * after the sigil when there is no `:`. The result is not validated.
 */
export function localpartOf(id: string): string {
  const colon = id.indexOf(":");
  return colon < 0 ? id.slice(1) : id.slice(1, colon);
}

/** Splits `&local:domain` (length-checked) into its parts; the localpart may be empty. */
function splitSigilled(s: string, sigil: string): [string, string] | undefined {
  if (!s.startsWith(sigil)) return undefined;
  const length = utf8ByteLength(s);
  if (length < 0 || length > MAX_IDENTIFIER_BYTES) return undefined;
  const colon = s.indexOf(":");
  if (colon < 0) return undefined;
  return [s.slice(1, colon), s.slice(colon + 1)];
}

/** `&opaque:server_name` with a non-empty opaque part free of NUL (lone surrogates excluded). */
function isOpaqueWithDomain(s: string, sigil: string): boolean {
  const parts = splitSigilled(s, sigil);
  if (parts === undefined) return false;
  const [localpart, server] = parts;
  return localpart.length > 0 && !localpart.includes("\0") && isValidServerName(server);
}

function isIpv4Literal(host: string): boolean {
  const match = IPV4.exec(host);
  return match !== null && match.slice(1).every((octet) => Number(octet) <= 255);
}

function isDnsName(host: string): boolean {
  // A dotted quad is an IPv4 literal, whose octets must be 0-255 (checked separately).
  return DNS_NAME.test(host) && !IPV4.test(host);
}

/** An IPv6 address as in RFC 3513 section 2.2 (hex groups, one `::`, optional IPv4 tail). */
function isIpv6Literal(address: string): boolean {
  if (!IPV6_CHARS.test(address)) return false;
  const halves = address.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === "" ? [] : half.split(":")));
  const all = groups.flat();
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const group = all[i];
    if (HEX_GROUP.test(group)) count += 1;
    else if (i === all.length - 1 && isIpv4Literal(group) && halves.at(-1) !== "") count += 2;
    else return false;
  }
  return halves.length === 2 ? count < 8 : count === 8;
}
