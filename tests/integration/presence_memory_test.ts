/**
 * Presence answered from memory (server/store/presence.ts): the remembered record equals the
 * stored one across writes and a restart, a sync that changes nothing reads nothing, and the
 * offline timer is armed once and still fires five minutes after the latest sync.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import {
  getPresence,
  OFFLINE_AFTER_MS,
  presenceKeys,
  presenceTracker,
  setPresence,
} from "../../server/store/presence.ts";

Deno.test("presence memory: remembered records equal KV across writes and a restart", async () => {
  const dataDir = await Deno.makeTempDir();
  let t = await startTestServer({ dataDir });
  try {
    const alice = "@alice:localhost";
    const stored = async () => (await t.hs.kv.get(presenceKeys.record(alice))).value;
    assertEquals(await getPresence(t.hs, alice), null);
    const steps: [string, string | null][] = [
      ["online", null],
      ["unavailable", "lunch"],
      ["unavailable", "lunch"],
      ["online", "back"],
      ["offline", null],
    ];
    for (const [presence, statusMsg] of steps) {
      await setPresence(t.hs, alice, {
        presence: presence as "online",
        statusMsg,
        now: Date.now(),
      });
      assertEquals(await getPresence(t.hs, alice), await stored());
      // Reading twice (the second from memory) gives the same.
      assertEquals(await getPresence(t.hs, alice), await stored());
    }
    // A concurrent write and read: the read never leaves a stale record behind.
    const write = setPresence(t.hs, alice, { presence: "online", now: Date.now() });
    const during = getPresence(t.hs, alice);
    await Promise.all([write, during]);
    assertEquals(await getPresence(t.hs, alice), await stored());

    await t.close();
    t = await startTestServer({ dataDir });
    assertEquals((await getPresence(t.hs, alice))?.presence, "online");
    assertEquals(await getPresence(t.hs, alice), await stored());
  } finally {
    await t.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("presence memory: a sync that changes nothing reads nothing", async () => {
  const t = await startTestServer();
  try {
    const alice = "@alice:localhost";
    const tracker = presenceTracker(t.hs);
    await tracker.synced(alice, "online", Date.now());
    assertEquals((await getPresence(t.hs, alice))?.presence, "online");
    const kv = t.hs.kv as unknown as Record<string, (...args: unknown[]) => unknown>;
    let ops = 0;
    for (const name of ["get", "getMany", "list", "atomic"]) {
      const original = kv[name];
      kv[name] = (...args: unknown[]) => {
        ops++;
        return original.apply(t.hs.kv, args);
      };
    }
    try {
      for (let i = 0; i < 5; i++) await tracker.synced(alice, "online", Date.now());
      assertEquals(ops, 0);
      await tracker.synced(alice, "unavailable", Date.now());
      assert(ops > 0);
    } finally {
      for (const name of ["get", "getMany", "list", "atomic"]) delete kv[name];
    }
    assertEquals((await getPresence(t.hs, alice))?.presence, "unavailable");
  } finally {
    await t.close();
  }
});

Deno.test("presence memory: one offline timer per user, firing 5 minutes after the last sync", async () => {
  const t = await startTestServer();
  const realSetTimeout = globalThis.setTimeout;
  const realNow = Date.now;
  let clock = realNow();
  const timers: { fn: () => void; delay: number; id: ReturnType<typeof setTimeout> }[] = [];
  try {
    // Captured timers still get a real (far-off) ID, so `Deno.unrefTimer` accepts them.
    globalThis.setTimeout = ((fn: () => void, delay: number) => {
      const id = realSetTimeout(() => {}, 2 ** 30);
      timers.push({ fn, delay, id });
      return id;
    }) as typeof setTimeout;
    Date.now = () => clock;
    const alice = "@alice:localhost";
    const tracker = presenceTracker(t.hs);
    await tracker.synced(alice, "online", clock);
    assertEquals(timers.length, 1);
    assertEquals(timers[0].delay, OFFLINE_AFTER_MS);
    clock += 100_000;
    await tracker.synced(alice, "online", clock);
    await tracker.synced(alice, "online", clock);
    assertEquals(timers.length, 1);

    // The first timer fires: the latest sync was 200 s ago, so it waits 100 s more.
    clock += OFFLINE_AFTER_MS - 100_000;
    timers[0].fn();
    assertEquals(timers.length, 2);
    assertEquals(timers[1].delay, 100_000);
    assertEquals((await getPresence(t.hs, alice))?.presence, "online");

    clock += 100_000;
    timers[1].fn();
    for (let i = 0; i < 50 && (await getPresence(t.hs, alice))?.presence !== "offline"; i++) {
      await new Promise((resolve) => realSetTimeout(resolve, 10));
    }
    assertEquals((await getPresence(t.hs, alice))?.presence, "offline");
    assertEquals(timers.length, 2);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    Date.now = realNow;
    for (const timer of timers) clearTimeout(timer.id);
    await t.close();
  }
});
