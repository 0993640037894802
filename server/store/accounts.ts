/**
 * User accounts and registration tokens on Deno KV. Passwords arrive already hashed
 * (crypto/password.ts); this module never sees a plain password or stores a plain token.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import { MatrixError } from "../errors.ts";
import { utf8Length } from "../http_util.ts";
import { addDeviceSession, type IssuedTokens, type IssueOptions } from "./devices.ts";
import {
  accountKeys,
  type DeviceRecord,
  type RegistrationTokenRecord,
  secretHash,
  type UserRecord,
} from "./kv_store.ts";
import { ContentionError, inTurn } from "./turns.ts";

/** Characters allowed in a user ID localpart (the spec's user ID grammar). */
const LOCALPART = /^[a-z0-9._=\-\/+]+$/;

/** The spec's limit on the length of a full user ID, in bytes. */
export const MAX_USER_ID_BYTES = 255;

/**
 * Checks a requested username and returns the full user ID.
 *
 * @throws {MatrixError} M_INVALID_USERNAME
 */
export function userIdForLocalpart(localpart: string, serverName: string): string {
  if (localpart === "" || !LOCALPART.test(localpart)) {
    throw new MatrixError(
      "M_INVALID_USERNAME",
      "User names may contain only lowercase letters, digits and . _ = - / +",
    );
  }
  const userId = `@${localpart}:${serverName}`;
  if (utf8Length(userId) > MAX_USER_ID_BYTES) {
    throw new MatrixError(
      "M_INVALID_USERNAME",
      `The user ID must be at most ${MAX_USER_ID_BYTES} bytes long`,
    );
  }
  return userId;
}

/**
 * Resolves what a client typed at login (`alice`, `Alice` or `@alice:server`) to a local user
 * ID, or null when it cannot name a local user.
 */
export function resolveLoginUser(input: string, serverName: string): string | null {
  let localpart = input;
  if (input.startsWith("@")) {
    const colon = input.indexOf(":");
    if (colon < 0 || input.slice(colon + 1) !== serverName) return null;
    localpart = input.slice(1, colon);
  }
  localpart = localpart.toLowerCase();
  if (!LOCALPART.test(localpart)) return null;
  return `@${localpart}:${serverName}`;
}

/** A localpart for registrations that do not choose a username. */
export function generateLocalpart(): string {
  return `u${randomString(11, "abcdefghijklmnopqrstuvwxyz0123456789")}`;
}

/** Reads a user account with its versionstamp. */
export function getUserEntry(
  kv: Deno.Kv,
  userId: string,
): Promise<Deno.KvEntryMaybe<UserRecord>> {
  return kv.get<UserRecord>(accountKeys.user(userId));
}

/** Reads a user account. */
export async function getUser(kv: Deno.Kv, userId: string): Promise<UserRecord | null> {
  return (await getUserEntry(kv, userId)).value;
}

/** The user ID is taken (or reserved by a deactivated account). */
export function userInUse(): MatrixError {
  return new MatrixError("M_USER_IN_USE", "That user ID is already taken");
}

/**
 * Creates a user account, optionally logging in a first device, in one commit that fails if
 * the ID is taken. `prepare` adds the caller's own checks and mutations (e.g. consuming a
 * registration token, deleting the UIA session) to the same commit.
 *
 * @throws {MatrixError} M_USER_IN_USE when the ID exists (also when a concurrent
 *   registration of the same ID wins)
 */
export async function createUser(
  kv: Deno.Kv,
  account: { userId: string; passwordHash: string | null; admin?: boolean; isGuest?: boolean },
  options: {
    login?: IssueOptions;
    prepare?: (op: Deno.AtomicOperation) => void | Promise<void>;
    now?: number;
  } = {},
): Promise<IssuedTokens | null> {
  const userKey = accountKeys.user(account.userId);
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await kv.get(userKey);
    if (existing.versionstamp !== null) throw userInUse();
    const op = kv.atomic().check({ key: userKey, versionstamp: null });
    const record: UserRecord = {
      userId: account.userId,
      passwordHash: account.passwordHash,
      admin: account.admin ?? false,
      deactivated: false,
      createdTs: options.now ?? Date.now(),
    };
    if (account.isGuest) record.isGuest = true;
    op.set(userKey, record);
    let tokens: IssuedTokens | null = null;
    if (options.login) {
      const deviceKey = accountKeys.device(account.userId, options.login.deviceId ?? "");
      if (options.login.deviceId) op.check({ key: deviceKey, versionstamp: null });
      tokens = addDeviceSession(op, { userId: account.userId, existing: null }, options.login);
    }
    if (options.prepare) await options.prepare(op);
    if ((await op.commit()).ok) return tokens;
  }
  throw userInUse();
}

