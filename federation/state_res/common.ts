/**
 * Pieces shared by the state resolution algorithms: the error class, a checked event lookup,
 * the comparison of event IDs and a small binary heap.
 *
 * @module
 */
import type { EventLookup, RoomEvent } from "../types.ts";

/** Why state resolution could not run. */
export type StateResolutionErrorCode =
  /** An event in a state, or in an auth chain, was not returned by the event lookup. */
  | "MISSING_EVENT"
  /** The auth events of the events being resolved form a cycle, which no valid room has. */
  | "AUTH_CYCLE"
  /** The room version names a state resolution algorithm this engine does not know. */
  | "UNKNOWN_ALGORITHM";

/** Thrown when state resolution cannot run on its input (never for ordinary conflicts). */
export class StateResolutionError extends Error {
  override name = "StateResolutionError";
  /** A stable code for callers to branch on. */
  readonly code: StateResolutionErrorCode;
  /** The event ID involved, when there is one. */
  readonly eventId: string | undefined;

  /** Makes an error with a code and a message a person can act on. */
  constructor(code: StateResolutionErrorCode, message: string, eventId?: string) {
    super(message);
    this.code = code;
    this.eventId = eventId;
  }
}

/** Returns a lookup that throws {@link StateResolutionError} instead of returning undefined. */
export function requiringLookup(events: EventLookup): (eventId: string) => RoomEvent {
  return (eventId) => {
    const event = events(eventId);
    if (event === undefined) {
      throw new StateResolutionError(
        "MISSING_EVENT",
        `state resolution needs event ${eventId}, which the event lookup did not return ` +
          "(load every event in the states and their full auth chains first)",
        eventId,
      );
    }
    return event;
  };
}

/** Orders strings by UTF-16 code units, which for event IDs (ASCII) is byte order. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A binary min-heap under a comparison function. */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  /** Makes an empty heap; `less(a, b)` says whether a comes out before b. */
  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  /** How many items the heap holds. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds an item. */
  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  /** Removes and returns the smallest item, or undefined when empty. */
  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.#less(items[left], items[smallest])) smallest = left;
        if (right < items.length && this.#less(items[right], items[smallest])) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest], items[i]];
        i = smallest;
      }
    }
    return top;
  }
}
