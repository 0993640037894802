/**
 * What the E2EE parts of an incremental `/sync` answer from memory. The process is the only
 * writer of its KV database, so a value read from KV stays current until this process writes
 * it again; the writers here tell memory before (and after) they commit:
 *
 * - one-time key counts and unused fallback key types, per device ({@link KeyCountMemory}):
 *   cached on read, dropped by every upload, claim and device deletion;
 * - each device's to-device inbox ({@link inboxBounds}): bounds on the positions it may hold,
 *   so a sync with nothing to acknowledge and nothing new reads nothing;
 * - the highest position of any device-list change and of any user-signature change
 *   ({@link latestDeviceListWrite}), so a sync skips those logs when nothing was written above
 *   its `since` (only for positions the notifier saw written, i.e. not from before a restart).
 *
 * Memory is keyed by the `Deno.Kv` handle: a new handle (a restarted server) starts empty and
 * warms up lazily, reading KV once per device.
 *
 * @module
 */

import { LruCache } from "../rooms/lru.ts";

/** Devices whose key counts and inbox bounds are remembered. */
const REMEMBERED_DEVICES = 100_000;

/**
 * A cache of values read from KV whose writers bracket every write with {@link begin} and
 * {@link end}. A read caches its result only when no write of the same key started during the
 * read and none is in flight, so a cached value always equals what KV holds.
 */
export class WriteGuardedCache<V> {
  readonly #entries: LruCache<string, { serial: number; value?: V }>;
  /** Key -> writes being committed (kept apart from the evictable entries). */
  readonly #writing = new Map<string, number>();

  constructor(capacity: number) {
    this.#entries = new LruCache(capacity);
  }

  /** The cached value, or `read()`'s (cached when no write interfered). */
  async get(key: string, read: () => Promise<V>): Promise<V> {
    if (this.#writing.has(key)) return await read();
    let entry = this.#entries.get(key);
    if (entry?.value !== undefined) return entry.value;
    if (!entry) this.#entries.set(key, entry = { serial: 0 });
    const serial = entry.serial;
    const value = await read();
    if (
      !this.#writing.has(key) && this.#entries.get(key) === entry && entry.serial === serial
    ) {
      entry.value = value;
    }
    return value;
  }

  /** A write of `key` starts: the cached value is dropped until it settles. */
  begin(key: string): void {
    this.#writing.set(key, (this.#writing.get(key) ?? 0) + 1);
    this.#invalidate(key);
  }

  /** A write of `key` settled (committed or not). */
  end(key: string): void {
    const left = (this.#writing.get(key) ?? 1) - 1;
    if (left > 0) this.#writing.set(key, left);
    else this.#writing.delete(key);
    this.#invalidate(key);
  }

  /** Runs `write` between {@link begin} and {@link end} for every key. */
  async writing<T>(keys: Iterable<string>, write: () => Promise<T>): Promise<T> {
    const held = [...new Set(keys)];
    for (const key of held) this.begin(key);
    try {
      return await write();
    } finally {
      for (const key of held) this.end(key);
    }
  }

  #invalidate(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) {
      entry.serial++;
      delete entry.value;
    }
  }
}

/** The key of a device in the memory maps. */
export function deviceKey(device: { userId: string; deviceId: string }): string {
  return `${device.userId}\n${device.deviceId}`;
}

/** Cached answers about one device's keys. */
export interface KeyCounts {
  counts: Record<string, number>;
  fallback: string[];
}

/**
 * Bounds on the positions present in a device's to-device inbox: every message in it is at a
 * position in `[low, high]` (none when `low > high`). Unknown until warmed up from KV.
 */
export interface InboxBounds {
  /** Bumped by every message noted for the inbox. */
  serial: number;
  known: boolean;
  low: number;
  high: number;
}

interface KvMemory {
  otkCounts: WriteGuardedCache<Record<string, number>>;
  fallbackTypes: WriteGuardedCache<string[]>;
  inboxes: LruCache<string, InboxBounds>;
  deviceLists: number;
  signatures: number;
}

