/**
 * IP addresses and CIDR ranges for URL previews: which addresses the server refuses to connect
 * to (loopback, private, link-local, multicast, documentation and other special-purpose ranges),
 * unless the operator allowed a range explicitly.
 *
 * @module
 */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export interface IpAddress {
  readonly version: 4 | 6;
  readonly bytes: Uint8Array;
}

/** An address range: the first `prefix` bits of `base` are fixed. */
export interface IpRange {
  readonly base: IpAddress;
  readonly prefix: number;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | null {
  let source = text;
  let tail: Uint8Array | null = null;
  const lastColon = source.lastIndexOf(":");
  if (source.includes(".", lastColon)) {
    tail = parseIpv4(source.slice(lastColon + 1));
    if (!tail) return null;
    source = source.slice(0, lastColon + 1) + "0:0";
  }
  const halves = source.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string) => part === "" ? [] : part.split(":");
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return null;
    const n = parseInt(groups[i], 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/**
 * Parses a dotted IPv4 or an IPv6 address; null when it is neither. Brackets (`[::1]`, as in
 * URLs) and an IPv6 zone ID (`fe80::1%eth0`, or `%25eth0` as URLs escape it) are accepted; the
 * zone does not change which range the address is in, so it is dropped.
 */
export function parseIp(text: string): IpAddress | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseIpv4(bare);
  if (v4) return { version: 4, bytes: v4 };
  if (!bare.includes(":")) return null;
  const percent = bare.indexOf("%");
  if (percent >= 0 && !/^%[0-9A-Za-z._~%-]+$/.test(bare.slice(percent))) return null;
  const v6 = parseIpv6(percent < 0 ? bare : bare.slice(0, percent));
  return v6 ? { version: 6, bytes: v6 } : null;
}

/** Parses `address/prefix` (or a bare address, a range of one); null when malformed. */
export function parseCidr(text: string): IpRange | null {
  const slash = text.indexOf("/");
  const base = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!base) return null;
  const max = base.version === 4 ? 32 : 128;
  if (slash < 0) return { base, prefix: max };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { base, prefix } : null;
}

/** Whether `address` lies in `range` (an IPv4 range never matches an IPv6 address). */
export function inRange(address: IpAddress, range: IpRange): boolean {
  if (address.version !== range.base.version) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address.bytes[i] & mask) !== (range.base.bytes[i] & mask)) return false;
  }
  return true;
}

function ranges(list: string[]): IpRange[] {
  return list.map((text) => {
    const range = parseCidr(text);
    if (!range) throw new Error(`bad built-in range ${text}`);
    return range;
  });
}

/** Special-purpose IPv4 ranges (RFC 6890 and friends): never fetched unless allowed. */
const FORBIDDEN_V4 = ranges([
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
]);

/**
 * Special-purpose IPv6 ranges (RFC 6890, the IANA registry). The forms that carry an IPv4
 * address are checked through it as well (see {@link embeddedIpv4}); the local-use NAT64
 * prefix and Teredo are refused whatever they carry (neither is reachable from the internet
 * as such, and local-use NAT64 may place the IPv4 address at several offsets).
 */
const FORBIDDEN_V6 = ranges([
  "::/128",
  "::1/128",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "3fff::/20",
  "5f00::/16",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
]);

/** IPv6 ranges whose last 32 bits are an IPv4 address. */
const LOW_32_V4 = ranges([
  "::ffff:0:0/96", // IPv4-mapped (RFC 4291)
  "::ffff:0:0:0/96", // IPv4-translated (RFC 2765)
  "::/96", // IPv4-compatible, deprecated (RFC 4291)
  "64:ff9b::/96", // well-known NAT64 prefix (RFC 6052)
  "64:ff9b:1::/96", // local-use NAT64 prefix used as a /96 (RFC 8215)
]);
const SIX_TO_FOUR = ranges(["2002::/16"])[0];
const TEREDO = ranges(["2001::/32"])[0];

/**
 * Every IPv4 address an IPv6 address carries: the last 32 bits of the mapped, translated,
 * compatible and NAT64 forms, bits 16-47 of 6to4 (RFC 3056), the server (bits 32-63) and the
 * inverted client address (last 32 bits) of Teredo (RFC 4380), and the last 32 bits of an
 * ISATAP interface ID (`[0-3]00:5efe:a.b.c.d`, RFC 5214) under any prefix.
 */
export function embeddedIpv4(address: IpAddress): IpAddress[] {
  if (address.version !== 6) return [];
  const bytes = address.bytes;
  const at = (offset: number, invert = false): IpAddress => {
    const v4 = bytes.slice(offset, offset + 4);
    if (invert) { for (let i = 0; i < 4; i++) v4[i] ^= 0xff; }
    return { version: 4, bytes: v4 };
  };
  const out: IpAddress[] = [];
  if (LOW_32_V4.some((range) => inRange(address, range))) out.push(at(12));
  if (inRange(address, SIX_TO_FOUR)) out.push(at(2));
  if (inRange(address, TEREDO)) out.push(at(4), at(12, true));
  const isatap = (bytes[8] & 0xfc) === 0 && bytes[9] === 0 && bytes[10] === 0x5e &&
    bytes[11] === 0xfe;
  if (isatap) out.push(at(12));
  return out;
}

/**
 * Whether the server may connect to `address`: false for special-purpose addresses (loopback,
 * private, link-local, ...) unless one of `allowed` contains the address. An IPv6 address
 * that carries IPv4 addresses is allowed only when each of them is: connecting to it reaches
 * (or is routed through) that IPv4 host.
 */
export function isAddressAllowed(address: IpAddress, allowed: readonly IpRange[]): boolean {
  if (allowed.some((range) => inRange(address, range))) return true;
  if (address.version === 4) return !FORBIDDEN_V4.some((range) => inRange(address, range));
  if (embeddedIpv4(address).some((v4) => !isAddressAllowed(v4, allowed))) return false;
  return !FORBIDDEN_V6.some((range) => inRange(address, range));
}

/** Formats an address: dotted IPv4, or eight hex groups for IPv6. */
export function formatIp(address: IpAddress): string {
  if (address.version === 4) return [...address.bytes].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((address.bytes[i] << 8) | address.bytes[i + 1]).toString(16));
  }
  return groups.join(":");
}
