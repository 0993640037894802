/**
 * Push rule outcomes shared between the members of a room for unread counts. A message to a
 * room of 500 members is evaluated against 500 rulesets; when they are the server's defaults
 * (most users never change them) only four rules differ between users: `invite_for_me`,
 * `is_user_mention`, `contains_display_name` and `contains_user_name`. The other rules see
 * only the event and the room (member count, the sender's power level, the notification
 * levels), so their first match is computed once per event and room context, and each member
 * then checks just their own four rules that come before it. The first enabled matching rule
 * wins either way, so the outcome is the one a full evaluation gives.
 *
 * A ruleset that is not exactly the default one (any stored change) is evaluated in full.
 *
 * @module
 */

import {
  PUSH_KINDS,
  type PushKind,
  type PushRule,
  type PushRuleset,
} from "../push/default_rules.ts";
import {
  evaluatePushRules,
  type PushContext,
  type PushEvent,
  type PushOutcome,
} from "../push/evaluator.ts";
import { renderPushRules } from "../push/rules_store.ts";

/** The default rules whose conditions name the user (or their display name). */
const PERSONAL_RULES: ReadonlySet<string> = new Set([
  ".m.rule.invite_for_me",
  ".m.rule.is_user_mention",
  ".m.rule.contains_display_name",
  ".m.rule.contains_user_name",
]);

/** Most room contexts remembered per event (a room has one at a time, rarely two). */
const MAX_CONTEXTS_PER_EVENT = 8;

interface PersonalRule {
  kind: PushKind;
  position: number;
  rule: PushRule;
}

/** A default ruleset's own rules, and their subsets before a position. */
interface DefaultShape {
  personal: PersonalRule[];
  before: Map<number, PushRuleset>;
}

/** The default rules of nobody in particular: the personal ones removed. */
interface AnonymousRules {
  ruleset: PushRuleset;
  /** Rule ID -> place in evaluation order (kinds in order, rules in order). */
  positions: Map<string, number>;
}

let anonymous: AnonymousRules | null = null;
const shapes = new WeakMap<PushRuleset, DefaultShape | null>();
const shared = new WeakMap<PushEvent, Map<string, { outcome: PushOutcome; position: number }>>();
const levelKeys = new WeakMap<object, string>();

function anonymousRules(): AnonymousRules {
  if (anonymous) return anonymous;
  const full = renderPushRules("@anonymous:invalid", null);
  const positions = new Map<string, number>();
  const ruleset = {} as PushRuleset;
  let position = 0;
  for (const kind of PUSH_KINDS) {
    for (const rule of full[kind]) positions.set(rule.rule_id, position++);
    ruleset[kind] = full[kind].filter((rule) => !PERSONAL_RULES.has(rule.rule_id));
  }
  return anonymous = { ruleset, positions };
}

/** The shape of `ruleset` when it is exactly the default ruleset of `userId`, else null. */
function defaultShape(ruleset: PushRuleset, userId: string): DefaultShape | null {
  // Rulesets come from the push rule cache: one object per version of a user's rules.
  let shape = shapes.get(ruleset);
  if (shape !== undefined) return shape;
  shape = null;
  if (JSON.stringify(ruleset) === JSON.stringify(renderPushRules(userId, null))) {
    const { positions } = anonymousRules();
    const personal: PersonalRule[] = [];
    for (const kind of PUSH_KINDS) {
      for (const rule of ruleset[kind]) {
        if (PERSONAL_RULES.has(rule.rule_id)) {
          personal.push({ kind, position: positions.get(rule.rule_id)!, rule });
        }
      }
    }
    shape = { personal, before: new Map() };
  }
  shapes.set(ruleset, shape);
  return shape;
}

/** The user's own rules placed before `position`, as a ruleset (kept per position). */
function personalBefore(shape: DefaultShape, position: number): PushRuleset {
  let ruleset = shape.before.get(position);
  if (!ruleset) {
    ruleset = { override: [], content: [], room: [], sender: [], underride: [] };
    for (const item of shape.personal) {
      if (item.position < position) ruleset[item.kind].push(item.rule);
    }
    shape.before.set(position, ruleset);
  }
  return ruleset;
}

function levelsKey(levels: PushContext["notificationPowerLevels"]): string {
  if (!levels) return "";
  let key = levelKeys.get(levels);
  if (key === undefined) levelKeys.set(levels, key = JSON.stringify(levels));
  return key;
}

/** The first match of the anonymous default rules for `event` in a room context. */
function sharedOutcome(
  event: PushEvent,
  context: PushContext,
): { outcome: PushOutcome; position: number } {
  const key = `${context.memberCount}\n${context.senderPowerLevel}\n${
    levelsKey(context.notificationPowerLevels)
  }`;
  let byContext = shared.get(event);
  let found = byContext?.get(key);
  if (found) return found;
  const rules = anonymousRules();
  const outcome = evaluatePushRules(rules.ruleset, event, {
    ...context,
    userId: "",
    displayName: null,
  });
  found = {
    outcome,
    position: outcome.ruleId === null ? Infinity : rules.positions.get(outcome.ruleId)!,
  };
  if (!byContext) shared.set(event, byContext = new Map());
  if (byContext.size >= MAX_CONTEXTS_PER_EVENT) byContext.clear();
  byContext.set(key, found);
  return found;
}

/**
 * What `ruleset` (the rules of `context.userId`) does with `event`: the same outcome as
 * `evaluatePushRules`, computed mostly once per event for users with the default rules.
 * The outcome's `actions` are shared: callers must not modify them.
 */
export function pushOutcome(
  ruleset: PushRuleset,
  event: PushEvent,
  context: PushContext,
): PushOutcome {
  const shape = defaultShape(ruleset, context.userId);
  if (!shape) return evaluatePushRules(ruleset, event, context);
  const common = sharedOutcome(event, context);
  const own = personalBefore(shape, common.position);
  if (own.override.length > 0 || own.content.length > 0) {
    const personal = evaluatePushRules(own, event, context);
    if (personal.ruleId !== null) return personal;
  }
  return common.outcome;
}