const memories = new WeakMap<Deno.Kv, KvMemory>();

function memoryOf(kv: Deno.Kv): KvMemory {
  let memory = memories.get(kv);
  if (!memory) {
    memories.set(
      kv,
      memory = {
        otkCounts: new WriteGuardedCache(REMEMBERED_DEVICES),
        fallbackTypes: new WriteGuardedCache(REMEMBERED_DEVICES),
        inboxes: new LruCache(REMEMBERED_DEVICES),
        deviceLists: 0,
        signatures: 0,
      },
    );
  }
  return memory;
}

/** The cache of one-time key counts of the devices of `kv`. */
export function otkCountCache(kv: Deno.Kv): WriteGuardedCache<Record<string, number>> {
  return memoryOf(kv).otkCounts;
}

/** The cache of unused fallback key types of the devices of `kv`. */
export function fallbackTypeCache(kv: Deno.Kv): WriteGuardedCache<string[]> {
  return memoryOf(kv).fallbackTypes;
}

/**
 * Runs a write of the one-time or fallback keys of `devices`: their cached counts and types
 * are dropped before it starts and again once it settled.
 */
export function writingDeviceKeys<T>(
  kv: Deno.Kv,
  devices: Iterable<{ userId: string; deviceId: string }>,
  write: () => Promise<T>,
): Promise<T> {
  const { otkCounts, fallbackTypes } = memoryOf(kv);
  const keys = [...devices].map(deviceKey);
  return otkCounts.writing(keys, () => fallbackTypes.writing(keys, write));
}

/** The bounds of a device's inbox (a fresh, unknown one if none is remembered). */
export function inboxBounds(
  kv: Deno.Kv,
  device: { userId: string; deviceId: string },
): InboxBounds {
  const { inboxes } = memoryOf(kv);
  const key = deviceKey(device);
  let bounds = inboxes.get(key);
  if (!bounds) {
    inboxes.set(key, bounds = { serial: 0, known: false, low: Infinity, high: 0 });
  }
  return bounds;
}

/** Whether `bounds` is still the remembered entry of the device. */
export function isCurrentInbox(
  kv: Deno.Kv,
  device: { userId: string; deviceId: string },
  bounds: InboxBounds,
): boolean {
  return memoryOf(kv).inboxes.get(deviceKey(device)) === bounds;
}

/** Notes a message for a device's inbox at `pos` (call while building its commit). */
export function noteToDeviceWrite(
  kv: Deno.Kv,
  device: { userId: string; deviceId: string },
  pos: number,
): void {
  const bounds = memoryOf(kv).inboxes.get(deviceKey(device));
  if (!bounds) return;
  bounds.serial++;
  bounds.low = Math.min(bounds.low, pos);
  bounds.high = Math.max(bounds.high, pos);
}

/** Forgets a device's inbox bounds (its inbox is being deleted). */
export function forgetInbox(kv: Deno.Kv, device: { userId: string; deviceId: string }): void {
  memoryOf(kv).inboxes.delete(deviceKey(device));
}

/** Notes a device-list change at `pos` (call while building its commit). */
export function noteDeviceListWrite(kv: Deno.Kv, pos: number): void {
  const memory = memoryOf(kv);
  memory.deviceLists = Math.max(memory.deviceLists, pos);
}

/** Notes a user-signature change at `pos` (call while building its commit). */
export function noteSignatureWrite(kv: Deno.Kv, pos: number): void {
  const memory = memoryOf(kv);
  memory.signatures = Math.max(memory.signatures, pos);
}

/**
 * The highest position of a device-list (or user-signature) change this process wrote through
 * `kv`; meaningful only above positions the notifier saw all writes after.
 */
export function latestDeviceListWrite(
  kv: Deno.Kv,
  stream: "device_lists" | "signatures",
): number {
  const memory = memoryOf(kv);
  return stream === "device_lists" ? memory.deviceLists : memory.signatures;
}
