/**
 * The m.room.member authorisation rule (rule 5 of v1-v5, rule 4 of v6-v11, rule 5 of v12):
 * joins (incl. restricted joins), invites (incl. third-party invites), leaves and kicks, bans
 * and knocks. auth_rules.ts builds the {@link AuthContext} and calls in.
 *
 * @module
 */

import { decodeBase64Url } from "../crypto/base64.ts";
import { decodePublicKey, verifyJsonSignatureSync } from "../crypto/signing.ts";
import {
  type AuthContext,
  contextLevels,
  contextPowerLevel,
  membershipIn,
} from "./auth_context.ts";
import { isValidUserId, serverNameOf } from "./identifiers.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { JsonObject, JsonValue, RoomEvent, Verdict } from "./types.ts";
import { ACCEPT, reject } from "./types.ts";

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The room's join rule. A room without an m.room.join_rules event, or whose event has no
 * `join_rule`, counts as `invite`, as Synapse decides it; the spec's rules never name those
 * cases. A `join_rule` that is not a string matches no rule.
 */
function joinRuleOf(ctx: AuthContext): string | undefined {
  const event = ctx.state("m.room.join_rules", "");
  if (event === undefined) return "invite";
  const rule = event.content.join_rule;
  if (rule === undefined) return "invite";
  return typeof rule === "string" ? rule : undefined;
}

/** The user whose membership v1-v11 (`creator`) or v12 (create sender) first join names. */
function firstJoinCreator(create: RoomEvent, rules: RoomVersionRules): string | undefined {
  if (!rules.createHasCreator) return create.sender;
  const creator = create.content.creator;
  return typeof creator === "string" ? creator : undefined;
}

/** Checks a membership event; `ctx.event.type` is m.room.member. */
export function checkMembership(ctx: AuthContext): Verdict {
  const { event, rules } = ctx;
  const target = event.stateKey;
  const membership = event.content.membership;
  if (target === undefined) return reject("m.room.member: it has no state_key");
  if (membership === undefined) return reject("m.room.member: content has no membership");

  if (rules.restrictedJoins && event.content.join_authorised_via_users_server !== undefined) {
    const verdict = checkAuthoriserSignature(event);
    if (!verdict.ok) return verdict;
  }
  switch (membership) {
    case "join":
      return checkJoin(ctx, target);
    case "invite":
      return checkInvite(ctx, target);
    case "leave":
      return checkLeave(ctx, target);
    case "ban":
      return checkBan(ctx, target);
    case "knock":
      if (rules.knocking) return checkKnock(ctx, target);
  }
  return reject(`m.room.member: unknown membership ${JSON.stringify(membership)}`);
}

/**
 * v8+: a member event naming `join_authorised_via_users_server` must be signed by that user's
 * server. The engine has no key store, so here the signature must be present; verifying it
 * against the server's keys is part of the signature checks on receipt of the PDU.
 */
function checkAuthoriserSignature(event: RoomEvent): Verdict {
  const authoriser = event.content.join_authorised_via_users_server;
  if (typeof authoriser !== "string" || !isValidUserId(authoriser, { historical: true })) {
    return reject("m.room.member: join_authorised_via_users_server is not a user ID");
  }
  const server = serverNameOf(authoriser)!;
  const signatures = event.pdu.signatures;
  const byServer = isObject(signatures) ? signatures[server] : undefined;
  if (!isObject(byServer) || Object.keys(byServer).length === 0) {
    return reject(
      `m.room.member: not signed by ${server}, the server of join_authorised_via_users_server`,
    );
  }
  return ACCEPT;
}

function checkJoin(ctx: AuthContext, target: string): Verdict {
  const { event, rules, state, create } = ctx;
  if (
    event.prevEvents.length === 1 && event.prevEvents[0] === create.eventId &&
    target === firstJoinCreator(create, rules)
  ) {
    return ACCEPT;
  }
  if (event.sender !== target) return reject("join: the sender is not the state_key");
  const current = membershipIn(state, target);
  if (current === "ban") return reject("join: the sender is banned");
  const joinRule = joinRuleOf(ctx);
  if (joinRule === "invite" || (rules.knocking && joinRule === "knock")) {
    if (current === "invite" || current === "join") return ACCEPT;
    return reject(`join: the join rule is ${joinRule} and the sender is not invited`);
  }
  if (
    (rules.restrictedJoins && joinRule === "restricted") ||
    (rules.knockRestricted && joinRule === "knock_restricted")
  ) {
    if (current === "invite" || current === "join") return ACCEPT;
    const authoriser = event.content.join_authorised_via_users_server;
    if (typeof authoriser !== "string") {
      return reject(`join: ${joinRule} room and no join_authorised_via_users_server`);
    }
    if (membershipIn(state, authoriser) !== "join") {
      return reject(`join: the authorising user ${authoriser} is not joined`);
    }
    if (contextPowerLevel(ctx, authoriser) < contextLevels(ctx).levels.invite) {
      return reject(`join: the authorising user ${authoriser} cannot invite`);
    }
    return ACCEPT;
  }
  if (joinRule === "public") return ACCEPT;
  return reject(`join: the join rule ${JSON.stringify(joinRule)} does not allow joining`);
}

