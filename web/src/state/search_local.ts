/**
 * The local search index of encrypted rooms: the server holds only their ciphertext, so its
 * `/search` cannot find them. As this device decrypts messages (live ones from sync, history
 * it loads, events it fetches), the text of each message (`m.text`, `m.notice`, `m.emote`;
 * the newest edit's text) is kept in IndexedDB (`gemeng-search`) with its words, and searched
 * here. Nothing of it is ever sent anywhere. The database belongs to one account: opened by
 * another it is emptied first, and signing out deletes it.
 *
 * Loaded as its own chunk once the client runs (and by the search panel).
 *
 * @module
 */

import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";

/** The IndexedDB database of the local index. */
export const LOCAL_SEARCH_DB = "gemeng-search";
const MESSAGES = "messages";
const META = "meta";
/** Longest text kept per message. */
const MAX_BODY = 4000;
/** Most words indexed per message, and the longest word. */
const MAX_TERMS = 128;
const MAX_TERM_LENGTH = 40;
/** Most entries read for the first query word (a very common prefix stops there). */
const MAX_CANDIDATES = 5000;
/** How long decrypted messages gather before they are written in one transaction. */
const WRITE_DELAY_MS = 200;

/** One indexed message. */
export interface LocalEntry {
  eventId: string;
  roomId: string;
  sender: string;
  ts: number;
  body: string;
  terms: string[];
  /** The text is an edit's: an older original arriving later does not replace it. */
  edited?: boolean;
}

/**
 * The words of a text, as the server's index makes them: lower-cased NFKC runs of letters and
 * digits, each at most 40 characters, at most 128 distinct ones.
 */
export function searchTerms(text: string): string[] {
  const words = text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const out = new Set<string>();
  for (const word of words) {
    out.add(word.slice(0, MAX_TERM_LENGTH));
    if (out.size >= MAX_TERMS) break;
  }
  return [...out];
}

/** Drops a reply's fallback (the quoted lines before the answer). */
function withoutReplyFallback(body: string, content: Record<string, unknown>): string {
  const relates = content["m.relates_to"] as { "m.in_reply_to"?: unknown } | undefined;
  if (!relates?.["m.in_reply_to"] || !body.startsWith("> ")) return body;
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i].startsWith(">")) i++;
  return lines.slice(i).join("\n").trim();
}

const TEXT_TYPES = new Set(["m.text", "m.notice", "m.emote"]);

/** The entry for a decrypted event, with `replaces` set for an edit; null if not indexed. */
export function entryOf(event: MatrixEvent): Found | null {
  if (!event.isEncrypted() || event.isDecryptionFailure() || event.isRedacted()) return null;
  if (event.getType() !== "m.room.message") return null;
  const roomId = event.getRoomId();
  const eventId = event.getId();
  const sender = event.getSender();
  if (!roomId || !eventId || !sender || eventId.startsWith("~")) return null;
  const content = event.getOriginalContent() as Record<string, unknown>;
  const relation = content["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined;
  const replaces = relation?.rel_type === "m.replace" && typeof relation.event_id === "string";
  const source = replaces ? content["m.new_content"] as Record<string, unknown> : content;
  if (!source || !TEXT_TYPES.has(source.msgtype as string)) return null;
  if (typeof source.body !== "string") return null;
  const body = withoutReplyFallback(source.body, content).slice(0, MAX_BODY);
  const terms = searchTerms(body);
  if (terms.length === 0) return null;
  return {
    entry: {
      eventId: replaces ? relation!.event_id! : eventId,
      roomId,
      sender,
      ts: event.getTs(),
      body,
      terms,
      ...(replaces ? { edited: true } : {}),
    },
    replaces,
  };
}

/** A message to index, and whether it is an edit (its `eventId` is then the original's). */
export interface Found {
  entry: LocalEntry;
  replaces: boolean;
}

/**
 * What is stored after `found` arrives: an edit's text replaces its sender's own message; an
 * original keeps the text of an edit that came first (from the same sender).
 */
function merged(old: LocalEntry | undefined, found: Found): LocalEntry | undefined {
  const { entry, replaces } = found;
  if (!old) return entry;
  if (replaces) {
    return old.sender === entry.sender
      ? { ...old, body: entry.body, terms: entry.terms, edited: true }
      : old;
  }
  if (old.edited && old.sender === entry.sender) {
    return { ...entry, body: old.body, terms: old.terms, edited: true };
  }
  return entry;
}

function done(request: IDBRequest | IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    if (request instanceof IDBTransaction) {
      request.oncomplete = () => resolve();
      request.onerror = request.onabort = () => reject(request.error);
    } else {
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    }
  });
}

function result<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The local index of one account. */
export class LocalSearchIndex {
  readonly #db: IDBDatabase;
  /** Queued changes by `o` (original), `e` (edit) or `d` (deleted) and the event ID. */
  #pending = new Map<string, Found | null>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushing: Promise<void> = Promise.resolve();

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** Opens the index of `userId` (emptying one another account left). */
  static async open(factory: IDBFactory, userId: string): Promise<LocalSearchIndex> {
    const request = factory.open(LOCAL_SEARCH_DB, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      const messages = db.createObjectStore(MESSAGES, { keyPath: "eventId" });
      messages.createIndex("terms", "terms", { multiEntry: true });
      db.createObjectStore(META);
    };
    const db = await result(request);
    const tx = db.transaction([MESSAGES, META], "readwrite");
    const owner = await result(tx.objectStore(META).get("owner"));
    if (owner !== userId) {
      tx.objectStore(MESSAGES).clear();
      tx.objectStore(META).put(userId, "owner");
    }
    await done(tx);
    return new LocalSearchIndex(db);
  }

