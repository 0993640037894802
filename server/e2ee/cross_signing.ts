/**
 * Cross-signing keys and signatures. A user's three keys live under
 * `["e2ee_cross_signing", userId, usage]` with the signatures their owner made merged in; a
 * signature by one user's user-signing key on another user's master key is kept apart, keyed by
 * the signer, because the spec lets only the signer see it.
 *
 * @module
 */

import { decodePublicKey, verifyJsonSignature } from "../../crypto/signing.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { addDeviceListChange, wakeDeviceListWatchers } from "./device_lists.ts";
import { noteSignatureWrite } from "./sync_memory.ts";
import { commitAtPosition } from "./positions.ts";
import { wakeUsers } from "../sync/positions.ts";
import { accountKeys } from "../store/kv_store.ts";
import {
  type CrossSigningUsage,
  type DeviceE2eeRecord,
  e2eeKeys,
  type JsonObject,
} from "./schema.ts";
import { utf8Length } from "../http_util.ts";
import {
  canonical,
  invalidSignature,
  isObject,
  MAX_DEVICE_ID_BYTES,
  type ParsedCrossSigningKey,
  sameSignedContent,
} from "./validate.ts";

/**
 * Longest key ID a signed object may be named by: a device ID (at most
 * {@link MAX_DEVICE_ID_BYTES}) or an unpadded base64 Ed25519 key.
 */
const MAX_KEY_ID_BYTES = MAX_DEVICE_ID_BYTES;

/** The usages in storage order. */
export const USAGES: readonly CrossSigningUsage[] = ["master", "self_signing", "user_signing"];

/** A user's stored cross-signing keys. */
export type CrossSigningKeys = Partial<Record<CrossSigningUsage, JsonObject>>;

/** Reads a user's cross-signing keys with their entries (for checks). */
export async function getCrossSigningEntries(
  kv: Deno.Kv,
  userId: string,
): Promise<Deno.KvEntryMaybe<JsonObject>[]> {
  return await kv.getMany<JsonObject[]>(USAGES.map((u) => e2eeKeys.crossSigningKey(userId, u)));
}

/** Reads a user's cross-signing keys. */
export async function getCrossSigningKeys(kv: Deno.Kv, userId: string): Promise<CrossSigningKeys> {
  const entries = await getCrossSigningEntries(kv, userId);
  const keys: CrossSigningKeys = {};
  USAGES.forEach((usage, i) => {
    const value = entries[i].value;
    if (value) keys[usage] = value;
  });
  return keys;
}

/** The single `ed25519:<pub>` key ID and public key of a stored cross-signing key. */
export function crossSigningPublicKey(key: JsonObject): { keyId: string; publicKey: Uint8Array } {
  const [[keyId, pub]] = Object.entries(key.keys as Record<string, string>);
  return { keyId, publicKey: decodePublicKey(pub)! };
}

/** An upload of cross-signing keys, validated in shape. */
export type CrossSigningUpload = Partial<Record<CrossSigningUsage, ParsedCrossSigningKey>>;

/** What {@link planCrossSigningUpload} found. */
export interface CrossSigningPlan {
  /** The request changes nothing that is stored (same keys re-uploaded). */
  unchanged: boolean;
  /** A master key was already stored (so changing keys needs user-interactive auth). */
  hasMaster: boolean;
  /** The entries read, to be checked at commit time. */
  entries: Deno.KvEntryMaybe<JsonObject>[];
}

/**
 * Checks an upload against what is stored: the self-signing and user-signing keys must be
 * signed by the uploaded (or else the stored) master key, and no public key may equal one of
 * the user's device IDs.
 *
 * @throws {MatrixError} M_MISSING_PARAM without any master key, M_INVALID_SIGNATURE for a
 *   missing or bad master signature, M_FORBIDDEN for a key that collides with a device ID
 */
