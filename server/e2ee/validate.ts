/**
 * Validation of uploaded key material at the edge: device keys, one-time and fallback keys,
 * cross-signing keys. Every function either returns a typed value whose signatures have been
 * checked, or throws the spec's error; nothing is stored by this module.
 *
 * @module
 */

import { canonicalJson, CanonicalJsonError } from "../../crypto/canonical_json.ts";
import { decodePublicKey, verifyJsonSignature } from "../../crypto/signing.ts";
import { isValidUserId } from "../../federation/identifiers.ts";
import { badJson, invalidParam, MatrixError } from "../errors.ts";
import { utf8Length } from "../http_util.ts";
import type { CrossSigningUsage, JsonObject } from "./schema.ts";

/** Largest canonical JSON of one key object (device keys, cross-signing key). */
export const MAX_KEY_OBJECT_BYTES = 16 * 1024;
/** Largest canonical JSON of one one-time or fallback key. */
export const MAX_ONE_TIME_KEY_BYTES = 2048;
/** One-time keys accepted in one upload. */
export const MAX_ONE_TIME_KEYS_PER_UPLOAD = 200;
/** One-time keys a device may hold per algorithm. */
export const MAX_ONE_TIME_KEYS_PER_ALGORITHM = 1000;
/** Longest device ID (as login accepts them); longer ones name no device. */
export const MAX_DEVICE_ID_BYTES = 255;
/** Longest algorithm name and key ID part. */
const MAX_NAME_BYTES = 128;
/** Most algorithms a device may announce. */
const MAX_ALGORITHMS = 32;
/** Most identity keys a device may publish. */
const MAX_IDENTITY_KEYS = 32;