/**
 * Logs in a device for an existing user: creates it, or re-keys it when `deviceId` names one
 * of the user's devices. The commit checks that the user record is unchanged since
 * `userEntry` was read, so a login racing a deactivation or password change fails.
 *
 * @returns the tokens, or null when the user record changed meanwhile (re-verify and retry)
 */
export async function loginDevice(
  kv: Deno.Kv,
  userEntry: Deno.KvEntry<UserRecord>,
  options: IssueOptions,
): Promise<IssuedTokens | null> {
  const userId = userEntry.value.userId;
  const deviceId = options.deviceId;
  const existing = deviceId
    ? await kv.get<DeviceRecord>(accountKeys.device(userId, deviceId))
    : null;
  const op = kv.atomic().check(userEntry);
  if (existing) op.check(existing);
  const tokens = addDeviceSession(op, { userId, existing: existing?.value ?? null }, options);
  if (!existing) op.check({ key: accountKeys.device(userId, tokens.deviceId), versionstamp: null });
  return (await op.commit()).ok ? tokens : null;
}

/**
 * Applies `change` to a user record in one commit (retried on conflict). `prepare` may add
 * more mutations to the same commit.
 *
 * @returns the new record, or null when the user does not exist
 */
export async function updateUser(
  kv: Deno.Kv,
  userId: string,
  change: (user: UserRecord) => UserRecord,
): Promise<UserRecord | null> {
  return await inTurn(kv, ["user", userId], async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await getUserEntry(kv, userId);
      if (!entry.value) return null;
      const next = change(entry.value);
      if ((await kv.atomic().check(entry).set(entry.key, next).commit()).ok) return next;
    }
    throw new ContentionError("user update");
  });
}

/** The outcome of checking a registration token. */
export type RegistrationTokenCheck =
  | { valid: true; entry: Deno.KvEntry<RegistrationTokenRecord> }
  | { valid: false };

/** Checks whether a registration token exists, is unexpired and has uses left. */
export async function checkRegistrationToken(
  kv: Deno.Kv,
  tokenHash: string,
  options: { now?: number } = {},
): Promise<RegistrationTokenCheck> {
  const entry = await kv.get<RegistrationTokenRecord>(accountKeys.registrationToken(tokenHash));
  if (!entry.value) return { valid: false };
  const record = entry.value;
  if (record.expiryTs !== null && record.expiryTs <= (options.now ?? Date.now())) {
    return { valid: false };
  }
  if (record.usesAllowed !== null && record.completed >= record.usesAllowed) {
    return { valid: false };
  }
  return { valid: true, entry: entry as Deno.KvEntry<RegistrationTokenRecord> };
}

/**
 * Adds to `op` the use of a registration token: the token must still be valid, and its count
 * goes up in the same commit as the registration, so N uses allow exactly N accounts.
 *
 * @throws {MatrixError} 401-style M_FORBIDDEN when the token is no longer valid
 */
export async function addRegistrationTokenUse(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  tokenHash: string,
): Promise<void> {
  const check = await checkRegistrationToken(kv, tokenHash);
  if (!check.valid) {
    throw new MatrixError("M_FORBIDDEN", "The registration token is no longer valid", {
      status: 401,
    });
  }
  const record = check.entry.value;
  op.check(check.entry).set(check.entry.key, { ...record, completed: record.completed + 1 });
}

/** Alphabet of generated registration tokens (the spec's opaque identifier grammar). */
const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A registration token that is already there (`createRegistrationToken` with `token`). */
export class TokenExistsError extends Error {
  /** Always `TOKEN_EXISTS`. */
  readonly code = "TOKEN_EXISTS";
  constructor() {
    super("The registration token already exists");
    this.name = "TokenExistsError";
  }
}

/**
 * Creates a registration token (`token`, or a random one of `length` characters, default 24)
 * and returns it. The record is keyed by the token's hash and keeps the token for admins.
 *
 * @throws {TokenExistsError} when the given token exists
 */
export async function createRegistrationToken(
  kv: Deno.Kv,
  options: {
    usesAllowed?: number | null;
    expiryTs?: number | null;
    now?: number;
    token?: string;
    length?: number;
  } = {},
): Promise<string> {
  const token = options.token ?? randomString(options.length ?? 24, TOKEN_ALPHABET);
  const record: RegistrationTokenRecord = {
    usesAllowed: options.usesAllowed ?? null,
    completed: 0,
    expiryTs: options.expiryTs ?? null,
    createdTs: options.now ?? Date.now(),
    token,
  };
  const key = accountKeys.registrationToken(secretHash(token));
  const result = await kv.atomic().check({ key, versionstamp: null }).set(key, record).commit();
  if (!result.ok) throw new TokenExistsError();
  return token;
}
