import { assert, assertEquals } from "./assert.ts";
import {
  evaluatePushRules,
  type PushContext,
  type PushEvent,
} from "../../server/push/evaluator.ts";
import { renderPushRules } from "../../server/push/rules_store.ts";
import { pushOutcome } from "../../server/sync/shared_push.ts";

const ROOM = "!room:example.org";
const USERS = [
  { userId: "@alice:example.org", displayName: "Alice Liddell" },
  { userId: "@bob:example.org", displayName: null },
  { userId: "@carol:example.org", displayName: "carol" },
];

function event(type: string, content: Record<string, unknown>, extra = {}): PushEvent {
  return { type, sender: "@dave:example.org", room_id: ROOM, content, ...extra };
}

/** Events that hit each kind of default rule, personal or not. */
const EVENTS: PushEvent[] = [
  event("m.room.message", { msgtype: "m.text", body: "hello all" }),
  event("m.room.message", { msgtype: "m.text", body: "hi alice, and Alice Liddell" }),
  event("m.room.message", { msgtype: "m.text", body: "carol!" }),
  event("m.room.message", { msgtype: "m.text", body: "ping bob and alice" }),
  event("m.room.message", { msgtype: "m.notice", body: "alice" }),
  event("m.room.message", { msgtype: "m.text", body: "@room look" }),
  event("m.room.message", {
    msgtype: "m.text",
    body: "alice",
    "m.mentions": { user_ids: ["@bob:example.org"] },
  }),
  event("m.room.message", { msgtype: "m.text", body: "x", "m.mentions": { room: true } }),
  event("m.room.member", { membership: "invite" }, { state_key: "@alice:example.org" }),
  event("m.room.member", { membership: "join" }, { state_key: "@bob:example.org" }),
  event("m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "x" }),
  event("m.reaction", { "m.relates_to": { rel_type: "m.annotation", key: "alice" } }),
  event("m.room.tombstone", { body: "moved" }, { state_key: "" }),
];

const CONTEXTS = [
  { memberCount: 2, senderPowerLevel: 0 },
  { memberCount: 12, senderPowerLevel: 0 },
  { memberCount: 12, senderPowerLevel: 100, notificationPowerLevels: { room: 50 } },
  { memberCount: 12, senderPowerLevel: 50, notificationPowerLevels: { room: 75 } },
];

Deno.test("shared push outcomes equal a full evaluation of each member's rules", () => {
  const customised = renderPushRules(USERS[0].userId, {
    user: {
      content: [{
        rule_id: "kw",
        default: false,
        enabled: true,
        pattern: "hello",
        actions: ["notify"],
      }],
    },
    defaults: {},
  });
  for (const room of CONTEXTS) {
    for (const pushEvent of EVENTS) {
      for (const user of USERS) {
        const context: PushContext = { ...user, ...room };
        for (const ruleset of [renderPushRules(user.userId, null), customised]) {
          // Twice: the second call answers from what the first one shared.
          for (let round = 0; round < 2; round++) {
            assertEquals(
              pushOutcome(ruleset, pushEvent, context),
              evaluatePushRules(ruleset, pushEvent, context),
              `${user.userId} ${JSON.stringify(pushEvent.content)} ${JSON.stringify(room)}`,
            );
          }
        }
      }
    }
  }
});

Deno.test("shared push outcomes: members with default rules share one evaluation", () => {
  const pushEvent = event("m.room.message", { msgtype: "m.text", body: "plain" });
  const room = { memberCount: 30, senderPowerLevel: 0 };
  const first = pushOutcome(renderPushRules(USERS[1].userId, null), pushEvent, {
    ...USERS[1],
    ...room,
  });
  const second = pushOutcome(renderPushRules(USERS[2].userId, null), pushEvent, {
    ...USERS[2],
    ...room,
  });
  assertEquals(first.ruleId, ".m.rule.message");
  assert(second === first, "the second member reuses the first one's outcome");
});
