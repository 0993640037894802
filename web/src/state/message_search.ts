/**
 * One search of the search panel: unencrypted rooms through the server's `/search` (category
 * `room_events`, message bodies, newest first, paged with `next_batch`), encrypted rooms in the
 * local index (`search_local.ts`), both merged by time. A search of one encrypted room never
 * goes to the server: the words someone looks for in an encrypted room are no business of the
 * server's either.
 *
 * Loaded with the panel's chunk.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import { type LocalSearchIndex, searchTerms } from "./search_local.ts";

/** Results asked of the server per page. */
export const SERVER_PAGE = 20;
/** Most local results shown. */
export const LOCAL_LIMIT = 200;
/** Longest search text. */
export const MAX_QUERY = 200;

/** A found message. */
export interface SearchHit {
  roomId: string;
  eventId: string;
  sender: string;
  ts: number;
  body: string;
  /** Found in this device's index of encrypted rooms. */
  local: boolean;
}

/** Where a search is (`localOnly`: the server failed, this device's index answered). */
export type SearchState = "idle" | "busy" | "done" | "localOnly" | "failed";

interface ServerResult {
  result?: {
    event_id?: unknown;
    room_id?: unknown;
    sender?: unknown;
    origin_server_ts?: unknown;
    content?: { body?: unknown };
  };
}

function serverHit(result: ServerResult): SearchHit | null {
  const event = result.result;
  if (!event) return null;
  const { event_id, room_id, sender, origin_server_ts, content } = event;
  if (typeof event_id !== "string" || typeof room_id !== "string") return null;
  if (typeof sender !== "string" || typeof origin_server_ts !== "number") return null;
  if (typeof content?.body !== "string") return null;
  return {
    roomId: room_id,
    eventId: event_id,
    sender,
    ts: origin_server_ts,
    body: content.body,
    local: false,
  };
}

/** Options of {@link MessageSearch}. */
export interface MessageSearchOptions {
  client: MatrixClient;
  /** This device's index of encrypted rooms (null: none here). */
  local: Promise<LocalSearchIndex | null>;
  /** One room, or null for every room. */
  roomId: string | null;
}

/** The search panel's model. */
export class MessageSearch {
  readonly #options: MessageSearchOptions;
  readonly #state = signal<SearchState>("idle");
  readonly #server = signal<readonly SearchHit[]>([]);
  readonly #local = signal<readonly SearchHit[]>([]);
  readonly #nextBatch = signal<string | null>(null);
  readonly #terms = signal<readonly string[]>([]);
  #query = "";
  #serial = 0;

