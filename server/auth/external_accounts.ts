/**
 * Accounts that an outside authority vouches for (a JWT issuer, the LDAP directory, an OpenID
 * provider): the link from the outside ID to the local user, and the account created on the
 * first sign-in. See docs/auth.md.
 *
 * @module
 */

import { setProfileByAdmin } from "../admin/user_accounts.ts";
import { addThreepid, canonicalEmail, ownerOf } from "../email/threepid_store.ts";
import { forbidden } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { createUser, getUser, userIdForLocalpart } from "../store/accounts.ts";
import { utf8Length } from "../http_util.ts";

/** Who vouches: `jwt`, `ldap` or `oidc:<idp id>`. */
export type AuthProvider = string;

/** `["external_id", provider, externalId]` -> this record. */
export interface ExternalIdRecord {
  userId: string;
  createdTs: number;
}

/** The key of an outside ID's link. */
export function externalIdKey(provider: AuthProvider, externalId: string): Deno.KvKey {
  return ["external_id", provider, externalId];
}

/** What an outside authority says about the person signing in. */
export interface ExternalIdentity {
  provider: AuthProvider;
  /** The provider's stable ID of the person (LDAP user name, OIDC `iss`+`sub`, JWT subject). */
  externalId: string;
  /** The wanted localpart, lower-cased before use. */
  localpart: string;
  displayName?: string;
  /** An email address the authority vouches for; added to a new account when nobody has it. */
  email?: string;
}

/** Options of {@link provisionUser}. */
export interface ProvisionOptions {
  /** A local account of the wanted name without a link may be linked (else M_FORBIDDEN). */
  allowExisting: boolean;
}

/** Maps an outside user name to a localpart, or throws M_FORBIDDEN when it cannot be one. */
export function localUserId(hs: Homeserver, name: string): string {
  try {
    return userIdForLocalpart(name.toLowerCase(), hs.config.serverName);
  } catch {
    throw forbidden(`'${name.slice(0, 64)}' cannot be a user name on this server`);
  }
}

/**
 * Finds the local account of an outside identity, creating it (with the display name) on the
 * first sign-in and linking it to the outside ID in the same commit.
 *
 * @returns the user ID; deactivation is checked by the login that follows
 * @throws {MatrixError} M_FORBIDDEN when the name is taken by an unlinked account that may not
 *   be linked, or cannot be a localpart
 */
export async function provisionUser(
  hs: Homeserver,
  identity: ExternalIdentity,
  options: ProvisionOptions,
): Promise<string> {
  if (utf8Length(identity.externalId) > 1024) throw forbidden("The outside user ID is too long");
  const key = externalIdKey(identity.provider, identity.externalId);
  const linked = await hs.kv.get<ExternalIdRecord>(key);
  if (linked.value) return linked.value.userId;
  const userId = localUserId(hs, identity.localpart);
  const link: ExternalIdRecord = { userId, createdTs: Date.now() };
  const existing = await getUser(hs.kv, userId);
  if (existing) {
    if (!options.allowExisting) {
      throw forbidden(`The user name of ${userId} is taken by an account of this server`);
    }
    await hs.kv.atomic().check(linked).set(key, link).commit();
    return userId;
  }
  try {
    await createUser(hs.kv, { userId, passwordHash: null }, {
      prepare: (op) => void op.check(linked).set(key, link),
    });
  } catch (err) {
    // A concurrent first sign-in of the same person created it: use that account.
    const again = await hs.kv.get<ExternalIdRecord>(key);
    if (again.value) return again.value.userId;
    throw err;
  }
  await hs.notify("userRegistered", userId);
  const displayName = identity.displayName?.trim().slice(0, 200);
  if (displayName) await setProfileByAdmin(hs, userId, { key: "displayname", value: displayName });
  if (identity.email) await addVouchedEmail(hs, userId, identity.email);
  return userId;
}

async function addVouchedEmail(hs: Homeserver, userId: string, email: string): Promise<void> {
  const address = canonicalEmail(email);
  if (!address || await ownerOf(hs.kv, address)) return;
  const now = Date.now();
  const op = hs.kv.atomic();
  addThreepid(op, { userId, address, validatedTs: now, addedTs: now });
  // Another account taking the address meanwhile makes the commit fail: it keeps it.
  await op.commit();
}

/** The links of one provider: outside ID and user ID. */
export async function* linkedAccounts(
  hs: Homeserver,
  provider: AuthProvider,
): AsyncGenerator<{ externalId: string; userId: string }> {
  const prefix: Deno.KvKey = ["external_id", provider];
  for await (const entry of hs.kv.list<ExternalIdRecord>({ prefix })) {
    yield { externalId: String(entry.key[2]), userId: entry.value.userId };
  }
}
