/**
 * The E2EE code's one door to the server's global stream: every device-list change and every
 * queued to-device message is written at a stream position, in the same commit that advances
 * `["meta","stream"]`, so that `/sync` tokens order them with room events.
 *
 * This module is deliberately narrow (one commit at one new position; the visible position), so
 * that the E2EE stores do not depend on how the sequencer is built.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";

/** The key of the global stream position. */
export const STREAM_META_KEY: Deno.KvKey = ["meta", "stream"];

interface SequencerState {
  next: number;
  inFlight: Set<number>;
  visible: number;
  ready: Promise<void>;
}

const sequencers = new WeakMap<Homeserver, SequencerState>();

function sequencer(hs: Homeserver): SequencerState {
  let state = sequencers.get(hs);
  if (!state) {
    const created: SequencerState = { next: 0, inFlight: new Set(), visible: 0, ready: null! };
    created.ready = hs.kv.get<Deno.KvU64>(STREAM_META_KEY).then((entry) => {
      const stored = entry.value ? Number(entry.value.value) : 0;
      created.next = Math.max(created.next, stored);
      created.visible = Math.max(created.visible, stored);
    });
    sequencers.set(hs, created);
    state = created;
  }
  return state;
}

/**
 * Commits `build`'s mutations at a fresh stream position, retrying with a new position when
 * `build`'s checks fail (up to `attempts` times).
 *
 * @param build adds mutations and checks to `op`; returning false abandons the write
 * @returns the position written at, or null when `build` abandoned the write or its checks
 *   failed `attempts` times (the caller re-reads and decides)
 */
export async function commitAtPosition(
  hs: Homeserver,
  build: (op: Deno.AtomicOperation, pos: number) => Promise<boolean | void> | boolean | void,
  options: { attempts?: number } = {},
): Promise<number | null> {
  const state = sequencer(hs);
  await state.ready;
  for (let attempt = 0; attempt < (options.attempts ?? 10); attempt++) {
    const pos = ++state.next;
    state.inFlight.add(pos);
    try {
      const op = hs.kv.atomic();
      if ((await build(op, pos)) === false) return null;
      op.max(STREAM_META_KEY, BigInt(pos));
      if ((await op.commit()).ok) return pos;
    } finally {
      state.inFlight.delete(pos);
      advance(state);
    }
  }
  return null;
}

function advance(state: SequencerState): void {
  let lowest = state.next;
  for (const pos of state.inFlight) lowest = Math.min(lowest, pos - 1);
  state.visible = Math.max(state.visible, lowest);
}

/**
 * The highest stream position below which every write has finished: a reader that stops here
 * never skips a write that commits later at a lower position.
 */
export async function visiblePosition(hs: Homeserver): Promise<number> {
  const state = sequencer(hs);
  await state.ready;
  return state.visible;
}