export async function planCrossSigningUpload(
  kv: Deno.Kv,
  userId: string,
  upload: CrossSigningUpload,
): Promise<CrossSigningPlan> {
  const entries = await getCrossSigningEntries(kv, userId);
  const storedMaster = entries[0].value;
  const master = upload.master?.key ?? storedMaster;
  if (!master) {
    throw new MatrixError("M_MISSING_PARAM", "Upload a master key before the other keys");
  }
  const { keyId: masterKeyId, publicKey: masterPublic } = crossSigningPublicKey(master);
  for (const usage of ["self_signing", "user_signing"] as const) {
    const key = upload[usage];
    if (!key) continue;
    if (!(await verifyJsonSignature(key.key, userId, masterKeyId, masterPublic))) {
      throw invalidSignature(`The ${usage.replace("_", "-")} key must be signed by the master key`);
    }
  }
  for (const usage of USAGES) {
    const key = upload[usage];
    if (!key) continue;
    const device = await kv.get(accountKeys.device(userId, key.publicKeyBase64));
    if (device.value) {
      throw new MatrixError("M_FORBIDDEN", "A cross-signing key equals one of your device IDs", {
        status: 403,
      });
    }
  }
  const unchanged = USAGES.every((usage, i) => {
    const key = upload[usage];
    const stored = entries[i].value;
    return !key || (stored !== null && sameSignedContent(key.key, stored));
  });
  return { unchanged, hasMaster: storedMaster !== null, entries };
}

/**
 * Stores the keys of a planned upload in one commit with the device-list change. A new master
 * key invalidates the stored self-signing and user-signing keys unless they are replaced too.
 *
 * @param prepare adds the mutations of the authorising step (e.g. deleting the UIA session)
 * @returns false when the stored keys changed since planning (the caller plans again)
 */
export async function storeCrossSigningUpload(
  hs: Homeserver,
  userId: string,
  upload: { keys: CrossSigningUpload; plan: CrossSigningPlan },
  prepare?: (op: Deno.AtomicOperation) => void,
): Promise<boolean> {
  const { keys, plan } = upload;
  const newMaster = keys.master !== undefined && (plan.entries[0].value === null ||
    !sameSignedContent(keys.master.key, plan.entries[0].value));
  const pos = await commitAtPosition(hs, async (op, pos) => {
    prepare?.(op);
    USAGES.forEach((usage, i) => {
      const entry = plan.entries[i];
      op.check(entry);
      const key = keys[usage];
      if (key) op.set(entry.key, key.key);
      else if (newMaster && usage !== "master") op.delete(entry.key);
    });
    await addDeviceListChange(hs.kv, op, { userId, pos, crossSigning: true });
  }, { attempts: 1 });
  if (pos !== null) wakeDeviceListWatchers(hs, userId, pos);
  return pos !== null;
}

/** One failed signature of `/keys/signatures/upload`. */
export interface SignatureFailure {
  errcode: string;
  error: string;
}

function failure(errcode: string, error: string): SignatureFailure {
  return { errcode, error };
}

/**
 * Processes `/keys/signatures/upload`: for each signed object, checks that it matches the
 * stored key and that the new signature is by the key allowed to make it, then stores it.
 *
 * - own device keys: signed by the caller's self-signing key;
 * - own master key: signed by one of the caller's devices;
 * - another user's master key: signed by the caller's user-signing key (kept private).
 *
 * @returns failures keyed by user ID then key ID
 */
export async function uploadSignatures(
  hs: Homeserver,
  signerUserId: string,
  body: JsonObject,
): Promise<Record<string, Record<string, SignatureFailure>>> {
  const failures: Record<string, Record<string, SignatureFailure>> = {};
  const own = await getCrossSigningKeys(hs.kv, signerUserId);
  for (const [targetUserId, keysById] of Object.entries(body)) {
    if (!isObject(keysById)) {
      throw new MatrixError("M_BAD_JSON", `'${targetUserId}' must map key IDs to signed objects`);
    }
    for (const [keyId, signed] of Object.entries(keysById)) {
      let outcome: SignatureFailure | null;
      if (utf8Length(keyId) > MAX_KEY_ID_BYTES) {
        outcome = failure("M_INVALID_PARAM", "No key has an ID that long");
      } else if (!isObject(signed) || !isObject(signed.signatures)) {
        outcome = failure("M_BAD_JSON", "Expected a signed JSON object");
      } else if (targetUserId === signerUserId) {
        outcome = await signOwnKey(hs, { userId: signerUserId, keyId, signed, own });
      } else {
        outcome = await signOtherMasterKey(hs, {
          signerUserId,
          targetUserId,
          keyId,
          signed,
          own,
        });
      }
      if (outcome) (failures[targetUserId] ??= {})[keyId] = outcome;
    }
  }
  return failures;
}

