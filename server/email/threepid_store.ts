/**
 * Email addresses on accounts (the spec's third-party identifiers, "3PIDs", medium `email`)
 * and the validation sessions that prove a person reads an address.
 *
 * Keys:
 *
 * - `["threepid", "address", medium, address]` -> {@link ThreepidOwner}: who has the address
 *   (an address belongs to one account at most).
 * - `["threepid", "user", userId, medium, address]` -> {@link ThreepidRecord}: the account's
 *   addresses, for `GET /account/3pid`.
 * - `["email_session", "sid", sid]` -> {@link EmailSession} (expireIn): one `requestToken`.
 * - `["email_session", "attempt", sha256(client_secret), purpose, address]` -> the `sid` and
 *   `send_attempt` of the latest request, so a retried request gets the same session and no
 *   second mail.
 *
 * @module
 */

import { constantTimeEqual } from "../../crypto/tokens.ts";
import { secretHash } from "../store/kv_store.ts";

/** What a validation session is for. */
export type EmailPurpose = "password" | "add";

/** An address of an account. */
export interface ThreepidRecord {
  /** When the address was validated (ms since the epoch). */
  validatedTs: number;
  /** When it was added to the account. */
  addedTs: number;
}

/** The owner of an address. */
export interface ThreepidOwner extends ThreepidRecord {
  userId: string;
}

/** One `requestToken`: the mailed link's token, and whether the link was used. */
export interface EmailSession {
  purpose: EmailPurpose;
  /** The canonical address the mail went to. */
  address: string;
  /** SHA-256 (hex) of the client's `client_secret`. */
  clientSecretHash: string;
  /** SHA-256 (hex) of the token in the mailed link. */
  tokenHash: string;
  /** For a password reset: the account that had the address when the mail was sent. */
  userId: string | null;
  createdTs: number;
  /** The link works until then; the session is deleted then. */
  expiresTs: number;
  /** When the link was followed and confirmed; null before. */
  validatedTs: number | null;
  /** The client's `next_link`, offered on the page after validation. */
  nextLink: string | null;
}

/** Key builders of the 3PID store. */
export const threepidKeys = {
  owner: (medium: string, address: string): Deno.KvKey => ["threepid", "address", medium, address],
  ofUser: (userId: string): Deno.KvKey => ["threepid", "user", userId],
  userEntry: (userId: string, medium: string, address: string): Deno.KvKey => [
    "threepid",
    "user",
    userId,
    medium,
    address,
  ],
  session: (sid: string): Deno.KvKey => ["email_session", "sid", sid],
  attempt: (clientSecret: string, purpose: EmailPurpose, address: string): Deno.KvKey => [
    "email_session",
    "attempt",
    secretHash(clientSecret),
    purpose,
    address,
  ],
};

/** Longest address accepted (RFC 5321's path limit). */
export const MAX_ADDRESS_LENGTH = 254;

/**
 * The canonical form of an email address (trimmed, lower case, as Synapse stores them), or
 * null when it is not one address.
 */
export function canonicalEmail(text: string): string | null {
  const address = text.trim().toLowerCase();
  if (address.length > MAX_ADDRESS_LENGTH) return null;
  if (!/^[^\s@<>()",;:\\[\]]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(address)) return null;
  return address;
}

/** Who has an address, if anyone. */
export async function ownerOf(kv: Deno.Kv, address: string): Promise<ThreepidOwner | null> {
  return (await kv.get<ThreepidOwner>(threepidKeys.owner("email", address))).value;
}

/** An account's addresses, oldest first. */
export async function threepidsOf(
  kv: Deno.Kv,
  userId: string,
): Promise<{ medium: string; address: string; validated_at: number; added_at: number }[]> {
  const out = [];
  for await (const entry of kv.list<ThreepidRecord>({ prefix: threepidKeys.ofUser(userId) })) {
    out.push({
      medium: String(entry.key[3]),
      address: String(entry.key[4]),
      validated_at: entry.value.validatedTs,
      added_at: entry.value.addedTs,
    });
  }
  return out.sort((a, b) => a.added_at - b.added_at);
}

/**
 * Adds an address to an account in `op`, checked so that a concurrent addition of the same
 * address to another account makes the commit fail.
 */
export function addThreepid(
  op: Deno.AtomicOperation,
  owner: ThreepidOwner & { address: string },
): void {
  const { userId, address, validatedTs, addedTs } = owner;
  op.check({ key: threepidKeys.owner("email", address), versionstamp: null })
    .set(threepidKeys.owner("email", address), { userId, validatedTs, addedTs })
    .set(threepidKeys.userEntry(userId, "email", address), { validatedTs, addedTs });
}

/** Removes an address from an account; returns whether it was the account's. */
export async function deleteThreepid(
  kv: Deno.Kv,
  userId: string,
  address: string,
): Promise<boolean> {
  const owner = await kv.get<ThreepidOwner>(threepidKeys.owner("email", address));
  const mine = owner.value?.userId === userId;
  const op = kv.atomic().delete(threepidKeys.userEntry(userId, "email", address));
  if (mine) op.check(owner).delete(owner.key);
  await op.commit();
  return mine;
}

/** Removes every address of an account (deactivation); returns them. */
export async function deleteAllThreepids(kv: Deno.Kv, userId: string): Promise<string[]> {
  const removed: string[] = [];
  for (const { address } of await threepidsOf(kv, userId)) {
    await deleteThreepid(kv, userId, address);
    removed.push(address);
  }
  return removed;
}

/** Whether `clientSecret` is the one the session was requested with. */
export function secretMatches(session: EmailSession, clientSecret: string): boolean {
  return constantTimeEqual(secretHash(clientSecret), session.clientSecretHash);
}

/** A session that exists, has not expired and whose link was confirmed. */
export async function validatedSession(
  kv: Deno.Kv,
  creds: { sid: string; clientSecret: string; purpose: EmailPurpose },
): Promise<Deno.KvEntry<EmailSession> | null> {
  if (creds.sid.length === 0 || creds.sid.length > 255) return null;
  const entry = await kv.get<EmailSession>(threepidKeys.session(creds.sid));
  const session = entry.value;
  if (!session || session.expiresTs <= Date.now() || session.purpose !== creds.purpose) {
    return null;
  }
  if (!secretMatches(session, creds.clientSecret) || session.validatedTs === null) return null;
  return entry as Deno.KvEntry<EmailSession>;
}
