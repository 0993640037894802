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

/** Parses a dotted IPv4 or an IPv6 address (brackets allowed); null when it is neither. */
export function parseIp(text: string): IpAddress | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseIpv4(bare);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = bare.includes(":") ? parseIpv6(bare) : null;
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

/** Special-purpose IPv6 ranges. Ranges that embed an IPv4 address are checked through it. */
const FORBIDDEN_V6 = ranges([
  "::/128",
  "::1/128",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
]);

/** IPv6 ranges whose last (or, for 6to4, second) 32 bits are an IPv4 address. */
const EMBEDDING_V4 = ranges(["::ffff:0:0/96", "64:ff9b::/96", "::/96"]);
const SIX_TO_FOUR = ranges(["2002::/16"])[0];

/** The IPv4 address inside an IPv4-mapped, NAT64, compatible or 6to4 IPv6 address. */
function embeddedIpv4(address: IpAddress): IpAddress | null {
  if (address.version !== 6) return null;
  if (EMBEDDING_V4.some((range) => inRange(address, range))) {
    return { version: 4, bytes: address.bytes.slice(12, 16) };
  }
  if (inRange(address, SIX_TO_FOUR)) return { version: 4, bytes: address.bytes.slice(2, 6) };
  return null;
}

/**
 * Whether the server may connect to `address`: false for special-purpose addresses (loopback,
 * private, link-local, ...) unless one of `allowed` contains the address.
 */
export function isAddressAllowed(address: IpAddress, allowed: readonly IpRange[]): boolean {
  if (allowed.some((range) => inRange(address, range))) return true;
  const v4 = embeddedIpv4(address);
  if (v4) return isAddressAllowed(v4, allowed);
  const forbidden = address.version === 4 ? FORBIDDEN_V4 : FORBIDDEN_V6;
  return !forbidden.some((range) => inRange(address, range));
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
