/**
 * The server-default push rules (spec: "Push Notifications", "Predefined Rules") and the types
 * of rules and rulesets. Pure data: {@link defaultRules} fills in the user's ID.
 *
 * Besides the spec's current rules we keep, as Synapse does, the legacy body-mention rules that
 * v1.17 removed (`.m.rule.contains_display_name`, `.m.rule.roomnotif`,
 * `.m.rule.contains_user_name`) for clients that do not send `m.mentions`; the evaluator skips
 * them for events that carry `m.mentions` (MSC3952), so they never double-count. The poll rules
 * (MSC3930) treat polls like messages, with their stable and unstable event types.
 *
 * @module
 */

/** The kinds of push rules, in evaluation order. */
export const PUSH_KINDS = ["override", "content", "room", "sender", "underride"] as const;

/** A kind of push rule. */
export type PushKind = typeof PUSH_KINDS[number];

/** A push condition (`kind` plus its parameters). */
export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  value?: unknown;
  is?: string;
  [extra: string]: unknown;
}

/** A push action: `"notify"`, or an object such as `{set_tweak: "sound", value: "default"}`. */
export type PushAction = string | Record<string, unknown>;

/** A push rule as the API shows it. */
export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

/** A ruleset: the rules of each kind, most important first. */
export type PushRuleset = Record<PushKind, PushRule[]>;

/** Rule IDs of the legacy body-mention rules, skipped for events with `m.mentions`. */
export const LEGACY_MENTION_RULES: ReadonlySet<string> = new Set([
  ".m.rule.contains_display_name",
  ".m.rule.roomnotif",
  ".m.rule.contains_user_name",
]);

const SOUND_DEFAULT = { set_tweak: "sound", value: "default" };
const HIGHLIGHT = { set_tweak: "highlight" };

function rule(
  ruleId: string,
  conditions: PushCondition[],
  actions: PushAction[],
  enabled = true,
): PushRule {
  return { rule_id: ruleId, default: true, enabled, conditions, actions };
}

function typeIs(type: string): PushCondition {
  return { kind: "event_match", key: "type", pattern: type };
}

const ONE_TO_ONE: PushCondition = { kind: "room_member_count", is: "2" };

/** The `.m.rule.master` rule: always first, before even the user's override rules. */
export function masterRule(): PushRule {
  return rule(".m.rule.master", [], [], false);
}

/**
 * The server-default rules for a user (without `.m.rule.master`, see {@link masterRule}).
 * Override and underride rules come after the user's own rules of the same kind.
 */
export function defaultRules(userId: string): PushRuleset {
  const localpart = userId.slice(1).split(":")[0];
  const pollRules = (stable: string, unstable: string, name: string): PushRule[] => [
    rule(
      `.m.rule.${name}_one_to_one`,
      [ONE_TO_ONE, typeIs(stable)],
      ["notify", SOUND_DEFAULT],
    ),
    rule(`.m.rule.${name}`, [typeIs(stable)], ["notify"]),
    rule(
      `.org.matrix.msc3930.rule.${name}_one_to_one`,
      [ONE_TO_ONE, typeIs(unstable)],
      ["notify", SOUND_DEFAULT],
    ),
    rule(`.org.matrix.msc3930.rule.${name}`, [typeIs(unstable)], ["notify"]),
  ];
  return {
    override: [
      rule(".m.rule.suppress_notices", [{
        kind: "event_match",
        key: "content.msgtype",
        pattern: "m.notice",
      }], []),
      rule(".m.rule.invite_for_me", [
        typeIs("m.room.member"),
        { kind: "event_match", key: "content.membership", pattern: "invite" },
        { kind: "event_match", key: "state_key", pattern: userId },
      ], ["notify", SOUND_DEFAULT]),
      rule(".m.rule.member_event", [typeIs("m.room.member")], []),
      rule(".m.rule.is_user_mention", [{
        kind: "event_property_contains",
        key: "content.m\\.mentions.user_ids",
        value: userId,
      }], ["notify", SOUND_DEFAULT, HIGHLIGHT]),
      rule(
        ".m.rule.contains_display_name",
        [{ kind: "contains_display_name" }],
        ["notify", SOUND_DEFAULT, HIGHLIGHT],
      ),
      rule(".m.rule.is_room_mention", [
        { kind: "event_property_is", key: "content.m\\.mentions.room", value: true },
        { kind: "sender_notification_permission", key: "room" },
      ], ["notify", HIGHLIGHT]),
      rule(".m.rule.roomnotif", [
        { kind: "event_match", key: "content.body", pattern: "@room" },
        { kind: "sender_notification_permission", key: "room" },
      ], ["notify", HIGHLIGHT]),
      rule(".m.rule.tombstone", [
        typeIs("m.room.tombstone"),
        { kind: "event_match", key: "state_key", pattern: "" },
      ], ["notify", HIGHLIGHT]),
      rule(".m.rule.reaction", [typeIs("m.reaction")], []),
      rule(".m.rule.room.server_acl", [
        typeIs("m.room.server_acl"),
        { kind: "event_match", key: "state_key", pattern: "" },
      ], []),
      rule(".m.rule.suppress_edits", [{
        kind: "event_property_is",
        key: "content.m\\.relates_to.rel_type",
        value: "m.replace",
      }], []),
    ],
    content: [{
      rule_id: ".m.rule.contains_user_name",
      default: true,
      enabled: true,
      pattern: localpart,
      actions: ["notify", SOUND_DEFAULT, HIGHLIGHT],
    }],
    room: [],
    sender: [],
    underride: [
      rule(".m.rule.call", [typeIs("m.call.invite")], [
        "notify",
        { set_tweak: "sound", value: "ring" },
      ]),
      rule(
        ".m.rule.encrypted_room_one_to_one",
        [ONE_TO_ONE, typeIs("m.room.encrypted")],
        ["notify", SOUND_DEFAULT],
      ),
      rule(
        ".m.rule.room_one_to_one",
        [ONE_TO_ONE, typeIs("m.room.message")],
        ["notify", SOUND_DEFAULT],
      ),
      rule(".m.rule.message", [typeIs("m.room.message")], ["notify"]),
      rule(".m.rule.encrypted", [typeIs("m.room.encrypted")], ["notify"]),
      ...pollRules("m.poll.start", "org.matrix.msc3381.poll.start", "poll_start"),
      ...pollRules("m.poll.end", "org.matrix.msc3381.poll.end", "poll_end"),
    ],
  };
}
