/**
 * The push rule evaluator (spec: "Push Rules", "Conditions"): which rule of a user's ruleset
 * matches an event, and what its actions mean (notify, highlight, sound). Pure: the caller
 * passes the room facts the conditions need (member count, the sender's power, the user's
 * display name).
 *
 * @module
 */

import { splitPropertyPath } from "../sync/filter.ts";
import {
  LEGACY_MENTION_RULES,
  PUSH_KINDS,
  type PushAction,
  type PushCondition,
  type PushRule,
  type PushRuleset,
} from "./default_rules.ts";

/** An event as push rules see it (client format: type, sender, room_id, content, ...). */
export type PushEvent = Record<string, unknown> & {
  type: string;
  sender: string;
  room_id: string;
  content: Record<string, unknown>;
};

/** What the conditions need to know about the room and the user. */
export interface PushContext {
  /** The user whose rules these are. */
  userId: string;
  /** The user's display name in the room (for `contains_display_name`). */
  displayName?: string | null;
  /** Joined members of the room (for `room_member_count`). */
  memberCount: number;
  /** The sender's power level (for `sender_notification_permission`). */
  senderPowerLevel: number;
  /** `notifications` of the room's power levels, e.g. `{room: 50}` (the default). */
  notificationPowerLevels?: Readonly<Record<string, number>>;
}

/** The outcome of evaluating a ruleset for one event. */
export interface PushOutcome {
  /** The matching rule, or null when no rule matched. */
  ruleId: string | null;
  kind: string | null;
  /** The rule's actions with historical ones (`dont_notify`, `coalesce`) removed. */
  actions: PushAction[];
  notify: boolean;
  highlight: boolean;
}

const NO_MATCH: PushOutcome = {
  ruleId: null,
  kind: null,
  actions: [],
  notify: false,
  highlight: false,
};

const MAX_CACHED_PATTERNS = 2000;
/**
 * Longest pattern, path or display name kept compiled, in characters: with the counts it bounds
 * these caches' memory (rule patterns may be tens of KiB); longer ones are compiled each time.
 */
const MAX_CACHED_KEY_CHARS = 512;
const patternCache = new Map<string, RegExp>();

function globSource(pattern: string): string {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += "[\\s\\S]*?";
    else if (ch === "?") source += "[\\s\\S]";
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return source;
}

/**
 * Compiles a glob (`*` any sequence, `?` one character) into a case-insensitive expression
 * that matches the whole value, or, for `content.body` (`words`), any run that starts and ends
 * at a word boundary (a character outside `[A-Za-z0-9_]`, or the ends of the value).
 */
export function globRegExp(pattern: string, options: { words?: boolean } = {}): RegExp {
  const cacheKey = `${options.words ? "w" : "e"}${pattern}`;
  let compiled = patternCache.get(cacheKey);
  if (!compiled) {
    const source = globSource(pattern);
    compiled = options.words
      ? new RegExp(`(?:^|[^A-Za-z0-9_])${source}(?:[^A-Za-z0-9_]|$)`, "iu")
      : new RegExp(`^${source}$`, "iu");
    if (cacheKey.length <= MAX_CACHED_KEY_CHARS) {
      if (patternCache.size >= MAX_CACHED_PATTERNS) patternCache.clear();
      patternCache.set(cacheKey, compiled);
    }
  }
  return compiled;
}

const MAX_CACHED_PATHS = 2000;
const pathCache = new Map<string, string[]>();

function pathParts(path: string): string[] {
  let parts = pathCache.get(path);
  if (!parts) {
    parts = splitPropertyPath(path);
    if (path.length <= MAX_CACHED_KEY_CHARS) {
      if (pathCache.size >= MAX_CACHED_PATHS) pathCache.clear();
      pathCache.set(path, parts);
    }
  }
  return parts;
}

