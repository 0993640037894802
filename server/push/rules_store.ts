/**
 * A user's push rules, stored as the global account data `m.push_rules` in an internal form
 * (the user's own rules, and changes to server-default rules), so that every change reaches
 * clients through `/sync`'s `account_data` like any account data, and a server upgrade that
 * adds a default rule reaches users who changed others.
 *
 * The content of the `m.push_rules` record is {@link StoredPushRules}; {@link renderPushRules}
 * turns it into the spec's `{global: ruleset}`.
 *
 * @module
 */

import { badJson, invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import { getAccountData, updateAccountData } from "../store/account_data.ts";
import {
  defaultRules,
  masterRule,
  PUSH_KINDS,
  type PushAction,
  type PushCondition,
  type PushKind,
  type PushRule,
  type PushRuleset,
} from "./default_rules.ts";

/** The account data type under which push rules live. */
export const PUSH_RULES_TYPE = "m.push_rules";

/** Largest stored push rule state, in bytes of JSON (a KV value holds 64 KiB). */
export const MAX_PUSH_RULES_BYTES = 56 * 1024;

/** Changes to one server-default rule. */
export interface DefaultRuleChange {
  enabled?: boolean;
  actions?: PushAction[];
}

/** The stored form of a user's push rules. */
export interface StoredPushRules {
  /** The user's own rules per kind, most important first (`default` false). */
  user: Record<PushKind, PushRule[]>;
  /** Changes to server-default rules, keyed `kind/ruleId`. */
  defaults: Record<string, DefaultRuleChange>;
}

function emptyStored(): StoredPushRules {
  return { user: { override: [], content: [], room: [], sender: [], underride: [] }, defaults: {} };
}

function isStored(value: unknown): value is StoredPushRules {
  return typeof value === "object" && value !== null && "user" in value && "defaults" in value;
}

function applyDefaultChange(kind: PushKind, rule: PushRule, stored: StoredPushRules): PushRule {
  const change = stored.defaults[`${kind}/${rule.rule_id}`];
  if (!change) return rule;
  return {
    ...rule,
    enabled: change.enabled ?? rule.enabled,
    actions: change.actions ?? rule.actions,
  };
}

/** The full ruleset of a user: master first, the user's rules before the server's. */
export function renderPushRules(userId: string, content: unknown): PushRuleset {
  const stored = isStored(content) ? content : emptyStored();
  const defaults = defaultRules(userId);
  const out = {} as PushRuleset;
  for (const kind of PUSH_KINDS) {
    const user = stored.user[kind] ?? [];
    const server = defaults[kind].map((rule) => applyDefaultChange(kind, rule, stored));
    out[kind] = [...user, ...server];
  }
  out.override.unshift(applyDefaultChange("override", masterRule(), stored));
  return out;
}

/** The user's ruleset as stored now. */
export async function loadPushRules(hs: Homeserver, userId: string): Promise<PushRuleset> {
  const record = await getAccountData(hs, userId, { roomId: "", type: PUSH_RULES_TYPE });
  return renderPushRules(userId, record?.content);
}

/** Users whose rendered rulesets stay in memory for sync. */
const CACHED_RULESETS = 10_000;

interface RulesetCache {
  rulesets: LruCache<string, PushRuleset>;
  /** Bumped before and after every write, so a read that overlapped one is not cached. */
  writes: number;
}

const caches = new WeakMap<Homeserver, RulesetCache>();

function cacheOf(hs: Homeserver): RulesetCache {
  let cache = caches.get(hs);
  if (!cache) caches.set(hs, cache = { rulesets: new LruCache(CACHED_RULESETS), writes: 0 });
  return cache;
}

/**
 * The user's ruleset for sync's unread counts, from memory when possible. Every change goes
 * through this module, which drops the entry, so the object stays the same exactly as long as
 * the rules do: callers may use its identity as a version, and must not modify it.
 */
export async function cachedPushRules(hs: Homeserver, userId: string): Promise<PushRuleset> {
  const cache = cacheOf(hs);
  const cached = cache.rulesets.get(userId);
  if (cached) return cached;
  const writes = cache.writes;
  const ruleset = await loadPushRules(hs, userId);
  if (cache.writes === writes) cache.rulesets.set(userId, ruleset);
  return ruleset;
}

/** Parses a `kind` path parameter. */
export function parsePushKind(kind: string): PushKind {
  if (!(PUSH_KINDS as readonly string[]).includes(kind)) {
    throw invalidParam(`Unknown push rule kind '${kind}'`);
  }
  return kind as PushKind;
}

/** Validates a list of actions (strings or objects). */
export function parseActions(value: unknown): PushAction[] {
  if (!Array.isArray(value)) throw badJson("'actions' must be an array");
  for (const action of value) {
    const ok = typeof action === "string" ||
      (typeof action === "object" && action !== null && !Array.isArray(action));
    if (!ok) throw badJson("Each action must be a string or an object");
  }
  return value as PushAction[];
}

function parseConditions(value: unknown): PushCondition[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badJson("'conditions' must be an array");
  for (const condition of value) {
    if (
      typeof condition !== "object" || condition === null || Array.isArray(condition) ||
      typeof condition.kind !== "string"
    ) {
      throw badJson("Each condition must be an object with a string 'kind'");
    }
  }
  return value as PushCondition[];
}

/** Finds a rule in the rendered ruleset, or throws 404. */
export function findRule(ruleset: PushRuleset, kind: PushKind, ruleId: string): PushRule {
  const rule = ruleset[kind].find((candidate) => candidate.rule_id === ruleId);
  if (!rule) throw notFound("The push rule was not found.");
  return rule;
}

async function modify(
  hs: Homeserver,
  userId: string,
  change: (stored: StoredPushRules) => void,
): Promise<void> {
  const cache = cacheOf(hs);
  cache.writes++;
  cache.rulesets.delete(userId);
  try {
    await write(hs, userId, change);
  } finally {
    cache.writes++;
    cache.rulesets.delete(userId);
  }
}

async function write(
  hs: Homeserver,
  userId: string,
  change: (stored: StoredPushRules) => void,
): Promise<void> {
  await updateAccountData(hs, userId, { roomId: "", type: PUSH_RULES_TYPE }, (current) => {
    const stored: StoredPushRules = isStored(current) ? structuredClone(current) : emptyStored();
    change(stored);
    const size = new TextEncoder().encode(JSON.stringify(stored)).byteLength;
    if (size > MAX_PUSH_RULES_BYTES) {
      throw new MatrixError("M_TOO_LARGE", "Too many push rules; remove some first", {
        status: 413,
      });
    }
    return stored as unknown as Record<string, unknown>;
  });
}

/** A new or changed user rule (`PUT /pushrules/global/{kind}/{ruleId}`). */
export interface PutRuleRequest {
  kind: PushKind;
  ruleId: string;
  body: Record<string, unknown>;
  before?: string;
  after?: string;
}

/**
 * Adds or replaces one of the user's rules, placed relative to `before`/`after` or, when new
 * and unplaced, as the most important of its kind.
 */
export async function putRule(hs: Homeserver, userId: string, req: PutRuleRequest): Promise<void> {
  const { kind, ruleId } = req;
  if (ruleId.startsWith(".")) throw invalidParam("Rule IDs starting with '.' are reserved");
  if (ruleId === "" || /[/\\]/.test(ruleId)) {
    throw invalidParam("Rule IDs must be non-empty and contain no slashes");
  }
  if (kind === "room" && !ruleId.startsWith("!")) {
    throw invalidParam("A room rule's ID must be a room ID");
  }
  if (kind === "sender" && !ruleId.startsWith("@")) {
    throw invalidParam("A sender rule's ID must be a user ID");
  }
  const actions = parseActions(req.body.actions);
  const rule: PushRule = { rule_id: ruleId, default: false, enabled: true, actions };
  if (kind === "content") {
    if (typeof req.body.pattern !== "string") throw badJson("Content rules need a 'pattern'");
    rule.pattern = req.body.pattern;
  } else if (kind === "override" || kind === "underride") {
    rule.conditions = parseConditions(req.body.conditions);
  }
  for (const anchor of [req.before, req.after]) {
    if (anchor?.startsWith(".")) {
      throw invalidParam("Rules cannot be placed relative to server-default rules");
    }
  }
  await modify(hs, userId, (stored) => {
    const list = stored.user[kind];
    const existing = list.findIndex((candidate) => candidate.rule_id === ruleId);
    if (existing >= 0) {
      rule.enabled = list[existing].enabled;
      list.splice(existing, 1);
    }
    const anchor = req.before ?? req.after;
    if (anchor !== undefined) {
      const at = list.findIndex((candidate) => candidate.rule_id === anchor);
      if (at < 0) {
        throw new MatrixError("M_UNKNOWN", `before/after rule not found: ${anchor}`);
      }
      list.splice(req.before !== undefined ? at : at + 1, 0, rule);
    } else if (existing >= 0) {
      list.splice(existing, 0, rule);
    } else {
      list.unshift(rule);
    }
  });
}

/** Deletes one of the user's rules. */
export async function deleteRule(
  hs: Homeserver,
  userId: string,
  where: { kind: PushKind; ruleId: string },
): Promise<void> {
  if (where.ruleId.startsWith(".")) {
    const ruleset = await loadPushRules(hs, userId);
    findRule(ruleset, where.kind, where.ruleId);
    throw invalidParam("Server-default rules cannot be deleted; disable them instead");
  }
  await modify(hs, userId, (stored) => {
    const list = stored.user[where.kind];
    const at = list.findIndex((candidate) => candidate.rule_id === where.ruleId);
    if (at < 0) throw notFound("The push rule was not found.");
    list.splice(at, 1);
  });
}

/** Enables or disables a rule (the user's or a server default). */
export async function setRuleAttribute(
  hs: Homeserver,
  userId: string,
  where: { kind: PushKind; ruleId: string },
  change: DefaultRuleChange,
): Promise<void> {
  const defaults = renderPushRules(userId, null);
  const isDefault = where.ruleId.startsWith(".");
  if (isDefault) findRule(defaults, where.kind, where.ruleId);
  await modify(hs, userId, (stored) => {
    if (isDefault) {
      const key = `${where.kind}/${where.ruleId}`;
      stored.defaults[key] = { ...stored.defaults[key], ...change };
      return;
    }
    const rule = stored.user[where.kind].find((candidate) => candidate.rule_id === where.ruleId);
    if (!rule) throw notFound("The push rule was not found.");
    if (change.enabled !== undefined) rule.enabled = change.enabled;
    if (change.actions !== undefined) rule.actions = change.actions;
  });
}
