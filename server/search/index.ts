/**
 * The full-text index behind `POST /v3/search` (spec: "Server Side Search"): one KV entry per
 * (room, term, event, field), written in the event's own commit by the event pipeline.
 *
 * Key: `["search", roomId, term, pos, field]` -> {@link SearchPosting} where `field` is one of
 * `content.body` (m.room.message), `content.name` (m.room.name), `content.topic`
 * (m.room.topic). Terms are lower-cased, NFKC-normalised runs of letters and digits; a query
 * term matches every indexed term it is a prefix of (a KV range read). Only these three event
 * types are indexed, so `m.room.encrypted` (and any other type) never is.
 *
 * @module
 */

/** Fields the spec lets a search look in, with the event type that carries each. */
export const SEARCH_FIELDS = {
  "content.body": "m.room.message",
  "content.name": "m.room.name",
  "content.topic": "m.room.topic",
} as const;

/** A searchable field. */
export type SearchField = keyof typeof SEARCH_FIELDS;

/** One indexed (term, event, field). */
export interface SearchPosting {
  eventId: string;
  /** How many times the term occurs in the field. */
  tf: number;
  /** Number of terms in the field (for ranking short matches higher). */
  len: number;
}

/** Longest term indexed (longer runs are cut). */
export const MAX_TERM_LENGTH = 40;
/** Most distinct terms indexed per event, to keep the event's commit within KV's limits. */
export const MAX_TERMS_PER_EVENT = 128;

/** Key builders of the search index. */
export const searchKeys = {
  posting: (roomId: string, term: string, pos: number, field: SearchField): Deno.KvKey => [
    "search",
    roomId,
    term,
    pos,
    field,
  ],
  /** The range of every term starting with `prefix` in a room. */
  prefixRange: (roomId: string, prefix: string): { start: Deno.KvKey; end: Deno.KvKey } => ({
    start: ["search", roomId, prefix],
    end: ["search", roomId, prefix + "\u{10FFFF}"],
  }),
} as const;

/** Splits text into normalised terms, in order (with repeats). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const match of text.normalize("NFKC").toLowerCase().matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    out.push(match[0].slice(0, MAX_TERM_LENGTH));
  }
  return out;
}

/** The searchable field and text of an event, or null when it is not indexed. */
export function searchableText(
  event: { type: string; stateKey?: string; content: Record<string, unknown> },
): { field: SearchField; text: string } | null {
  let field: SearchField;
  if (event.type === "m.room.message" && event.stateKey === undefined) field = "content.body";
  else if (event.type === "m.room.name" && event.stateKey === "") field = "content.name";
  else if (event.type === "m.room.topic" && event.stateKey === "") field = "content.topic";
  else return null;
  const text = event.content[field.slice("content.".length)];
  return typeof text === "string" && text !== "" ? { field, text } : null;
}

/** The index writes for a new event at `pos` (none for events that are not searchable). */
export function searchMutations(
  event: {
    eventId: string;
    roomId: string;
    type: string;
    stateKey?: string;
    content: Record<string, unknown>;
  },
  pos: number,
): [Deno.KvKey, SearchPosting][] {
  const searchable = searchableText(event);
  if (!searchable) return [];
  const terms = tokenize(searchable.text);
  const counts = new Map<string, number>();
  for (const term of terms) {
    if (!counts.has(term) && counts.size >= MAX_TERMS_PER_EVENT) continue;
    counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  return [...counts].map(([term, tf]) => [
    searchKeys.posting(event.roomId, term, pos, searchable.field),
    { eventId: event.eventId, tf, len: terms.length },
  ]);
}

/** The postings to delete when the event at `pos` is redacted (its text leaves the index). */
export function searchRemovals(
  event: Parameters<typeof searchMutations>[0],
  pos: number,
): Deno.KvKey[] {
  return searchMutations(event, pos).map(([key]) => key);
}
