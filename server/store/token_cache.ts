/**
 * The in-memory cache of valid access tokens (per KV handle, i.e. per server instance) that
 * spares most authenticated requests a read of their token, and what keeps it honest.
 *
 * In this process: every writer that deletes or replaces a token (server/store/devices.ts)
 * first marks it as being revoked, so no lookup caches it again until the change has long
 * committed, and a cached copy is dropped: a logged-out token is refused at once.
 *
 * Other processes on the same data directory (the CLI's `user reset-password`) cannot reach this
 * memory, and Deno KV's `watch` does not see their writes. So every commit that deletes or
 * replaces tokens also writes its process's revocation mark, `["meta", "token_epoch", writer]`
 * (a fresh number per commit; a plain set, so concurrent commits never conflict on it). A running
 * server reads the other processes' marks every 100 ms ({@link watchTokenRevocations}); when they
 * changed it empties the cache and then acknowledges the marks it has seen under
 * `["meta", "token_epoch_seen", watcher]`. The CLI, after a revocation, waits until every running
 * server acknowledged it ({@link awaitRevocationsSeen}) before it reports the change done: from
 * then on the old token is refused on the next request, and no request pays a storage read for a
 * cached token. A token record is cached only if the marks did not change while it was read. A
 * process's own marks are left out, so its own logouts and refreshes (handled by the first rule)
 * do not empty its cache. Without a watcher (no server running on this KV handle) nothing is
 * cached.
 *
 * @module
 */

import { randomToken } from "../../crypto/tokens.ts";
import { type AccessTokenRecord, accountKeys } from "./kv_store.ts";

/** How long a looked-up token is trusted without reading its record again. */
export const TOKEN_CACHE_TTL_MS = 30_000;
/** How long a token being revoked is never cached (its commit lands well within this). */
const REVOKING_MS = 120_000;
const TOKEN_CACHE_ENTRIES = 10_000;
/**
 * How long a process's revocation mark is kept after its last write. It must be well above
 * {@link TOKEN_CACHE_TTL_MS}: a reader that never saw a mark come and go is still safe because
 * every token it cached before the revocation has expired from its cache by then. Its
 * disappearance reads as a change (one emptied cache); the lifetime bounds how many marks of
 * past processes (CLI runs, restarts) each read lists.
 */
const EPOCH_MARK_LIFETIME_MS = 10 * 60_000;

/** How often a running server reads the other processes' revocation marks. */
const WATCH_INTERVAL_MS = 100;
/** How long a server's acknowledgement lives unless refreshed (every third of that). */
const SEEN_LIFETIME_MS = 6_000;

/** This process's name in the revocation marks (module state: one per JS isolate). */
const WRITER_ID = randomToken(9);
/** Watchers started in this process, for unique acknowledgement keys. */
let watchers = 0;
/** The last number this process wrote into its revocation mark. */
let writerSequence = 0;

/**
 * Tokens being deleted or replaced, by hash, until when they must not be cached. Shared by the
 * caches of every KV handle: the writers that build a commit (`addDeviceSession`) do not know
 * the handle, and a token's hash names it uniquely anyway.
 */
const revoking = new Map<string, number>();

function isRevoking(hash: string): boolean {
  const until = revoking.get(hash);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  revoking.delete(hash);
  return false;
}

/** Marks a token as being revoked: call before the commit that deletes or replaces it. */
function revokeToken(hash: string): void {
  revoking.delete(hash);
  revoking.set(hash, Date.now() + REVOKING_MS);
  // Insertion order is expiry order: drop the marks that have run out.
  for (const [key, until] of revoking) {
    if (until > Date.now()) break;
    revoking.delete(key);
  }
}

/**
 * Adds to `op` this process's revocation mark, telling the token caches of other processes that
 * tokens changed. A plain set without a check: concurrent commits never conflict on it.
 */
function addRevocationMark(op: Deno.AtomicOperation): void {
  op.set(accountKeys.tokenEpoch(WRITER_ID), ++writerSequence, {
    expireIn: EPOCH_MARK_LIFETIME_MS,
  });
}

/** The other processes' revocation marks as one comparable string (`writer=number;` pairs). */
async function readForeignMarks(kv: Deno.Kv): Promise<string> {
  let marks = "";
  for await (const entry of kv.list<number>({ prefix: accountKeys.tokenEpochs() })) {
    const writer = entry.key[entry.key.length - 1];
    if (writer !== WRITER_ID) marks += `${String(writer)}=${entry.value};`;
  }
  return marks;
}

/** Valid access tokens by hash and devices' last seen times, for one KV handle. */
export class TokenCache {
  readonly #tokens = new Map<string, { record: AccessTokenRecord; until: number }>();
  readonly #lastSeen = new Map<string, number>();
  /**
   * Other processes' marks as last read by the watcher; every cached token was read while they
   * held. Null until a watcher's first read (nothing is cached before).
   */
  #marks: string | null = null;

  /** A cached record, unless it timed out or the token is being revoked. */
  get(hash: string): AccessTokenRecord | null {
    const hit = this.#tokens.get(hash);
    if (!hit) return null;
    if (hit.until <= Date.now() || isRevoking(hash)) {
      this.#tokens.delete(hash);
      return null;
    }
    return hit.record;
  }

  /** The marks the cache is filled under: take them before reading a token, for `remember`. */
  get marks(): string | null {
    return this.#marks;
  }

