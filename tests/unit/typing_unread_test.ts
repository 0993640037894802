import { assert, assertEquals } from "./assert.ts";
import { TypingTracker } from "../../server/sync/typing.ts";
import { countUnread, threadOf } from "../../server/sync/unread.ts";
import { renderPushRules } from "../../server/push/rules_store.ts";
import type { PushEvent } from "../../server/push/evaluator.ts";
import { formatSyncToken, parseSyncToken } from "../../server/sync/token.ts";
import { MatrixError } from "../../server/errors.ts";
import { assertThrows } from "./assert.ts";

Deno.test("typing: start, extend, stop and expire; each change bumps the serial", async () => {
  const changes: string[] = [];
  const tracker = new TypingTracker((roomId) => changes.push(roomId), 1000);
  try {
    tracker.setTyping("!a", "@u:x", { typing: true, timeoutMs: 30_000 });
    assertEquals(tracker.serial, 1001);
    assertEquals(tracker.typingIn("!a"), ["@u:x"]);
    assert(tracker.changedSince("!a", 1000));
    assert(!tracker.changedSince("!a", 1001));
    // Repeating only extends the timeout.
    tracker.setTyping("!a", "@u:x", { typing: true, timeoutMs: 30_000 });
    assertEquals(tracker.serial, 1001);
    tracker.setTyping("!a", "@u:x", { typing: false });
    assertEquals(tracker.typingIn("!a"), []);
    assert(tracker.changedSince("!a", 1001));
    // Stopping twice changes nothing.
    tracker.setTyping("!a", "@u:x", { typing: false });
    assertEquals(tracker.serial, 1002);
    tracker.setTyping("!b", "@v:x", { typing: true, timeoutMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assertEquals(tracker.typingIn("!b"), []);
    assertEquals(tracker.serial, 1004);
    assertEquals(changes, ["!a", "!a", "!b", "!b"]);
  } finally {
    tracker.close();
  }
});

Deno.test("sync tokens round-trip and reject foreign tokens", () => {
  assertEquals(parseSyncToken(formatSyncToken({ pos: 12, typing: 34 })), { pos: 12, typing: 34 });
  assertEquals(formatSyncToken({ pos: 12, typing: 34, toDevice: 10 }), "s12_34_10");
  assertEquals(formatSyncToken({ pos: 12, typing: 34, toDevice: 12 }), "s12_34");
  assertEquals(parseSyncToken("s5"), { pos: 5, typing: 0 });
  for (const bad of ["", "12", "t5", "s5_x", "s-1"]) {
    assertThrows(() => parseSyncToken(bad), MatrixError);
  }
});

const ALICE = "@alice:x";
const ev = (pos: number, body: string, extra: Record<string, unknown> = {}) => ({
  pos,
  event: {
    type: "m.room.message",
    sender: "@bob:x",
    room_id: "!r:x",
    content: { msgtype: "m.text", body, ...extra },
  } as PushEvent,
});

Deno.test("unread: counts after the receipts, per thread, skipping own events", () => {
  const thread = { "m.relates_to": { rel_type: "m.thread", event_id: "$root" } };
  const events = [
    ev(1, "one"),
    ev(2, "two"),
    ev(3, "in thread", thread),
    ev(4, "hey", { "m.mentions": { user_ids: [ALICE] } }),
    ev(5, "thread mention", { ...thread, "m.mentions": { user_ids: [ALICE] } }),
    { pos: 6, event: { ...ev(6, "mine").event, sender: ALICE } },
    ev(7, "notice", { msgtype: "m.notice" }),
  ];
  assertEquals(threadOf(events[2].event), "$root");
  const options = {
    userId: ALICE,
    ruleset: renderPushRules(ALICE, null),
    context: () => ({ userId: ALICE, memberCount: 3, senderPowerLevel: 0 }),
  };
  const none = countUnread(events, { ...options, marks: { unthreaded: 0, threads: new Map() } });
  assertEquals(none.room, { notification_count: 5, highlight_count: 2 });
  assertEquals(none.main, { notification_count: 3, highlight_count: 1 });
  assertEquals(none.threads.get("$root"), { notification_count: 2, highlight_count: 1 });
  const read = countUnread(events, {
    ...options,
    marks: { unthreaded: 2, threads: new Map([["$root", 4]]) },
  });
  assertEquals(read.room, { notification_count: 2, highlight_count: 2 });
  assertEquals(read.threads.get("$root"), { notification_count: 1, highlight_count: 1 });
  const all = countUnread(events, { ...options, marks: { unthreaded: 7, threads: new Map() } });
  assertEquals(all.room, { notification_count: 0, highlight_count: 0 });
});
