/**
 * Server access control lists (`m.room.server_acl`, client-server API "Server Access Control
 * Lists"): whether a server may take part in a room. Pure.
 *
 * @module
 */

import { parseServerName } from "./identifiers.ts";

/** Turns an ACL glob (`*` any run, `?` one character) into a case-insensitive matcher. */
function globMatcher(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${source}$`, "i");
}

function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === "string").slice(0, 1000);
}

/**
 * Is `serverName` allowed by the ACL `content` (of the room's current m.room.server_acl; no
 * event allows every server)? The port is ignored; IP literals are refused unless
 * `allow_ip_literals` is not false; a deny match wins; then an allow match is needed.
 */
export function serverAllowedByAcl(content: Record<string, unknown>, serverName: string): boolean {
  const parsed = parseServerName(serverName);
  const host = parsed ? parsed.host : serverName;
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const isIpLiteral = /^\d{1,3}(\.\d{1,3}){3}$/.test(bare) || bare.includes(":");
  if (content.allow_ip_literals === false && isIpLiteral) return false;
  for (const glob of stringList(content.deny)) if (globMatcher(glob).test(bare)) return false;
  for (const glob of stringList(content.allow)) if (globMatcher(glob).test(bare)) return true;
  return false;
}