/** The signatures in `signed` by `userId` that `stored` does not have yet. */
function newSignatures(
  signed: JsonObject,
  stored: JsonObject,
  userId: string,
): Record<string, string> {
  const given = (signed.signatures as Record<string, unknown>)[userId];
  if (!isObject(given)) return {};
  const old = isObject(stored.signatures) && isObject(stored.signatures[userId])
    ? stored.signatures[userId] as Record<string, string>
    : {};
  const fresh: Record<string, string> = {};
  for (const [keyId, sig] of Object.entries(given)) {
    if (typeof sig === "string" && old[keyId] !== sig) fresh[keyId] = sig;
  }
  return fresh;
}

function withSignatures(
  stored: JsonObject,
  userId: string,
  added: Record<string, string>,
): JsonObject {
  const signatures = isObject(stored.signatures) ? { ...stored.signatures } : {};
  signatures[userId] = { ...(isObject(signatures[userId]) ? signatures[userId] : {}), ...added };
  return { ...stored, signatures };
}

async function signOwnKey(
  hs: Homeserver,
  args: { userId: string; keyId: string; signed: JsonObject; own: CrossSigningKeys },
): Promise<SignatureFailure | null> {
  const { userId, keyId, signed, own } = args;
  const { kv } = hs;
  const master = own.master ? crossSigningPublicKey(own.master) : null;
  const isMaster = master !== null && master.keyId === `ed25519:${keyId}`;
  const entry = isMaster
    ? await kv.get<JsonObject>(e2eeKeys.crossSigningKey(userId, "master"))
    : await kv.get<DeviceE2eeRecord>(e2eeKeys.device(userId, keyId));
  const stored = isMaster
    ? entry.value as JsonObject | null
    : (entry.value as DeviceE2eeRecord | null)?.deviceKeys ?? null;
  if (!stored) return failure("M_NOT_FOUND", "No such device or key");
  if (!sameSignedContent(signed, stored)) {
    return failure("M_INVALID_PARAM", "The signed object does not match the stored key");
  }
  if (!isObject((signed.signatures as JsonObject)[userId])) {
    return failure("M_INVALID_SIGNATURE", "No signature by one of your keys");
  }
  const fresh = newSignatures(signed, stored, userId);
  if (Object.keys(fresh).length === 0) return null; // already stored: a retried request
  for (const [signerKeyId, _] of Object.entries(fresh)) {
    let publicKey: Uint8Array | null = null;
    if (isMaster) {
      // Devices sign their own master key.
      const deviceId = signerKeyId.slice("ed25519:".length);
      if (utf8Length(deviceId) <= MAX_DEVICE_ID_BYTES) {
        const device = await kv.get<DeviceE2eeRecord>(e2eeKeys.device(userId, deviceId));
        const keys = device.value?.deviceKeys?.keys as Record<string, string> | undefined;
        publicKey = decodePublicKey(keys?.[signerKeyId]);
      }
    } else if (own.self_signing) {
      const ssk = crossSigningPublicKey(own.self_signing);
      if (ssk.keyId === signerKeyId) publicKey = ssk.publicKey;
    }
    if (!publicKey) {
      return failure(
        "M_INVALID_SIGNATURE",
        isMaster
          ? `${signerKeyId} is not one of your devices' keys`
          : "Devices must be signed by your self-signing key",
      );
    }
    if (!(await verifyJsonSignature(signed, userId, signerKeyId, publicKey))) {
      return failure("M_INVALID_SIGNATURE", `Invalid signature by ${signerKeyId}`);
    }
  }
  const updated = withSignatures(stored, userId, fresh);
  const pos = await commitAtPosition(hs, async (op, pos) => {
    op.check(entry);
    if (isMaster) op.set(entry.key, updated);
    else op.set(entry.key, { ...(entry.value as DeviceE2eeRecord), deviceKeys: updated });
    await addDeviceListChange(kv, op, {
      userId,
      pos,
      deviceIds: isMaster ? [] : [keyId],
      crossSigning: isMaster,
    });
  }, { attempts: 1 });
  if (pos !== null) wakeDeviceListWatchers(hs, userId, pos);
  return pos === null ? failure("M_UNKNOWN", "The key changed meanwhile; try again") : null;
}