  /** Idle, searching, done (perhaps on this device only) or failed. */
  readonly state: ReadonlySignal<SearchState> = computed(() => this.#state.value);
  /** The server has more results (`next_batch`). */
  readonly hasMore: ReadonlySignal<boolean> = computed(() => this.#nextBatch.value !== null);
  /** The words to mark in the results. */
  readonly terms: ReadonlySignal<readonly string[]> = computed(() => this.#terms.value);
  /**
   * The results, newest first. While the server has more pages, local results older than its
   * oldest one wait, so loading more never inserts results above ones already shown.
   */
  readonly results: ReadonlySignal<readonly SearchHit[]> = computed(() => {
    const server = this.#server.value;
    let local = this.#local.value;
    if (this.#nextBatch.value !== null && server.length > 0) {
      const oldest = server[server.length - 1].ts;
      local = local.filter((hit) => hit.ts >= oldest);
    }
    const seen = new Set<string>();
    return [...server, ...local]
      .filter((hit) => !seen.has(hit.eventId) && seen.add(hit.eventId))
      .sort((a, b) => b.ts - a.ts);
  });

  constructor(options: MessageSearchOptions) {
    this.#options = options;
  }

  /** The room searched is encrypted (only the local index is searched). */
  get encryptedRoom(): boolean {
    const { roomId, client } = this.#options;
    return roomId !== null && (client.getRoom(roomId)?.hasEncryptionStateEvent() ?? false);
  }

  /** The server is asked (every room, or an unencrypted one). */
  get usesServer(): boolean {
    return !this.encryptedRoom;
  }

  /** The local index is asked (every room, or an encrypted one). */
  get usesLocal(): boolean {
    return this.#options.roomId === null || this.encryptedRoom;
  }

  /** Searches for `text`. */
  async run(text: string): Promise<void> {
    const query = text.trim().slice(0, MAX_QUERY);
    const serial = ++this.#serial;
    this.#query = query;
    this.#server.value = [];
    this.#local.value = [];
    this.#nextBatch.value = null;
    this.#terms.value = searchTerms(query);
    if (this.#terms.value.length === 0) {
      this.#state.value = "idle";
      return;
    }
    this.#state.value = "busy";
    const [server, local] = await Promise.allSettled([
      this.usesServer ? this.#serverPage(serial, null) : null,
      this.usesLocal ? this.#searchLocal(serial) : null,
    ]);
    if (serial !== this.#serial) return;
    for (const outcome of [server, local]) {
      if (outcome.status === "rejected") console.warn("gemeng: the search failed", outcome.reason);
    }
    if (server.status === "fulfilled") this.#state.value = "done";
    // Offline, the messages on this device can still be searched.
    else if (this.usesLocal && local.status === "fulfilled") this.#state.value = "localOnly";
    else this.#state.value = "failed";
  }

  /** Fetches the server's next page. */
  async more(): Promise<void> {
    const batch = this.#nextBatch.value;
    if (batch === null || this.#state.value === "busy") return;
    const serial = this.#serial;
    this.#state.value = "busy";
    try {
      await this.#serverPage(serial, batch);
      if (serial === this.#serial) this.#state.value = "done";
    } catch (err) {
      console.warn("gemeng: the search failed", err);
      if (serial === this.#serial) this.#state.value = "failed";
    }
  }

  async #serverPage(serial: number, nextBatch: string | null): Promise<void> {
    const { client, roomId } = this.#options;
    const filter: Record<string, unknown> = { limit: SERVER_PAGE };
    if (roomId !== null) filter.rooms = [roomId];
    const response = await client.search(
      {
        body: {
          search_categories: {
            room_events: {
              search_term: this.#query,
              keys: ["content.body"],
              order_by: "recent",
              filter,
            },
          },
        },
        next_batch: nextBatch ?? undefined,
      } as Parameters<MatrixClient["search"]>[0],
    );
    if (serial !== this.#serial) return;
    const events = (response as {
      search_categories?: {
        room_events?: { results?: ServerResult[]; next_batch?: string; highlights?: string[] };
      };
    }).search_categories?.room_events;
    const hits = (events?.results ?? []).map(serverHit).filter((hit) => hit !== null);
    this.#server.value = [...this.#server.value, ...hits];
    this.#nextBatch.value = typeof events?.next_batch === "string" ? events.next_batch : null;
    const words = (events?.highlights ?? []).filter((word) => typeof word === "string");
    this.#terms.value = [...new Set([...this.#terms.value, ...words])];
  }

  async #searchLocal(serial: number): Promise<void> {
    const index = await this.#options.local;
    if (!index || serial !== this.#serial) return;
    const { roomId } = this.#options;
    const { entries } = await index.search(this.#query, {
      roomIds: roomId !== null ? new Set([roomId]) : undefined,
      limit: LOCAL_LIMIT,
    });
    if (serial !== this.#serial) return;
    this.#local.value = entries.map((entry) => ({
      roomId: entry.roomId,
      eventId: entry.eventId,
      sender: entry.sender,
      ts: entry.ts,
      body: entry.body,
      local: true,
    }));
  }
}

/** A text cut into runs, each marked when it is a word starting with one of `terms`. */
export function markTerms(
  text: string,
  terms: readonly string[],
): { text: string; mark: boolean }[] {
  const out: { text: string; mark: boolean }[] = [];
  if (terms.length === 0) return [{ text, mark: false }];
  let last = 0;
  for (const match of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = match[0].normalize("NFKC").toLowerCase();
    if (!terms.some((term) => word.startsWith(term))) continue;
    const start = match.index!;
    if (start > last) out.push({ text: text.slice(last, start), mark: false });
    out.push({ text: match[0], mark: true });
    last = start + match[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), mark: false });
  return out;
}