/** The value at a dot-separated path of the event, or undefined. */
export function propertyAt(event: Record<string, unknown>, path: string): unknown {
  let value: unknown = event;
  for (const part of pathParts(path)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    if (!Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value === "string" || typeof value === "boolean" ||
    (typeof value === "number" && Number.isSafeInteger(value));
}

function matchMemberCount(is: unknown, count: number): boolean {
  if (typeof is !== "string") return false;
  const match = /^(==|<=|>=|<|>)?([0-9]+)$/.exec(is.trim());
  if (!match) return false;
  const n = Number(match[2]);
  switch (match[1] ?? "==") {
    case "<":
      return count < n;
    case ">":
      return count > n;
    case "<=":
      return count <= n;
    case ">=":
      return count >= n;
    default:
      return count === n;
  }
}

const displayNames = new Map<string, RegExp>();

function displayNameRegExp(name: string): RegExp {
  let compiled = displayNames.get(name);
  if (!compiled) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    compiled = new RegExp(`(?:^|[^A-Za-z0-9_])${escaped}(?:[^A-Za-z0-9_]|$)`, "iu");
    if (name.length <= MAX_CACHED_KEY_CHARS) {
      if (displayNames.size >= MAX_CACHED_PATTERNS) displayNames.clear();
      displayNames.set(name, compiled);
    }
  }
  return compiled;
}

const conditionPatterns = new WeakMap<PushCondition, RegExp>();

function conditionRegExp(condition: PushCondition): RegExp {
  let compiled = conditionPatterns.get(condition);
  if (!compiled) {
    compiled = globRegExp(condition.pattern as string, {
      words: condition.key === "content.body",
    });
    conditionPatterns.set(condition, compiled);
  }
  return compiled;
}

/** Whether one condition holds for the event. Unknown conditions never hold. */
export function conditionHolds(
  condition: PushCondition,
  event: PushEvent,
  context: PushContext,
): boolean {
  switch (condition.kind) {
    case "event_match": {
      if (typeof condition.key !== "string" || typeof condition.pattern !== "string") return false;
      const value = propertyAt(event, condition.key);
      if (typeof value !== "string") return false;
      return conditionRegExp(condition).test(value);
    }
    case "event_property_is": {
      if (typeof condition.key !== "string" || !isScalar(condition.value)) return false;
      const value = propertyAt(event, condition.key);
      return isScalar(value) && value === condition.value;
    }
    case "event_property_contains": {
      if (typeof condition.key !== "string" || !isScalar(condition.value)) return false;
      const value = propertyAt(event, condition.key);
      return Array.isArray(value) &&
        value.some((item) => isScalar(item) && item === condition.value);
    }
    case "contains_display_name": {
      const name = context.displayName;
      const body = event.content.body;
      if (!name || typeof body !== "string") return false;
      return displayNameRegExp(name).test(body);
    }
    case "room_member_count":
      return matchMemberCount(condition.is, context.memberCount);
    case "sender_notification_permission": {
      if (typeof condition.key !== "string") return false;
      const required = context.notificationPowerLevels?.[condition.key] ?? 50;
      return context.senderPowerLevel >= required;
    }
    default:
      return false;
  }
}

/**
 * A rule prepared once per rule object (rulesets are cached and shared, see
 * `cachedPushRules`): its actions cleaned and interpreted, its content pattern compiled.
 */
interface PreparedRule {
  actions: PushAction[];
  notify: boolean;
  highlight: boolean;
  pattern: RegExp | null;
}

const prepared = new WeakMap<PushRule, PreparedRule>();

function prepare(rule: PushRule): PreparedRule {
  let found = prepared.get(rule);
  if (!found) {
    const actions = cleanActions(rule.actions);
    found = {
      actions,
      ...interpretActions(actions),
      pattern: typeof rule.pattern === "string" ? globRegExp(rule.pattern, { words: true }) : null,
    };
    prepared.set(rule, found);
  }
  return found;
}

function ruleMatches(
  kind: string,
  rule: PushRule,
  event: PushEvent,
  context: PushContext,
): boolean {
  switch (kind) {
    case "room":
      return event.room_id === rule.rule_id;
    case "sender":
      return event.sender === rule.rule_id;
    case "content": {
      const pattern = prepare(rule).pattern;
      const body = event.content.body;
      return pattern !== null && typeof body === "string" && pattern.test(body);
    }
    default: {
      const conditions = rule.conditions;
      if (!conditions) return true;
      for (const condition of conditions) {
        if (!conditionHolds(condition, event, context)) return false;
      }
      return true;
    }
  }
}

/** Removes the historical actions (`dont_notify`, `coalesce`) that must be ignored. */
export function cleanActions(actions: readonly PushAction[]): PushAction[] {
  return actions.filter((action) => action !== "dont_notify" && action !== "coalesce");
}

/** Reads notify and highlight out of a list of actions. */
export function interpretActions(actions: readonly PushAction[]): {
  notify: boolean;
  highlight: boolean;
} {
  let notify = false;
  let highlight = false;
  for (const action of actions) {
    if (action === "notify") notify = true;
    else if (typeof action === "object" && action.set_tweak === "highlight") {
      highlight = action.value === undefined ? true : action.value === true;
    }
  }
  return { notify, highlight };
}

/**
 * Evaluates a full ruleset (as {@link PushRuleset}, master rule first among the overrides)
 * against an event: the first enabled matching rule wins. The caller skips the user's own
 * events.
 */
export function evaluatePushRules(
  ruleset: PushRuleset,
  event: PushEvent,
  context: PushContext,
): PushOutcome {
  const hasMentions = typeof event.content === "object" && event.content !== null &&
    Object.hasOwn(event.content, "m.mentions");
  for (const kind of PUSH_KINDS) {
    for (const rule of ruleset[kind]) {
      if (!rule.enabled) continue;
      if (hasMentions && rule.default && LEGACY_MENTION_RULES.has(rule.rule_id)) continue;
      if (!ruleMatches(kind, rule, event, context)) continue;
      const { actions, notify, highlight } = prepare(rule);
      return { ruleId: rule.rule_id, kind, actions: [...actions], notify, highlight };
    }
  }
  return NO_MATCH;
}
