/**
 * Matching a search term against the index (`server/search/index.ts`): every query term must
 * match (as a prefix of an indexed term) in the same event; the rank weighs exact matches
 * over prefix matches, repeats, and short fields.
 *
 * @module
 */

import {
  isSearchBlock,
  type SearchBlock,
  type SearchField,
  searchKeys,
  type SearchPosting,
  tokenize,
} from "./index.ts";
import { indexerOf } from "./indexer.ts";

/** Most postings read per query term and room (a very common prefix stops here). */
export const MAX_POSTINGS_PER_TERM = 5000;
/** Most distinct query terms used. */
export const MAX_QUERY_TERMS = 16;

/** One matching event. */
export interface SearchHit {
  roomId: string;
  pos: number;
  eventId: string;
  field: SearchField;
  rank: number;
}

/** The distinct terms of a search term, in order. */
export function queryTerms(searchTerm: string): string[] {
  return [...new Set(tokenize(searchTerm))].slice(0, MAX_QUERY_TERMS);
}

/**
 * The events of `roomIds` matching all `terms` in one of `fields`, at positions `<= upto`,
 * and the indexed terms that matched (the response's `highlights`).
 */
export async function findMatches(
  kv: Deno.Kv,
  query: {
    roomIds: readonly string[];
    terms: readonly string[];
    fields: ReadonlySet<SearchField>;
    upto: number;
  },
): Promise<{ hits: SearchHit[]; highlights: Set<string> }> {
  const hits: SearchHit[] = [];
  const highlights = new Set<string>();
  if (query.terms.length === 0) return { hits, highlights };
  const indexer = indexerOf(kv);
  for (const roomId of query.roomIds) {
    // pos -> (query term index -> best score), plus what is needed to report the hit.
    const found = new Map<
      number,
      { eventId: string; field: SearchField; scores: number[]; words: Set<string> }
    >();
    for (let i = 0; i < query.terms.length; i++) {
      const term = query.terms[i];
      const posting = (
        word: string,
        pos: number,
        field: SearchField,
        p: { eventId: string; tf: number; len: number },
      ) => {
        if (pos > query.upto || !query.fields.has(field)) return;
        // Only events that matched every earlier term can still match.
        let hit = found.get(pos);
        if (i === 0 && !hit) {
          hit = { eventId: p.eventId, field, scores: [], words: new Set() };
          found.set(pos, hit);
        }
        if (!hit) return;
        const weight = word === term ? 1 : 0.5;
        const score = weight * (1 + Math.log(p.tf)) / Math.sqrt(p.len);
        hit.scores[i] = Math.max(hit.scores[i] ?? 0, score);
        hit.words.add(word);
      };
      // Postings still in memory first: one written meanwhile is then read from KV as well,
      // and counted once (by position).
      for (const p of indexer?.memoryPostings(roomId, term) ?? []) {
        posting(p.term, p.pos, p.field, p);
      }
      let read = 0;
      const iter = kv.list<SearchPosting | SearchBlock>(searchKeys.prefixRange(roomId, term), {
        limit: MAX_POSTINGS_PER_TERM,
      });
      for await (const entry of iter) {
        const word = entry.key[2] as string;
        const field = entry.key[4] as SearchField;
        const value = entry.value;
        if (isSearchBlock(value)) {
          for (const [pos, eventId, tf, len] of value.postings) {
            posting(word, pos, field, { eventId, tf, len });
          }
          read += value.postings.length;
        } else {
          posting(word, entry.key[3] as number, field, value);
          read++;
        }
        if (read >= MAX_POSTINGS_PER_TERM) break;
      }
      for (const [pos, hit] of found) if (hit.scores[i] === undefined) found.delete(pos);
      if (found.size === 0) break;
    }
    for (const [pos, hit] of found) {
      const rank = hit.scores.reduce((sum, s) => sum + s, 0);
      hits.push({ roomId, pos, eventId: hit.eventId, field: hit.field, rank });
      for (const word of hit.words) highlights.add(word);
    }
  }
  return { hits, highlights };
}