function checkInvite(ctx: AuthContext, target: string): Verdict {
  const { event, state } = ctx;
  if (event.content.third_party_invite !== undefined) return checkThirdPartyInvite(ctx, target);
  if (membershipIn(state, event.sender) !== "join") {
    return reject("invite: the sender is not joined");
  }
  const current = membershipIn(state, target);
  if (current === "join" || current === "ban") {
    return reject(`invite: the target's membership is ${current}`);
  }
  if (contextPowerLevel(ctx, event.sender) >= contextLevels(ctx).levels.invite) return ACCEPT;
  return reject("invite: the sender is below the invite level");
}

function checkThirdPartyInvite(ctx: AuthContext, target: string): Verdict {
  const { event, state, rules } = ctx;
  if (membershipIn(state, target) === "ban") return reject("third-party invite: target banned");
  const invite = event.content.third_party_invite;
  const signed = isObject(invite) ? invite.signed : undefined;
  if (!isObject(signed)) return reject("third-party invite: there is no signed block");
  const { mxid, token } = signed;
  if (typeof mxid !== "string" || typeof token !== "string") {
    return reject("third-party invite: signed has no mxid and token");
  }
  if (mxid !== target) return reject("third-party invite: signed.mxid is not the state_key");
  const thirdPartyInvite = state("m.room.third_party_invite", token);
  if (thirdPartyInvite === undefined) {
    return reject("third-party invite: no m.room.third_party_invite for the token");
  }
  if (thirdPartyInvite.sender !== event.sender) {
    return reject("third-party invite: the sender did not send the m.room.third_party_invite");
  }
  if (signedByInviteKey(signed, thirdPartyInvite, rules)) return ACCEPT;
  return reject("third-party invite: no signature in signed matches the invite's public keys");
}

function decodeInviteKey(text: JsonValue | undefined): Uint8Array | undefined {
  const standard = decodePublicKey(text);
  if (standard) return standard;
  if (typeof text !== "string") return undefined;
  try {
    const key = decodeBase64Url(text);
    return key.length === 32 ? key : undefined;
  } catch {
    return undefined;
  }
}

/** True if any ed25519 signature in `signed` verifies under a public key of the invite. */
function signedByInviteKey(
  signed: JsonObject,
  thirdPartyInvite: RoomEvent,
  rules: RoomVersionRules,
): boolean {
  const keys: Uint8Array[] = [];
  const single = decodeInviteKey(thirdPartyInvite.content.public_key);
  if (single) keys.push(single);
  const list = thirdPartyInvite.content.public_keys;
  if (Array.isArray(list)) {
    for (const entry of list) {
      const key = isObject(entry) ? decodeInviteKey(entry.public_key) : undefined;
      if (key) keys.push(key);
    }
  }
  const signatures = signed.signatures;
  if (keys.length === 0 || !isObject(signatures)) return false;
  const options = { strict: rules.strictCanonicalJson };
  for (const signer in signatures) {
    const byKey = signatures[signer];
    if (!isObject(byKey)) continue;
    for (const keyId in byKey) {
      if (!keyId.startsWith("ed25519:")) continue;
      for (const key of keys) {
        if (verifyJsonSignatureSync(signed, signer, keyId, key, options)) return true;
      }
    }
  }
  return false;
}

function checkLeave(ctx: AuthContext, target: string): Verdict {
  const { event, state, rules } = ctx;
  const current = membershipIn(state, target);
  if (event.sender === target) {
    if (current === "invite" || current === "join" || (rules.knocking && current === "knock")) {
      return ACCEPT;
    }
    return reject(`leave: cannot leave from membership ${current ?? "none"}`);
  }
  if (membershipIn(state, event.sender) !== "join") return reject("kick: the sender is not joined");
  const senderLevel = contextPowerLevel(ctx, event.sender);
  const levels = contextLevels(ctx).levels;
  if (current === "ban" && senderLevel < levels.ban) {
    return reject("unban: the sender is below the ban level");
  }
  if (senderLevel >= levels.kick && contextPowerLevel(ctx, target) < senderLevel) return ACCEPT;
  return reject("kick: the sender is below the kick level or not above the target");
}

function checkBan(ctx: AuthContext, target: string): Verdict {
  const { event, state } = ctx;
  if (membershipIn(state, event.sender) !== "join") return reject("ban: the sender is not joined");
  const senderLevel = contextPowerLevel(ctx, event.sender);
  if (
    senderLevel >= contextLevels(ctx).levels.ban && contextPowerLevel(ctx, target) < senderLevel
  ) {
    return ACCEPT;
  }
  return reject("ban: the sender is below the ban level or not above the target");
}

function checkKnock(ctx: AuthContext, target: string): Verdict {
  const { event, state, rules } = ctx;
  const joinRule = joinRuleOf(ctx);
  if (joinRule !== "knock" && !(rules.knockRestricted && joinRule === "knock_restricted")) {
    return reject(`knock: the join rule ${JSON.stringify(joinRule)} does not allow knocking`);
  }
  if (event.sender !== target) return reject("knock: the sender is not the state_key");
  const current = membershipIn(state, target);
  if (current !== "ban" && current !== "invite" && current !== "join") return ACCEPT;
  return reject(`knock: the sender's membership is ${current}`);
}
