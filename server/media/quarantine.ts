/**
 * Quarantined media: marked by a server admin as not to be served. The bytes stay (an admin
 * can lift the quarantine); downloads and thumbnails of a quarantined `mxc://` answer 404 to
 * clients and to other servers, and a quarantined remote medium is not fetched.
 *
 * Key: `["media_quarantine", origin, mediaId]` -> {@link QuarantineRecord}. It may name a
 * medium this server has not stored (yet): remote media can be quarantined before anyone
 * fetches them.
 *
 * @module
 */

import { notFound } from "../errors.ts";

/** Who quarantined a medium, and when. */
export interface QuarantineRecord {
  userId: string;
  ts: number;
}

/** `["media_quarantine", origin, mediaId]`. */
export function quarantineKey(origin: string, mediaId: string): Deno.KvKey {
  return ["media_quarantine", origin, mediaId];
}

/** Who quarantined the medium, or null when it is not quarantined. */
export async function quarantinedBy(
  kv: Deno.Kv,
  origin: string,
  mediaId: string,
): Promise<string | null> {
  return (await kv.get<QuarantineRecord>(quarantineKey(origin, mediaId))).value?.userId ?? null;
}

/** Quarantines media (`by` the admin) or lifts their quarantine (`by` null); returns how many changed. */
export async function setQuarantine(
  kv: Deno.Kv,
  media: readonly (readonly [string, string])[],
  by: string | null,
): Promise<number> {
  let changed = 0;
  for (const [origin, mediaId] of media) {
    const key = quarantineKey(origin, mediaId);
    const current = await kv.get<QuarantineRecord>(key);
    if (by !== null && current.value === null) {
      const record: QuarantineRecord = { userId: by, ts: Date.now() };
      if ((await kv.atomic().check(current).set(key, record).commit()).ok) changed++;
    } else if (by === null && current.value !== null) {
      if ((await kv.atomic().check(current).delete(key).commit()).ok) changed++;
    }
  }
  return changed;
}

/** @throws {MatrixError} 404 M_NOT_FOUND for a quarantined medium */
export async function refuseQuarantined(
  hs: { kv: Deno.Kv },
  origin: string,
  mediaId: string,
): Promise<void> {
  if (await quarantinedBy(hs.kv, origin, mediaId)) throw notFound("Media not found");
}

/** The `mxc://` URIs in an event's content (any field, a few levels deep), as [origin, mediaId]. */
export function mxcUrisIn(content: unknown, depth = 0): [string, string][] {
  if (depth > 6) return [];
  if (typeof content === "string") {
    const match = /^mxc:\/\/([^/]{1,255})\/([A-Za-z0-9_-]{1,255})$/.exec(content);
    return match ? [[match[1], match[2]]] : [];
  }
  if (typeof content !== "object" || content === null) return [];
  const values = Array.isArray(content) ? content : Object.values(content);
  return values.flatMap((value) => mxcUrisIn(value, depth + 1));
}