  /**
   * Caches a record just read from KV, unless the token is being revoked or the marks changed
   * since `marks` was taken (the record may predate a revocation by another process).
   */
  remember(hash: string, record: AccessTokenRecord, marks: string | null): void {
    if (marks === null || marks !== this.#marks || isRevoking(hash)) return;
    this.#tokens.delete(hash);
    this.#tokens.set(hash, { record, until: Date.now() + TOKEN_CACHE_TTL_MS });
    bound(this.#tokens, TOKEN_CACHE_ENTRIES);
  }

  /**
   * Takes the other processes' marks as just read: a change empties the cache.
   *
   * @returns whether they changed
   */
  applyMarks(marks: string): boolean {
    if (marks === this.#marks) return false;
    this.#tokens.clear();
    this.#marks = marks;
    return true;
  }

  /** The last seen time this process last read or wrote for a device. */
  lastSeen(deviceKey: string): number | undefined {
    return this.#lastSeen.get(deviceKey);
  }

  /** Remembers (or, with null, forgets) a device's last seen time. */
  setLastSeen(deviceKey: string, ts: number | null): void {
    this.#lastSeen.delete(deviceKey);
    if (ts === null) return;
    this.#lastSeen.set(deviceKey, ts);
    bound(this.#lastSeen, TOKEN_CACHE_ENTRIES);
  }
}

function bound(map: Map<string, unknown>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value!);
}

const tokenCaches = new WeakMap<Deno.Kv, TokenCache>();

/** The token cache of a KV handle. */
export function tokenCache(kv: Deno.Kv): TokenCache {
  let cache = tokenCaches.get(kv);
  if (!cache) {
    cache = new TokenCache();
    tokenCaches.set(kv, cache);
  }
  return cache;
}

/**
 * Keeps a token out of this process's caches and adds to `op` this process's revocation mark,
 * for the caches of other processes: call while building any commit that deletes or replaces
 * an access token, before it commits.
 */
export function addTokenRevocation(op: Deno.AtomicOperation, tokenHash: string): void {
  revokeToken(tokenHash);
  addRevocationMark(op);
}

/** The number a marks string (`writer=number;...`) holds for `writer`, or 0. */
function markOf(marks: string, writer: string): number {
  for (const pair of marks.split(";")) {
    const eq = pair.lastIndexOf("=");
    if (eq > 0 && pair.slice(0, eq) === writer) return Number(pair.slice(eq + 1)) || 0;
  }
  return 0;
}

/** A running server's acknowledgement: the marks it last applied, and when it said so. */
interface SeenRecord {
  marks: string;
  at: number;
}

/** A running watcher; `stop()` ends it and withdraws its acknowledgement. */
export interface RevocationWatch {
  stop(): Promise<void>;
}

/**
 * Keeps this KV handle's token cache in step with other processes' revocations (see the module
 * documentation): call once per running server, and `stop()` before the KV closes.
 */
export function watchTokenRevocations(kv: Deno.Kv): RevocationWatch {
  const cache = tokenCache(kv);
  const seenKey = accountKeys.tokenEpochSeen(`${WRITER_ID}.${++watchers}`);
  let stopped = false;
  let lastAck = 0;
  const acknowledge = async (marks: string) => {
    const seen: SeenRecord = { marks, at: Date.now() };
    await kv.set(seenKey, seen, { expireIn: SEEN_LIFETIME_MS });
    lastAck = seen.at;
  };
  const tick = async () => {
    const marks = await readForeignMarks(kv);
    const changed = cache.applyMarks(marks);
    // The acknowledgement follows the emptied cache, and is refreshed before it expires.
    if (changed || Date.now() - lastAck > SEEN_LIFETIME_MS / 3) await acknowledge(marks);
  };
  // Announced before the first read (acknowledging nothing yet), so a revocation committed
  // while the first marks are read and applied is waited for, not missed.
  let running: Promise<void> = acknowledge("").then(tick).catch(() => {});
  let busy = true;
  running = running.finally(() => busy = false);
  // An interval, not a chain of timeouts: a slow read skips beats instead of piling up.
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    running = tick().catch(() => {}).finally(() => busy = false);
  }, WATCH_INTERVAL_MS);
  Deno.unrefTimer(timer);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await kv.delete(seenKey).catch(() => {});
    },
  };
}

/**
 * Waits until every running server on this KV acknowledged this process's latest revocation
 * (at once when this process revoked nothing or no server runs).
 *
 * @returns the servers that had not acknowledged it when `timeoutMs` ran out (none normally)
 */
export async function awaitRevocationsSeen(
  kv: Deno.Kv,
  options: { timeoutMs?: number } = {},
): Promise<string[]> {
  // What this process's mark holds on this KV: the last revocation that committed here.
  const wanted = (await kv.get<number>(accountKeys.tokenEpoch(WRITER_ID))).value ?? 0;
  if (wanted === 0) return [];
  const deadline = Date.now() + (options.timeoutMs ?? 3_000);
  while (true) {
    const pending: string[] = [];
    const now = Date.now();
    for await (const entry of kv.list<SeenRecord>({ prefix: accountKeys.tokenEpochsSeen() })) {
      const watcher = String(entry.key[entry.key.length - 1]);
      if (watcher.startsWith(`${WRITER_ID}.`)) continue; // a server in this process
      // KV returns expired entries until its sweep: an old one is a server that is gone.
      if (now - entry.value.at > SEEN_LIFETIME_MS) continue;
      if (markOf(entry.value.marks, WRITER_ID) < wanted) pending.push(watcher);
    }
    if (pending.length === 0 || Date.now() >= deadline) return pending;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
