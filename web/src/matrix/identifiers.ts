/**
 * The grammar of Matrix identifiers the app reads from what people type (spec: Appendices,
 * "Identifier Grammar"): server names, and the server part of an ID.
 *
 * @module
 */

const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;

/**
 * Whether `text` is a server name: a DNS name, an IPv4 address or a bracketed IPv6 address,
 * with an optional port (spec: "Server Name").
 */
export function isServerName(text: string): boolean {
  const match = /^(.*?)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return false;
  const [, host, port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  return DNS_NAME.test(host) || IPV6_LITERAL.test(host);
}

/** The server part of a user ID, alias or room ID (after the first colon), or null. */
export function serverNameOf(id: string): string | null {
  const colon = id.indexOf(":");
  if (colon < 0) return null;
  const server = id.slice(colon + 1);
  return isServerName(server) ? server : null;
}
