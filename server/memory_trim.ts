/**
 * Gives freed native memory back to the operating system once a burst of load is over.
 *
 * After heavy load most of the server's resident memory is not JavaScript objects (the V8 heap
 * shrinks back to its bounded caches) but memory that the storage engine and the HTTP layer
 * allocated with the C allocator and freed again. glibc keeps such memory in its arenas, so a
 * node that took one burst of 100,000 requests stayed some 100 MB above its idle size for good.
 * `malloc_trim(0)` hands those pages back. It costs a walk over the allocator's free lists, so
 * it runs only when the server has been idle for a while after serving requests: once per burst.
 *
 * Where the C library is not glibc, or the process may not load native libraries, this does
 * nothing.
 *
 * @module
 */

/** Milliseconds without a request after which freed memory is returned. */
const IDLE_MS = 10_000;
/** How often activity is looked at. */
const CHECK_MS = 2_500;

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
  /** The trim itself (tests); the default is glibc's `malloc_trim(0)`. */
  trim?: () => void;
}

/** A running trimmer; `stop()` ends its timer. */
export interface IdleMemoryTrim {
  /** How many times memory was trimmed. */
  readonly trims: number;
  stop(): void;
}

/**
 * Watches `activity` and trims once each time the server goes idle after serving requests.
 * Returns null when no trim function is available.
 */
export function startIdleMemoryTrim(options: IdleTrimOptions): IdleMemoryTrim | null {
  const mallocTrim = loadMallocTrim();
  const trim = options.trim ?? (mallocTrim ? () => void mallocTrim(0) : null);
  if (!trim) return null;
  const idleMs = options.idleMs ?? IDLE_MS;
  let lastSeen = options.activity();
  let lastChangeMs = Date.now();
  let trimmedAt = lastSeen;
  let trims = 0;
  const timer = setInterval(() => {
    const now = options.activity();
    if (now !== lastSeen) {
      lastSeen = now;
      lastChangeMs = Date.now();
      return;
    }
    if (now !== trimmedAt && Date.now() - lastChangeMs >= idleMs) {
      trimmedAt = now;
      trims++;
      trim();
    }
  }, Math.min(CHECK_MS, idleMs));
  // The trimmer alone never keeps the process alive.
  Deno.unrefTimer(timer);
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}
