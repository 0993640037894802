/**
 * Gives memory back to the operating system once a burst of load is over.
 *
 * Three things keep a server above its idle size after a burst, and each is undone here once
 * the server has been idle for a moment after serving requests (once per burst):
 *
 * - the in-memory caches filled up to their load bounds (tens of MB of events and state): the
 *   caches made with an idle bound drop their least recently used entries down to it
 *   (`trimIdleCaches`, server/rooms/lru.ts);
 * - the V8 heap grew for the burst and its freed pages stay committed until V8's memory reducer
 *   notices the quiet, several seconds later (or never, if one GC cycle already passed): when
 *   the process runs with `--expose-gc-as=gemengGc` (deno.json's V8 flags) and the heap is
 *   well above what it was after the last trim, a full collection that compacts and returns
 *   pages runs now;
 * - memory the storage engine and the HTTP layer allocated with the C allocator and freed
 *   again: glibc keeps it in its arenas (a node that took one burst of 100,000 requests stayed
 *   some 100 MB above its idle size for good); `malloc_trim(0)` hands those pages back.
 *
 * Where the C library is not glibc, or the process may not load native libraries, the last step
 * is skipped.
 *
 * @module
 */

import { trimIdleCaches } from "./rooms/lru.ts";

/** Milliseconds without a request after which memory is returned. */
const IDLE_MS = 2_000;
/**
 * The same for the first requests after start: their garbage (functions compiled on first use,
 * start-up work) is a one-off, so the server settles to its idle size at once.
 */
const FIRST_IDLE_MS = 250;
/** How often activity is looked at. */
const CHECK_MS = 250;
/** Heap growth (committed bytes) since the last trim that is worth a full collection. */
const HEAP_GROWTH_FOR_GC = 8 * 1024 * 1024;
/** Cache bytes dropped that are worth a full collection. */
const DROPPED_FOR_GC = 1024 * 1024;

/** The global name deno.json's `--expose-gc-as` flag gives V8's collection function. */
export const GC_GLOBAL = "gemengGc";

type GcFunction = (options?: { type?: string; execution?: string; flavor?: string }) => void;

/** Options of {@link trimMemoryNow}. */
export interface TrimOptions {
  /** Collect even if the heap did not grow much (the first quiet moment after start). */
  collect?: boolean;
  /** glibc's `malloc_trim` (loaded on first use by default; null to skip it). */
  mallocTrim?: ((pad: number) => number) | null;
}

/** Heap committed after the last trim (or at the first). */
let heapAfterTrim = 0;

/**
 * One trim now: caches down to their idle bounds, a compacting collection when the heap grew
 * (and V8 exposes one), then glibc's free memory back to the system. Also called once when the
 * server has started, so its idle size does not wait for V8's memory reducer.
 */
export function trimMemoryNow(options: TrimOptions = {}): void {
  const dropped = trimIdleCaches();
  const gc = (globalThis as Record<string, unknown>)[GC_GLOBAL] as GcFunction | undefined;
  const heap = Deno.memoryUsage().heapTotal;
  if (
    typeof gc === "function" &&
    (options.collect || heapAfterTrim === 0 || dropped >= DROPPED_FOR_GC ||
      heap - heapAfterTrim >= HEAP_GROWTH_FOR_GC)
  ) {
    // "last-resort" is V8's memory-reducing full collection: it compacts and uncommits pages.
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
  }
  heapAfterTrim = Deno.memoryUsage().heapTotal;
  const mallocTrim = options.mallocTrim === undefined ? loadMallocTrimOnce() : options.mallocTrim;
  mallocTrim?.(0);
}

let mallocTrimLoaded: ((pad: number) => number) | null | undefined;

/** Whether glibc's `malloc_trim` could be loaded (Linux with glibc, FFI allowed). */
export function mallocTrimAvailable(): boolean {
  return loadMallocTrimOnce() !== null;
}

function loadMallocTrimOnce(): ((pad: number) => number) | null {
  if (mallocTrimLoaded === undefined) mallocTrimLoaded = loadMallocTrim();
  return mallocTrimLoaded;
}

/** Loads glibc's `malloc_trim`, or null where it cannot be had. */
function loadMallocTrim(): ((pad: number) => number) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return (pad) => lib.symbols.malloc_trim(BigInt(pad));
  } catch {
    return null;
  }
}

/** Options of {@link startIdleMemoryTrim}. */
export interface IdleTrimOptions {
  /** How many requests were served so far (any counter that grows with activity). */
  activity: () => number;
  /** Idle time before trimming, in ms. */
  idleMs?: number;
  /** Idle time before the first trim (after the first requests served), in ms. */
  firstIdleMs?: number;
  /** The trim itself (tests); the default is {@link trimMemoryNow}. `first`: the first one. */
  trim?: (first: boolean) => void;
  /**
   * CPU time the process used so far, in ms (default: `/proc/self/stat` on Linux). A check
   * interval with more than a tenth of it busy counts as activity: one long request (a large
   * initial sync) starts no new request while it works, yet it is no quiet moment.
   */
  cpuMs?: () => number | null;
}

/** Share of a check interval spent on CPU above which the process is not idle. */
const BUSY_SHARE = 0.1;

/** CPU time (user + system) of this process in ms, from `/proc/self/stat`; null elsewhere. */
export function processCpuMs(): number | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Fields after the command name (which may contain spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** A running trimmer; `stop()` ends its timer. */
export interface IdleMemoryTrim {
  /** How many times memory was trimmed. */
  readonly trims: number;
  stop(): void;
}

/**
 * Watches `activity` and trims once each time the server goes idle after serving requests.
 */
export function startIdleMemoryTrim(options: IdleTrimOptions): IdleMemoryTrim {
  const trim = options.trim ?? ((first: boolean) => trimMemoryNow({ collect: first }));
  const idleMs = options.idleMs ?? IDLE_MS;
  const firstIdleMs = Math.min(idleMs, options.firstIdleMs ?? FIRST_IDLE_MS);
  const cpuMs = options.cpuMs ?? processCpuMs;
  const checkMs = Math.min(CHECK_MS, firstIdleMs);
  let lastSeen = options.activity();
  let lastChangeMs = Date.now();
  let lastCpu = cpuMs();
  let trimmedAt = lastSeen;
  let trims = 0;
  const timer = setInterval(() => {
    const now = options.activity();
    const cpu = cpuMs();
    const busy = cpu !== null && lastCpu !== null && cpu - lastCpu > checkMs * BUSY_SHARE;
    lastCpu = cpu;
    if (busy) lastChangeMs = Date.now();
    if (now !== lastSeen) {
      lastSeen = now;
      lastChangeMs = Date.now();
      return;
    }
    if (now !== trimmedAt && Date.now() - lastChangeMs >= (trims === 0 ? firstIdleMs : idleMs)) {
      trimmedAt = now;
      trim(trims === 0);
      trims++;
    }
  }, checkMs);
  // The trimmer alone never keeps the process alive.
  Deno.unrefTimer(timer);
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}