  /** Queues a decrypted event for the index (written shortly after, with others). */
  add(event: MatrixEvent): void {
    const found = entryOf(event);
    if (!found) return;
    this.#pending.set(`${found.replaces ? "e" : "o"}${found.entry.eventId}`, found);
    this.#schedule();
  }

  /** Takes a message out of the index (it was redacted). */
  remove(eventId: string): void {
    this.#pending.set(`d${eventId}`, null);
    this.#schedule();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => void this.flush(), WRITE_DELAY_MS);
  }

  /** Writes what is queued; settles when it is stored. */
  flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = new Map();
    if (batch.size === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(() => this.#write(batch)).catch((err) => {
      console.warn("gemeng: the local search index was not written", err);
    });
    return this.#flushing;
  }

  async #write(batch: Map<string, Found | null>) {
    const tx = this.#db.transaction(MESSAGES, "readwrite");
    const store = tx.objectStore(MESSAGES);
    const ids = [...new Set([...batch.keys()].map((key) => key.slice(1)))];
    // Read first, merge in memory, then write: the requests of one transaction then cannot
    // interleave (an edit and its original in the same batch).
    const stored = new Map<string, LocalEntry | undefined>();
    await Promise.all(ids.map(async (id) => stored.set(id, await result(store.get(id)))));
    for (const [key, found] of batch) {
      const id = key.slice(1);
      stored.set(id, found ? merged(stored.get(id), found) : undefined);
    }
    for (const [id, entry] of stored) {
      if (entry) store.put(entry);
      else store.delete(id);
    }
    await done(tx);
  }

  /**
   * Messages whose words start with every word of `query`, newest first; only in `roomIds`
   * when given.
   */
  async search(
    query: string,
    options: { roomIds?: ReadonlySet<string>; limit?: number } = {},
  ): Promise<{ entries: LocalEntry[]; terms: string[] }> {
    await this.flush();
    const terms = searchTerms(query).slice(0, 16);
    if (terms.length === 0) return { entries: [], terms };
    // The longest word narrows the candidates most.
    const first = [...terms].sort((a, b) => b.length - a.length)[0];
    const tx = this.#db.transaction(MESSAGES, "readonly");
    const range = IDBKeyRange.bound(first, `${first}\uffff`);
    const found = await result(
      tx.objectStore(MESSAGES).index("terms").getAll(range, MAX_CANDIDATES),
    ) as LocalEntry[];
    const seen = new Set<string>();
    const entries = found.filter((entry) => {
      if (seen.has(entry.eventId)) return false;
      seen.add(entry.eventId);
      if (options.roomIds && !options.roomIds.has(entry.roomId)) return false;
      return terms.every((term) => entry.terms.some((word) => word.startsWith(term)));
    });
    entries.sort((a, b) => b.ts - a.ts);
    return { entries: entries.slice(0, options.limit ?? 200), terms };
  }

  /** Closes the database (writing what is queued first). */
  async close(): Promise<void> {
    await this.flush();
    this.#db.close();
  }
}

/** Deletes the local index (signing out). */
export function deleteLocalSearch(factory: IDBFactory): Promise<void> {
  return done(factory.deleteDatabase(LOCAL_SEARCH_DB));
}

/**
 * Feeds the index from a client: every event it decrypts, and the redactions it sees. Events
 * decrypted before it started (the rooms' loaded timelines) are taken once at the start.
 * Returns the function that stops it.
 */
export function feedLocalSearch(index: LocalSearchIndex, client: MatrixClient): () => void {
  const onDecrypted = (event: MatrixEvent) => index.add(event);
  // This device's own messages are encrypted from their clear text, never decrypted: they are
  // taken when the server has them (their local echo then has the real event ID).
  const onEcho = (event: MatrixEvent) => {
    if (!event.status || event.status === "sent") index.add(event);
  };
  const onRedaction = (redaction: MatrixEvent) => {
    const target = redaction.event.redacts ??
      (redaction.getContent() as { redacts?: string }).redacts;
    if (typeof target === "string") index.remove(target);
  };
  // The SDK's event names live in its lazily loaded module; the strings are the same.
  client.on("Event.decrypted" as never, onDecrypted as never);
  client.on("Room.redaction" as never, onRedaction as never);
  client.on("Room.localEchoUpdated" as never, onEcho as never);
  for (const room of client.getRooms() as Room[]) {
    if (!room.hasEncryptionStateEvent()) continue;
    for (const event of room.getLiveTimeline().getEvents()) index.add(event);
  }
  return () => {
    client.off("Event.decrypted" as never, onDecrypted as never);
    client.off("Room.redaction" as never, onRedaction as never);
    client.off("Room.localEchoUpdated" as never, onEcho as never);
  };
}
