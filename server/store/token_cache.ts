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
 * (a fresh number per commit; a plain set, so concurrent commits never conflict on it). A lookup
 * that hits the cache first reads the other processes' marks with a read that started after the
 * lookup began, shared by all lookups that arrive while it is pending; when they differ from
 * those the cache was filled under, the cache is emptied. A process's own marks are left out of
 * that comparison, so its own logouts and refreshes (handled by the first rule) do not empty its
 * cache.
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

/** This process's name in the revocation marks (module state: one per JS isolate). */
const WRITER_ID = randomToken(9);
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

/** The other processes' revocation marks as one comparable string. */
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
   * Other processes' marks as last read; every cached token was read after a read that saw
   * them. Null until the first read completes (nothing is cached before).
   */
  #marks: string | null = null;
  /** The pending read of the marks, if any. */
  #reading: Promise<void> | null = null;
  /** The read that starts once `#reading` is done; it serves lookups that came meanwhile. */
  #queued: Promise<void> | null = null;

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
   * Reads the other processes' revocation marks with a read that starts after this call (shared
   * with the calls that come while it is pending) and empties the cache if they changed.
   */
  revalidate(kv: Deno.Kv): Promise<void> {
    if (this.#queued) return this.#queued;
    if (!this.#reading) return this.#read(kv);
    // The pending read may have started before a revocation this caller must see.
    const queued = this.#reading.then(() => {
      this.#queued = null;
      return this.#read(kv);
    });
    this.#queued = queued;
    return queued;
  }

  /** Starts a read of the marks unless one is pending (to fill the cache for the first time). */
  prime(kv: Deno.Kv): void {
    if (!this.#reading && !this.#queued) this.#read(kv).catch(() => {});
  }

  #read(kv: Deno.Kv): Promise<void> {
    const read = readForeignMarks(kv).then((marks) => {
      if (marks !== this.#marks) {
        this.#tokens.clear();
        this.#marks = marks;
      }
    });
    const settled: Promise<void> = read.catch(() => {}).then(() => {
      if (this.#reading === settled) this.#reading = null;
    });
    this.#reading = settled;
    return read;
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
