/**
 * `requestToken` for email (spec: "Adding Account Administrative Contact Information" and
 * "Password management"): checks the request, rate-limits it, starts a validation session and
 * mails its link. Shared by `POST /account/password/email/requestToken` (the address must be on
 * an account) and `POST /account/3pid/email/requestToken` (it must be on none).
 *
 * @module
 */

import { randomToken } from "../../crypto/tokens.ts";
import { invalidParam, MatrixError } from "../errors.ts";
import { type JsonObject, optionalString, requiredString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { RateLimiter } from "../rate_limit.ts";
import { getUser } from "../store/accounts.ts";
import { secretHash } from "../store/kv_store.ts";
import { MailError, sendMail } from "./mailer.ts";
import { validationMail } from "./mail_texts.ts";
import {
  canonicalEmail,
  type EmailPurpose,
  type EmailSession,
  ownerOf,
  threepidKeys,
} from "./threepid_store.ts";

const CLIENT_SECRET = /^[0-9a-zA-Z.=_-]{1,255}$/;

/**
 * Mails per client address and per recipient address: a few at once, then one every few
 * minutes, so the server can neither be used to flood an inbox nor to test many addresses.
 */
const EMAIL_LIMITS = {
  email_ip: { perSecond: 1 / 60, burst: 5 },
  email_address: { perSecond: 1 / 300, burst: 5 },
};

const limiters = new WeakMap<Homeserver, RateLimiter>();

function limiterOf(hs: Homeserver): RateLimiter {
  let limiter = limiters.get(hs);
  if (!limiter) limiters.set(hs, limiter = new RateLimiter(EMAIL_LIMITS));
  return limiter;
}

/** 400 M_THREEPID_MEDIUM_NOT_SUPPORTED: the server sends no mail. */
export function emailOff(): MatrixError {
  return new MatrixError(
    "M_THREEPID_MEDIUM_NOT_SUPPORTED",
    "This server does not send email (no [email] smtp_host)",
  );
}

/** The checked fields of a `requestToken` body. */
interface TokenRequest {
  clientSecret: string;
  address: string;
  sendAttempt: number;
  nextLink: string | null;
}

function parseRequest(body: JsonObject): TokenRequest {
  const clientSecret = requiredString(body, "client_secret", { maxBytes: 255 });
  if (!CLIENT_SECRET.test(clientSecret)) {
    throw invalidParam("'client_secret' must be 1 to 255 of the characters [0-9a-zA-Z.=_-]");
  }
  const email = requiredString(body, "email", { maxBytes: 512 });
  const address = canonicalEmail(email);
  if (address === null) throw invalidParam("'email' is not an email address");
  const sendAttempt = body.send_attempt;
  if (typeof sendAttempt !== "number" || !Number.isSafeInteger(sendAttempt) || sendAttempt < 0) {
    throw new MatrixError("M_BAD_JSON", "'send_attempt' must be a non-negative integer");
  }
  const nextLink = optionalString(body, "next_link", { maxBytes: 2048 }) ?? null;
  if (nextLink !== null && !/^https?:\/\/[^\s]+$/i.test(nextLink)) {
    throw invalidParam("'next_link' must be an http(s) URL");
  }
  return { clientSecret, address, sendAttempt, nextLink };
}

/**
 * Handles one `requestToken`: the same `client_secret`, address and a `send_attempt` not above
 * the last one get the earlier session back and no new mail (the spec's retry rule).
 *
 * @returns the session ID (`sid`)
 * @throws {MatrixError} 400 M_THREEPID_NOT_FOUND (password reset, address on no account),
 *   M_THREEPID_IN_USE (adding an address another account has), M_INVALID_PARAM, 429
 */
export async function requestEmailToken(
  hs: Homeserver,
  body: JsonObject,
  options: { purpose: EmailPurpose; ip: string },
): Promise<string> {
  if (!hs.config.email.enabled) throw emailOff();
  const request = parseRequest(body);
  const { purpose } = options;
  const attemptKey = threepidKeys.attempt(request.clientSecret, purpose, request.address);
  const previous = await hs.kv.get<{ sid: string; sendAttempt: number }>(attemptKey);
  if (previous.value && previous.value.sendAttempt >= request.sendAttempt) {
    const session = await hs.kv.get(threepidKeys.session(previous.value.sid));
    if (session.value) return previous.value.sid;
  }
  // Taken before the address is looked up, so answers about addresses are limited as well.
  const limiter = limiterOf(hs);
  limiter.check("email_ip", options.ip);
  limiter.check("email_address", request.address);

  const owner = await ownerOf(hs.kv, request.address);
  let userId: string | null = null;
  if (purpose === "password") {
    const user = owner ? await getUser(hs.kv, owner.userId) : null;
    if (!owner || !user || user.deactivated) {
      // Synapse's answer and the spec's: the address is on no account here.
      throw new MatrixError("M_THREEPID_NOT_FOUND", "No account has this email address");
    }
    if (user.passwordHash === null) {
      // Signed in through the organisation (LDAP, OpenID Connect, JWT; docs/auth.md): a local
      // password set by mail would outlive the organisation's say.
      throw new MatrixError(
        "M_FORBIDDEN",
        "This account signs in through its organisation: change the password there",
        { status: 403 },
      );
    }
    userId = owner.userId;
  } else if (owner) {
    throw new MatrixError("M_THREEPID_IN_USE", "This email address is already on an account");
  }

  const sid = randomToken(18);
  const token = randomToken(24);
  const now = Date.now();
  const lifetime = hs.config.email.tokenLifetimeMs;
  const session: EmailSession = {
    purpose,
    address: request.address,
    clientSecretHash: secretHash(request.clientSecret),
    tokenHash: secretHash(token),
    userId,
    createdTs: now,
    expiresTs: now + lifetime,
    validatedTs: null,
    nextLink: request.nextLink,
  };
  await hs.kv.atomic()
    .set(threepidKeys.session(sid), session, { expireIn: lifetime })
    .set(attemptKey, { sid, sendAttempt: request.sendAttempt }, { expireIn: lifetime })
    .commit();
  const link = `${hs.config.email.publicLinkBase}/_gemeng/email/validate?sid=${
    encodeURIComponent(sid)
  }&token=${encodeURIComponent(token)}`;
  try {
    await sendMail(hs, validationMail(hs, { purpose, to: request.address, userId, link }));
  } catch (err) {
    // Nothing stays: the client's retry with the same send_attempt mails again.
    await hs.kv.atomic().delete(threepidKeys.session(sid)).delete(attemptKey).commit();
    hs.log.error(`email: ${err instanceof MailError ? err.message : String(err)}`);
    // The SMTP server (upstream) failed: a gateway error, as for other upstream failures.
    throw new MatrixError("M_UNKNOWN", "The email could not be sent; try again later", {
      status: 502,
    });
  }
  return sid;
}
