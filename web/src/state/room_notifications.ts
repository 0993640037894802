/**
 * Per-room notification levels and keyword rules, kept as push rules on the server (spec:
 * "Push Notifications", push rules) the way Element keeps them, so both apps agree:
 * - all messages: no rule of the room;
 * - mentions and keywords: a `room` rule named by the room ID, `dont_notify`;
 * - mute: an `override` rule named by the room ID matching its `room_id`, `dont_notify`.
 * A keyword is a `content` rule named by the keyword, which notifies and highlights.
 *
 * @module
 */

import type { IPushRule, IPushRules, MatrixClient, PushRuleKind } from "matrix-js-sdk";

/** How much a room notifies. */
export type RoomNotifyMode = "all" | "mentions" | "mute";

/** The longest keyword accepted, in characters. */
export const MAX_KEYWORD = 100;

const SCOPE = "global";
const DONT_NOTIFY = ["dont_notify"] as IPushRule["actions"];

function kind(name: "override" | "room" | "content"): PushRuleKind {
  return name as PushRuleKind;
}

function silent(rule: IPushRule): boolean {
  return rule.enabled !== false && !rule.actions.some((a) => a === "notify");
}

/** The level of `roomId` read from the user's push rules. */
export function roomNotifyMode(rules: IPushRules, roomId: string): RoomNotifyMode {
  const global = rules.global ?? {};
  const override = global.override?.find((r) => r.rule_id === roomId);
  if (override && silent(override)) return "mute";
  const room = global.room?.find((r) => r.rule_id === roomId);
  if (room && silent(room)) return "mentions";
  return "all";
}

/** Sets the level of `roomId`, replacing the rules another level left. */
export async function setRoomNotifyMode(
  client: MatrixClient,
  roomId: string,
  mode: RoomNotifyMode,
): Promise<void> {
  const rules = await client.getPushRules();
  const global = rules.global ?? {};
  if (mode !== "mute" && global.override?.some((r) => r.rule_id === roomId)) {
    await client.deletePushRule(SCOPE, kind("override"), roomId);
  }
  if (mode !== "mentions" && global.room?.some((r) => r.rule_id === roomId)) {
    await client.deletePushRule(SCOPE, kind("room"), roomId);
  }
  if (mode === "mute") {
    await client.addPushRule(SCOPE, kind("override"), roomId, {
      actions: DONT_NOTIFY,
      conditions: [{ kind: "event_match", key: "room_id", pattern: roomId }] as IPushRule[
        "conditions"
      ],
    });
  } else if (mode === "mentions") {
    await client.addPushRule(SCOPE, kind("room"), roomId, { actions: DONT_NOTIFY });
  }
}

/** The user's keywords: their own content rules (the server's defaults start with a dot). */
export function keywords(rules: IPushRules): string[] {
  return (rules.global?.content ?? [])
    .filter((r) => !r.rule_id.startsWith(".") && !r.default)
    .map((r) => r.pattern ?? r.rule_id);
}

/** Adds a keyword that notifies and highlights; blank or too long is refused. */
export async function addKeyword(client: MatrixClient, keyword: string): Promise<boolean> {
  const word = keyword.trim();
  if (!word || word.length > MAX_KEYWORD || word.startsWith(".")) return false;
  await client.addPushRule(SCOPE, kind("content"), word, {
    pattern: word,
    actions: ["notify", { set_tweak: "sound", value: "default" }, {
      set_tweak: "highlight",
    }] as IPushRule["actions"],
  });
  return true;
}

/** Removes a keyword. */
export async function removeKeyword(client: MatrixClient, keyword: string): Promise<void> {
  await client.deletePushRule(SCOPE, kind("content"), keyword);
}
