import { assert, assertEquals } from "./assert.ts";
import {
  conditionHolds,
  evaluatePushRules,
  globRegExp,
  type PushContext,
  type PushEvent,
} from "../../server/push/evaluator.ts";
import { renderPushRules } from "../../server/push/rules_store.ts";

const ALICE = "@alice:example.org";
const ROOM = "!room:example.org";

function message(body: string, extra: Record<string, unknown> = {}): PushEvent {
  return {
    type: "m.room.message",
    sender: "@bob:example.org",
    room_id: ROOM,
    content: { msgtype: "m.text", body, ...extra },
  };
}

const GROUP: PushContext = {
  userId: ALICE,
  displayName: "Alice Liddell",
  memberCount: 5,
  senderPowerLevel: 0,
};

function outcome(event: PushEvent, context: PushContext = GROUP) {
  return evaluatePushRules(renderPushRules(ALICE, null), event, context);
}

Deno.test("glob: * and ? match the whole value case-insensitively", () => {
  assert(globRegExp("lunc?*").test("Lunch plans"));
  assert(globRegExp("lunc?*").test("LUNCH"));
  assert(!globRegExp("lunc?*").test(" lunch"));
  assert(!globRegExp("lunc?*").test("lunc"));
  assert(globRegExp("a.b").test("A.B"));
  assert(!globRegExp("a.b").test("axb"));
  assert(globRegExp("[x]").test("[x]"));
});

Deno.test("glob: content.body matches at word boundaries", () => {
  const words = (pattern: string, value: string) =>
    globRegExp(pattern, { words: true }).test(value);
  assert(words("ex*ple", "An example event."));
  assert(words("ex*ple", "exple"));
  assert(words("ex*ple", "An exciting triple-whammy"));
  assert(!words("cake", "cupcakes"));
  assert(words("cake", "I like cake!"));
  assert(words("alice", "hi ALICE"));
});

Deno.test("conditions: event_match needs a string; property paths with escaped dots", () => {
  const event: PushEvent = {
    type: "m.room.message",
    sender: "@bob:example.org",
    room_id: ROOM,
    content: { "m.relates_to": { rel_type: "m.replace" }, count: 3, flag: true, body: "x" },
  };
  const ctx = GROUP;
  assert(!conditionHolds({ kind: "event_match", key: "content.count", pattern: "*" }, event, ctx));
  assert(
    !conditionHolds({ kind: "event_match", key: "content.missing", pattern: "*" }, event, ctx),
  );
  assert(
    conditionHolds(
      {
        kind: "event_property_is",
        key: "content.m\\.relates_to.rel_type",
        value: "m.replace",
      },
      event,
      ctx,
    ),
  );
  assert(conditionHolds({ kind: "event_property_is", key: "content.count", value: 3 }, event, ctx));
  assert(
    !conditionHolds({ kind: "event_property_is", key: "content.flag", value: "true" }, event, ctx),
  );
  assert(!conditionHolds({ kind: "no_such_condition" }, event, ctx));
});

Deno.test("conditions: event_property_contains, room_member_count, sender permission", () => {
  const event = message("hi", { "m.mentions": { user_ids: [ALICE, 5] } });
  const contains = { kind: "event_property_contains", key: "content.m\\.mentions.user_ids" };
  assert(conditionHolds({ ...contains, value: ALICE }, event, GROUP));
  assert(!conditionHolds({ ...contains, value: "@carol:example.org" }, event, GROUP));
  const count = (is: string, memberCount: number) =>
    conditionHolds({ kind: "room_member_count", is }, event, { ...GROUP, memberCount });
  assert(count("2", 2));
  assert(count("==2", 2));
  assert(!count("2", 3));
  assert(count("<10", 9));
  assert(!count("<10", 10));
  assert(count("<=10", 10));
  assert(count(">=3", 3));
  assert(count(">2", 3));
  assert(!count("abc", 3));
  const permission = { kind: "sender_notification_permission", key: "room" };
  assert(!conditionHolds(permission, event, GROUP));
  assert(conditionHolds(permission, event, { ...GROUP, senderPowerLevel: 50 }));
  assert(
    conditionHolds(permission, event, {
      ...GROUP,
      senderPowerLevel: 10,
      notificationPowerLevels: { room: 10 },
    }),
  );
});

Deno.test("defaults: plain messages notify without highlight; 1:1 rooms add a sound", () => {
  const group = outcome(message("hello"));
  assertEquals(group.ruleId, ".m.rule.message");
  assertEquals([group.notify, group.highlight], [true, false]);
  const direct = outcome(message("hello"), { ...GROUP, memberCount: 2 });
  assertEquals(direct.ruleId, ".m.rule.room_one_to_one");
  assert(direct.actions.some((a) => typeof a === "object" && a.set_tweak === "sound"));
});

