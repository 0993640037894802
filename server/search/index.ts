/**
 * The full-text index behind `POST /v3/search` (spec: "Server Side Search").
 *
 * Key: `["search", roomId, term, pos, field]` where `field` is one of `content.body`
 * (m.room.message), `content.name` (m.room.name), `content.topic` (m.room.topic). The value is
 * either one event's {@link SearchPosting} (at the event's position: the backfill and databases
 * written before blocks) or a {@link SearchBlock}: the postings of several events of the room
 * for that term, at the position of the first of them. The indexer (`indexer.ts`) writes
 * blocks for everything the events committed since its last write, so a common word costs one
 * key per write instead of one per event. Terms are lower-cased, NFKC-normalised runs of letters
 * and digits; a query term matches every indexed term it is a prefix of (a KV range read). Only
 * these three event types are indexed, so `m.room.encrypted` (and any other type) never is.
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

/** One event in a {@link SearchBlock}: position, event ID, term frequency, field length. */
export type BlockPosting = [pos: number, eventId: string, tf: number, len: number];

/** The postings of several events for one (room, term, field), in position order. */
export interface SearchBlock {
  postings: BlockPosting[];
}

/** Whether a stored index value is a block (else a single posting). */
export function isSearchBlock(value: SearchPosting | SearchBlock): value is SearchBlock {
  return Array.isArray((value as SearchBlock).postings);
}

/** What an event contributes to the index: its field, distinct terms with counts, length. */
export interface EventTerms {
  field: SearchField;
  /** Distinct terms (at most {@link MAX_TERMS_PER_EVENT}) with their frequency. */
  terms: Map<string, number>;
  /** Number of terms in the field. */
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
  // ASCII text (most messages) is its own NFKC form, and its letters, digits and marks are
  // [a-z0-9] once lower-cased: the same terms without the Unicode machinery.
  const words = ASCII.test(text)
    ? text.toLowerCase().matchAll(/[a-z0-9]+/g)
    : text.normalize("NFKC").toLowerCase().matchAll(/[\p{L}\p{N}\p{M}]+/gu);
  for (const match of words) out.push(match[0].slice(0, MAX_TERM_LENGTH));
  return out;
}

/** Printable ASCII and line breaks (other text takes the general path). */
const ASCII = /^[ -~\t\n\r]*$/;

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

/** The terms an event contributes, or null when it is not searchable. */
export function eventTerms(
  event: { type: string; stateKey?: string; content: Record<string, unknown> },
): EventTerms | null {
  const searchable = searchableText(event);
  if (!searchable) return null;
  const terms = tokenize(searchable.text);
  const counts = new Map<string, number>();
  for (const term of terms) {
    if (!counts.has(term) && counts.size >= MAX_TERMS_PER_EVENT) continue;
    counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  return { field: searchable.field, terms: counts, len: terms.length };
}

/** The index writes for a new event at `pos`, one key per term (none when not searchable). */
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
  const indexed = eventTerms(event);
  if (!indexed) return [];
  return [...indexed.terms].map(([term, tf]) => [
    searchKeys.posting(event.roomId, term, pos, indexed.field),
    { eventId: event.eventId, tf, len: indexed.len },
  ]);
}

/** Keys read back per term to find the block holding an event. */
const REMOVAL_SCAN = 32;

/**
 * The writes that take the event at `pos` out of the index when it is redacted (its text
 * leaves the index): its single postings are deleted, and the blocks holding it are rewritten
 * without it (deleted when it was their only event). The event's postings must be in KV (the
 * indexer has written them) and nothing else may change these blocks before the writes commit
 * (the pipeline holds the room's lock; the indexer only adds new blocks).
 */
export async function searchRemovals(
  kv: Deno.Kv,
  event: Parameters<typeof searchMutations>[0],
  pos: number,
): Promise<{ set: [Deno.KvKey, SearchBlock][]; remove: Deno.KvKey[] }> {
  const out: { set: [Deno.KvKey, SearchBlock][]; remove: Deno.KvKey[] } = { set: [], remove: [] };
  const indexed = eventTerms(event);
  if (!indexed) return out;
  for (const term of indexed.terms.keys()) {
    // Blocks of a (room, term) hold disjoint, rising position ranges, so the one holding `pos`
    // is the last one of the field that starts at or before it.
    const iter = kv.list<SearchPosting | SearchBlock>({
      start: ["search", event.roomId, term],
      end: ["search", event.roomId, term, pos + 1],
    }, { reverse: true, limit: REMOVAL_SCAN });
    for await (const entry of iter) {
      if (entry.key[4] !== indexed.field) continue;
      const value = entry.value;
      if (!isSearchBlock(value)) {
        // Single postings predate every block: one at `pos` is the event's, one below means
        // the event has no posting for this term.
        if (entry.key[3] === pos) out.remove.push(entry.key);
        break;
      }
      const kept = value.postings.filter(([p]) => p !== pos);
      if (kept.length === value.postings.length) break;
      if (kept.length === 0) out.remove.push(entry.key);
      else out.set.push([entry.key, { postings: kept }]);
      break;
    }
  }
  return out;
}