/** 400 M_INVALID_SIGNATURE. */
export function invalidSignature(message: string): MatrixError {
  return new MatrixError("M_INVALID_SIGNATURE", message);
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Canonical JSON of a value, with the spec's error when it cannot be encoded. */
export function canonical(value: unknown, what: string): string {
  try {
    return canonicalJson(value);
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw badJson(`${what}: ${err.message}`);
    throw err;
  }
}

/** True if two key objects are equal apart from `signatures` and `unsigned`. */
export function sameSignedContent(a: JsonObject, b: JsonObject): boolean {
  const { signatures: _s1, unsigned: _u1, ...restA } = a;
  const { signatures: _s2, unsigned: _u2, ...restB } = b;
  return canonicalJson(restA) === canonicalJson(restB);
}

/** A user ID from a request map key; throws M_INVALID_PARAM for a malformed one. */
export function checkUserId(userId: string, where: string): string {
  if (!isValidUserId(userId, { historical: true })) {
    throw invalidParam(`${where}: '${userId.slice(0, 80)}' is not a valid user ID`);
  }
  return userId;
}

/** Checks a `signatures` member: an object of objects of strings. */
function checkSignaturesShape(
  value: unknown,
  what: string,
): Record<string, Record<string, string>> {
  if (!isObject(value)) throw badJson(`${what}: 'signatures' must be an object`);
  for (const [entity, entry] of Object.entries(value)) {
    if (!isObject(entry)) throw badJson(`${what}: 'signatures.${entity}' must be an object`);
    for (const sig of Object.values(entry)) {
      if (typeof sig !== "string") throw badJson(`${what}: signatures must be strings`);
    }
  }
  return value as Record<string, Record<string, string>>;
}

/** Splits `<algorithm>:<id>`; throws unless both parts are non-empty and short. */
export function splitKeyId(keyId: string, what: string): { algorithm: string; id: string } {
  const colon = keyId.indexOf(":");
  if (colon <= 0 || colon === keyId.length - 1) {
    throw badJson(`${what}: key ID '${keyId.slice(0, 80)}' must look like '<algorithm>:<id>'`);
  }
  const algorithm = keyId.slice(0, colon);
  const id = keyId.slice(colon + 1);
  if (utf8Length(algorithm) > MAX_NAME_BYTES || utf8Length(id) > MAX_NAME_BYTES) {
    throw badJson(`${what}: key ID '${keyId.slice(0, 80)}...' is too long`);
  }
  return { algorithm, id };
}

/** Validated device identity keys. */
export interface ParsedDeviceKeys {
  /** The object to store (without `unsigned`). */
  deviceKeys: JsonObject;
  /**
   * The device's Ed25519 public key, which signs its other keys; null when the device
   * publishes none that decodes as one (the spec leaves key strings opaque to the server).
   */
  ed25519: Uint8Array | null;
}

/**
 * Validates a `DeviceKeys` object uploaded by `owner`: its user and device IDs must be the
 * caller's and its keys named `<algorithm>:<key_id>` with string values. When it publishes
 * `ed25519:<device_id>` as a 32-byte Ed25519 key, it must be signed by that key (a forged or
 * tampered object is refused); keys the server cannot read are kept as they are, as the spec
 * asks no more of them.
 */
export async function parseDeviceKeys(
  value: unknown,
  owner: { userId: string; deviceId: string },
): Promise<ParsedDeviceKeys> {
  if (!isObject(value)) throw badJson("'device_keys' must be an object");
  const { unsigned: _unsigned, ...deviceKeys } = value;
  if (utf8Length(canonical(deviceKeys, "device_keys")) > MAX_KEY_OBJECT_BYTES) {
    throw badJson(`'device_keys' must be at most ${MAX_KEY_OBJECT_BYTES} bytes`);
  }
  if (deviceKeys.user_id !== owner.userId) {
    throw invalidParam("'device_keys.user_id' must be your own user ID");
  }
  if (deviceKeys.device_id !== owner.deviceId) {
    throw invalidParam("'device_keys.device_id' must be the device of your access token");
  }
  const algorithms = deviceKeys.algorithms;
  if (
    !Array.isArray(algorithms) || algorithms.length > MAX_ALGORITHMS ||
    algorithms.some((a) => typeof a !== "string" || a === "" || utf8Length(a) > MAX_NAME_BYTES)
  ) {
    throw badJson("'device_keys.algorithms' must be a list of algorithm names");
  }
  const keys = deviceKeys.keys;
  if (!isObject(keys) || Object.keys(keys).length > MAX_IDENTITY_KEYS) {
    throw badJson("'device_keys.keys' must be an object of keys");
  }
  for (const [keyId, key] of Object.entries(keys)) {
    splitKeyId(keyId, "device_keys.keys");
    if (typeof key !== "string") throw badJson(`'device_keys.keys.${keyId}' must be a string`);
  }
  checkSignaturesShape(deviceKeys.signatures, "device_keys");
  const signingKeyId = `ed25519:${owner.deviceId}`;
  const ed25519 = decodePublicKey(keys[signingKeyId]);
  if (ed25519 && !(await verifyJsonSignature(deviceKeys, owner.userId, signingKeyId, ed25519))) {
    throw invalidSignature(`'device_keys' must be signed by its own key ${signingKeyId}`);
  }
  return { deviceKeys, ed25519 };
}

/** One validated one-time or fallback key. */
export interface ParsedOneTimeKey {
  /** `<algorithm>:<key_id>`. */
  keyId: string;
  algorithm: string;
  key: string | JsonObject;
}

/**
 * Validates a map of one-time or fallback keys (`<algorithm>:<key_id>` -> key). Keys in the
 * form of signed objects (`signed_curve25519`) must carry a valid signature by the device's
 * Ed25519 key when the server knows that key.
 *
 * @param options.ed25519 the device's signing key; null when the device has none (yet) that
 *   the server can read
 */
export async function parseKeyMap(
  value: unknown,
  options: {
    field: string;
    owner: { userId: string; deviceId: string };
    ed25519: Uint8Array | null;
    maxKeys: number;
  },
): Promise<ParsedOneTimeKey[]> {
  const { field, owner } = options;
  if (!isObject(value)) throw badJson(`'${field}' must be an object`);
  const entries = Object.entries(value);
  if (entries.length > options.maxKeys) {
    throw badJson(`'${field}' may hold at most ${options.maxKeys} keys per upload`);
  }
  const parsed: ParsedOneTimeKey[] = [];
  const signingKeyId = `ed25519:${owner.deviceId}`;
  for (const [keyId, key] of entries) {
    const { algorithm } = splitKeyId(keyId, field);
    if (utf8Length(canonical(key, field)) > MAX_ONE_TIME_KEY_BYTES) {
      throw badJson(`'${field}.${keyId}' must be at most ${MAX_ONE_TIME_KEY_BYTES} bytes`);
    }
    if (typeof key === "string") {
      if (key === "") throw badJson(`'${field}.${keyId}' must not be empty`);
    } else if (isObject(key)) {
      if (typeof key.key !== "string" || key.key === "") {
        throw badJson(`'${field}.${keyId}.key' must be a non-empty string`);
      }
      checkSignaturesShape(key.signatures, `${field}.${keyId}`);
      if (
        options.ed25519 &&
        !(await verifyJsonSignature(key, owner.userId, signingKeyId, options.ed25519))
      ) {
        throw invalidSignature(`'${field}.${keyId}' must be signed by ${signingKeyId}`);
      }
    } else {
      throw badJson(`'${field}.${keyId}' must be a string or a signed key object`);
    }
    parsed.push({ keyId, algorithm, key });
  }
  return parsed;
}

/** A validated cross-signing key. */
export interface ParsedCrossSigningKey {
  /** The object to store. */
  key: JsonObject;
  /** Its only key ID, `ed25519:<public key>`. */
  keyId: string;
  /** The unpadded base64 public key. */
  publicKeyBase64: string;
  publicKey: Uint8Array;
}

const USAGE_FIELD: Record<CrossSigningUsage, string> = {
  master: "master_key",
  self_signing: "self_signing_key",
  user_signing: "user_signing_key",
};

/**
 * Validates the shape of a `CrossSigningKey`: the caller's user ID, the expected usage, exactly
 * one `ed25519:<pub>` key whose name and value agree. Signatures are checked by the caller.
 */
export function parseCrossSigningKey(
  value: unknown,
  options: { userId: string; usage: CrossSigningUsage },
): ParsedCrossSigningKey {
  const field = USAGE_FIELD[options.usage];
  if (!isObject(value)) throw badJson(`'${field}' must be an object`);
  const { unsigned: _unsigned, ...key } = value;
  if (utf8Length(canonical(key, field)) > MAX_KEY_OBJECT_BYTES) {
    throw badJson(`'${field}' must be at most ${MAX_KEY_OBJECT_BYTES} bytes`);
  }
  if (key.user_id !== options.userId) {
    throw invalidParam(`'${field}.user_id' must be your own user ID`);
  }
  const usage = key.usage;
  if (
    !Array.isArray(usage) || !usage.includes(options.usage) ||
    usage.some((u) => typeof u !== "string")
  ) {
    throw invalidParam(`'${field}.usage' must include '${options.usage}'`);
  }
  const keys = key.keys;
  if (!isObject(keys) || Object.keys(keys).length !== 1) {
    throw invalidParam(`'${field}.keys' must hold exactly one key`);
  }
  const [[keyId, pub]] = Object.entries(keys);
  const publicKey = decodePublicKey(pub);
  if (!publicKey || keyId !== `ed25519:${pub}`) {
    throw invalidParam(`'${field}.keys' must be 'ed25519:<public key>': '<public key>'`);
  }
  if (key.signatures !== undefined) checkSignaturesShape(key.signatures, field);
  return { key, keyId, publicKeyBase64: pub as string, publicKey };
}

/** The name of the request field for a usage (for error messages). */
export function usageField(usage: CrossSigningUsage): string {
  return USAGE_FIELD[usage];
}