Deno.test("defaults: mentions highlight; legacy rules only without m.mentions", () => {
  const mention = outcome(message("hey", { "m.mentions": { user_ids: [ALICE] } }));
  assertEquals(mention.ruleId, ".m.rule.is_user_mention");
  assert(mention.highlight);
  // The display name in the body highlights (legacy) only when m.mentions is absent.
  const legacy = outcome(message("hi Alice Liddell!"));
  assertEquals(legacy.ruleId, ".m.rule.contains_display_name");
  assert(legacy.highlight);
  const modern = outcome(message("hi Alice Liddell!", { "m.mentions": {} }));
  assertEquals(modern.ruleId, ".m.rule.message");
  assert(!modern.highlight);
  // The localpart matches the legacy content rule.
  assertEquals(outcome(message("ping alice")).ruleId, ".m.rule.contains_user_name");
  // @room needs the power to notify the room.
  const room = message("@room meeting");
  assertEquals(outcome(room).ruleId, ".m.rule.message");
  assertEquals(outcome(room, { ...GROUP, senderPowerLevel: 100 }).ruleId, ".m.rule.roomnotif");
  const roomMention = message("meeting", { "m.mentions": { room: true } });
  assertEquals(
    outcome(roomMention, { ...GROUP, senderPowerLevel: 100 }).ruleId,
    ".m.rule.is_room_mention",
  );
});

Deno.test("defaults: suppressions (notices, edits, reactions, member events) and others", () => {
  const notice = outcome(message("bot", { msgtype: "m.notice" }));
  assertEquals([notice.ruleId, notice.notify], [".m.rule.suppress_notices", false]);
  const edit = outcome(
    message("* fixed", { "m.relates_to": { rel_type: "m.replace", event_id: "$x" } }),
  );
  assertEquals([edit.ruleId, edit.notify], [".m.rule.suppress_edits", false]);
  const reaction: PushEvent = {
    type: "m.reaction",
    sender: "@bob:example.org",
    room_id: ROOM,
    content: { "m.relates_to": { rel_type: "m.annotation", event_id: "$x", key: "👍" } },
  };
  assertEquals(outcome(reaction).notify, false);
  const invite: PushEvent = {
    type: "m.room.member",
    sender: "@bob:example.org",
    room_id: ROOM,
    state_key: ALICE,
    content: { membership: "invite" },
  };
  assertEquals(outcome(invite).ruleId, ".m.rule.invite_for_me");
  assertEquals(
    outcome({ ...invite, state_key: "@carol:example.org" }).ruleId,
    ".m.rule.member_event",
  );
  const tombstone: PushEvent = {
    type: "m.room.tombstone",
    sender: "@bob:example.org",
    room_id: ROOM,
    state_key: "",
    content: { body: "moved", replacement_room: "!new:example.org" },
  };
  assert(outcome(tombstone).highlight);
  const encrypted: PushEvent = {
    type: "m.room.encrypted",
    sender: "@bob:example.org",
    room_id: ROOM,
    content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "..." },
  };
  assertEquals(outcome(encrypted).ruleId, ".m.rule.encrypted");
  const poll: PushEvent = { ...encrypted, type: "org.matrix.msc3381.poll.start", content: {} };
  assertEquals(outcome(poll).ruleId, ".org.matrix.msc3930.rule.poll_start");
  const call: PushEvent = { ...encrypted, type: "m.call.invite", content: {} };
  assertEquals(outcome(call).ruleId, ".m.rule.call");
  const custom: PushEvent = { ...encrypted, type: "org.example.custom", content: {} };
  assertEquals(outcome(custom).ruleId, null);
});

Deno.test("user rules: master, room, sender, content, disabled rules, dont_notify", () => {
  const stored = {
    user: {
      override: [],
      content: [{
        rule_id: "cake",
        default: false,
        enabled: true,
        pattern: "cake*lie",
        actions: ["notify", { set_tweak: "highlight", value: false }],
      }],
      room: [{ rule_id: ROOM, default: false, enabled: true, actions: ["dont_notify"] }],
      sender: [{
        rule_id: "@carol:example.org",
        default: false,
        enabled: true,
        actions: ["notify"],
      }],
      underride: [],
    },
    defaults: {},
  };
  const rules = renderPushRules(ALICE, stored);
  const cake = evaluatePushRules(rules, message("the cake is a lie"), GROUP);
  assertEquals([cake.ruleId, cake.notify, cake.highlight], ["cake", true, false]);
  const muted = evaluatePushRules(rules, message("hello"), GROUP);
  assertEquals([muted.ruleId, muted.notify, muted.actions], [ROOM, false, []]);
  const other = evaluatePushRules(rules, { ...message("hello"), room_id: "!other:x" }, GROUP);
  assertEquals(other.ruleId, ".m.rule.message");
  const master = renderPushRules(ALICE, {
    ...stored,
    defaults: { "override/.m.rule.master": { enabled: true } },
  });
  assertEquals(master.override[0].rule_id, ".m.rule.master");
  assertEquals(evaluatePushRules(master, message("the cake is a lie"), GROUP).notify, false);
  const disabled = renderPushRules(ALICE, {
    ...stored,
    user: { ...stored.user, content: [{ ...stored.user.content[0], enabled: false }] },
  });
  assertEquals(evaluatePushRules(disabled, message("the cake is a lie"), GROUP).ruleId, ROOM);
});
