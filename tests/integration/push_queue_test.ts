/** The push queue's pure rules: backoff bounds, giving up, priority and tweaks. */

import { assert, assertEquals } from "../unit/assert.ts";
import {
  afterFailure,
  GIVE_UP_AFTER_MS,
  INITIAL_BACKOFF_MS,
  MAX_BACKOFF_MS,
  priorityOf,
  shouldGiveUp,
  tweaksOf,
} from "../../server/push/push_queue.ts";

Deno.test("push queue: backoff doubles from 1 s up to its bound, and gives up after a day", () => {
  const now = 1_000_000;
  let state = afterFailure(null, now);
  assertEquals(state.backoffUntil - now, INITIAL_BACKOFF_MS);
  state = afterFailure(state, now);
  assertEquals(state.backoffUntil - now, 2 * INITIAL_BACKOFF_MS);
  for (let i = 0; i < 100; i++) state = afterFailure(state, now);
  assertEquals(state.backoffUntil - now, MAX_BACKOFF_MS);
  assertEquals(state.failingSinceTs, now);
  assert(!shouldGiveUp(null, now));
  assert(!shouldGiveUp(state, now + GIVE_UP_AFTER_MS - 1));
  assert(shouldGiveUp(state, now + GIVE_UP_AFTER_MS));
});

Deno.test("push queue: priority as Synapse gives it, tweaks from actions", () => {
  const loud = tweaksOf(["notify", { set_tweak: "sound", value: "default" }]);
  assertEquals(loud, { sound: "default" });
  assertEquals(priorityOf("m.room.message", loud), "high");
  assertEquals(tweaksOf(["notify", { set_tweak: "highlight" }]), { highlight: true });
  assertEquals(priorityOf("m.room.message", { highlight: true }), "high");
  assertEquals(priorityOf("m.room.message", { highlight: false }), "low");
  assertEquals(priorityOf("m.room.message", {}), "low");
  assertEquals(priorityOf("m.room.encrypted", {}), "high");
});