async function signOtherMasterKey(
  hs: Homeserver,
  args: {
    signerUserId: string;
    targetUserId: string;
    keyId: string;
    signed: JsonObject;
    own: CrossSigningKeys;
  },
): Promise<SignatureFailure | null> {
  const { signerUserId, targetUserId, keyId, signed, own } = args;
  const { kv } = hs;
  // A remote user's master key is the one cached from their server (device_lists_remote.ts).
  const remote = serverNameOf(targetUserId) !== hs.config.serverName;
  const entry = remote
    ? await kv.get<{ master?: JsonObject }>(e2eeKeys.remoteUser(targetUserId))
    : await kv.get<JsonObject>(e2eeKeys.crossSigningKey(targetUserId, "master"));
  const stored = remote
    ? (entry.value as { master?: JsonObject } | null)?.master
    : entry.value as JsonObject | null;
  if (!stored || crossSigningPublicKey(stored).keyId !== `ed25519:${keyId}`) {
    return failure("M_NOT_FOUND", "Only another user's current master key can be signed");
  }
  if (canonical(signed.keys, "keys") !== canonical(stored.keys, "keys")) {
    return failure("M_INVALID_PARAM", "The signed object does not match the stored key");
  }
  if (!sameSignedContent(signed, stored)) {
    return failure("M_INVALID_PARAM", "The signed object does not match the stored key");
  }
  if (!own.user_signing) {
    return failure("M_INVALID_SIGNATURE", "Upload a user-signing key first");
  }
  const usk = crossSigningPublicKey(own.user_signing);
  if (!(await verifyJsonSignature(signed, signerUserId, usk.keyId, usk.publicKey))) {
    return failure("M_INVALID_SIGNATURE", `Missing or invalid signature by ${usk.keyId}`);
  }
  const signature = ((signed.signatures as JsonObject)[signerUserId] as Record<string, string>)[
    usk.keyId
  ];
  const pos = await commitAtPosition(hs, (op, pos) => {
    op.check(entry);
    op.set(
      e2eeKeys.crossUserSignature(
        { userId: signerUserId, keyId: usk.keyId },
        { userId: targetUserId, keyId: `ed25519:${keyId}` },
      ),
      signature,
    );
    // Only the signer may see the signature, so only the signer's devices are told: the
    // target shows up in their device_lists.changed (as Synapse's user-signature stream).
    noteSignatureWrite(hs.kv, pos);
    op.set(e2eeKeys.userSignatureChange(pos, signerUserId, targetUserId), true);
  }, { attempts: 1 });
  if (pos !== null) wakeUsers(hs, [signerUserId], pos);
  return pos === null ? failure("M_UNKNOWN", "The key changed meanwhile; try again") : null;
}

/**
 * The signatures `signerUserId` made on other users' master keys:
 * target user ID -> target key ID -> signer key ID -> signature.
 */
export async function crossUserSignaturesBy(
  kv: Deno.Kv,
  signerUserId: string,
): Promise<Map<string, Map<string, Record<string, string>>>> {
  const result = new Map<string, Map<string, Record<string, string>>>();
  for await (
    const entry of kv.list<string>({ prefix: e2eeKeys.crossUserSignaturesBy(signerUserId) })
  ) {
    const [, , target, targetKeyId, signerKeyId] = entry.key as string[];
    let byKey = result.get(target);
    if (!byKey) result.set(target, byKey = new Map());
    byKey.set(targetKeyId, { ...byKey.get(targetKeyId), [signerKeyId]: entry.value });
  }
  return result;
}

/** Adds a signer's private signatures to a copy of a master key. */
export function withCrossUserSignatures(
  key: JsonObject,
  signerUserId: string,
  signatures: Record<string, string> | undefined,
): JsonObject {
  if (!signatures) return key;
  return withSignatures(key, signerUserId, signatures);
}
