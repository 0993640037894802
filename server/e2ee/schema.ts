/**
 * The Deno KV key layout of the end-to-end encryption key server. Every key the E2EE code reads
 * or writes is built here; ARCHITECTURE.md ("Storage: end-to-end encryption") documents the
 * same schema in prose. All keys start with `e2ee_`.
 *
 * @module
 */

/** A JSON object as uploaded by a client (already validated at the edge). */
export type JsonObject = Record<string, unknown>;

/** The E2EE state of one device: its identity keys and the one-time key upload counter. */
export interface DeviceE2eeRecord {
  /** The signed `DeviceKeys` object as uploaded (no `unsigned`), or null before the first. */
  deviceKeys: JsonObject | null;
  /** Upload sequence for one-time keys, so that claims hand keys out in upload order. */
  otkSeq: number;
}

/** A stored one-time key. */
export interface OneTimeKeyRecord {
  /** `<algorithm>:<key_id>`. */
  keyId: string;
  /** The key as uploaded: a string (curve25519) or a signed object. */
  key: string | JsonObject;
}

/** A stored fallback key (one per device and algorithm). */
export interface FallbackKeyRecord {
  /** `<algorithm>:<key_id>`. */
  keyId: string;
  key: string | JsonObject;
  /** Handed out by `/keys/claim` at least once. */
  used: boolean;
}

/** Cross-signing key usages, as stored. */
export type CrossSigningUsage = "master" | "self_signing" | "user_signing";

/** One entry of the device-list change log. */
export interface DeviceListChangeRecord {
  /** Devices whose keys changed or that were deleted; empty for cross-signing key changes. */
  deviceIds: string[];
  /** Devices among `deviceIds` that were deleted. */
  deleted: string[];
  /** The user's previous change position (the `prev_id` of a federation device-list update). */
  prevPos: number | null;
  /** The cross-signing keys changed (`m.signing_key_update`). */
  crossSigning: boolean;
}

/** A queued to-device message. */
export interface ToDeviceRecord {
  sender: string;
  /** The sending device (kept for the federation EDU and for auditing queues). */
  senderDevice: string;
  type: string;
  content: JsonObject;
}

/** A `/sendToDevice` transaction, remembered for a day. */
export interface ToDeviceTxnRecord {
  pos: number;
}

/** A key backup version's metadata. */
export interface BackupVersionRecord {
  version: string;
  algorithm: string;
  authData: JsonObject;
  /** Bumped on every change of the keys; the `etag` is derived from it. */
  etag: number;
  /** Number of stored session keys. */
  count: number;
}

/** A backed-up megolm session key (`KeyBackupData`). */
export interface BackupSessionRecord {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: JsonObject;
}

/** Key builders for the E2EE storage area. */
export const e2eeKeys = {
  /** `["e2ee_remote_user", userId]` -> a remote user's cached list (federation/device_lists_remote.ts). */
  remoteUser: (userId: string): Deno.KvKey => ["e2ee_remote_user", userId],
  /** `["e2ee_device", userId, deviceId]` -> {@link DeviceE2eeRecord}. */
  device: (userId: string, deviceId: string): Deno.KvKey => ["e2ee_device", userId, deviceId],
  /** Prefix of all E2EE device records of a user. */
  devicesOf: (userId: string): Deno.KvKey => ["e2ee_device", userId],
  /** `["e2ee_otk", userId, deviceId, algorithm, seq, keyId]` -> {@link OneTimeKeyRecord}. */
  oneTimeKey: (
    target: { userId: string; deviceId: string; algorithm: string },
    seq: number,
    keyId: string,
  ): Deno.KvKey => ["e2ee_otk", target.userId, target.deviceId, target.algorithm, seq, keyId],
  /** Prefix of a device's one-time keys (optionally of one algorithm). */
  oneTimeKeysOf: (userId: string, deviceId: string, algorithm?: string): Deno.KvKey =>
    algorithm === undefined
      ? ["e2ee_otk", userId, deviceId]
      : ["e2ee_otk", userId, deviceId, algorithm],
  /** `["e2ee_otk_count", userId, deviceId, algorithm]` -> Deno.KvU64 (wrapping sums). */
  oneTimeKeyCount: (userId: string, deviceId: string, algorithm: string): Deno.KvKey => [
    "e2ee_otk_count",
    userId,
    deviceId,
    algorithm,
  ],
  /** Prefix of a device's one-time key counters. */
  oneTimeKeyCountsOf: (userId: string, deviceId: string): Deno.KvKey => [
    "e2ee_otk_count",
    userId,
    deviceId,
  ],
  /** `["e2ee_fallback", userId, deviceId, algorithm]` -> {@link FallbackKeyRecord}. */
  fallbackKey: (userId: string, deviceId: string, algorithm: string): Deno.KvKey => [
    "e2ee_fallback",
    userId,
    deviceId,
    algorithm,
  ],
  /** Prefix of a device's fallback keys. */
  fallbackKeysOf: (userId: string, deviceId: string): Deno.KvKey => [
    "e2ee_fallback",
    userId,
    deviceId,
  ],
  /** `["e2ee_cross_signing", userId, usage]` -> the signed `CrossSigningKey`. */
  crossSigningKey: (userId: string, usage: CrossSigningUsage): Deno.KvKey => [
    "e2ee_cross_signing",
    userId,
    usage,
  ],
  /**
   * A signature by one user on another user's key (only user-signing keys sign other users'
   * master keys): `["e2ee_xsig", signerUserId, targetUserId, targetKeyId, signerKeyId]` ->
   * base64 signature. Keyed by signer first because only the signer may see it.
   */
  crossUserSignature: (
    signer: { userId: string; keyId: string },
    target: { userId: string; keyId: string },
  ): Deno.KvKey => ["e2ee_xsig", signer.userId, target.userId, target.keyId, signer.keyId],
  /** Prefix of all cross-user signatures made by a user. */
  crossUserSignaturesBy: (signerUserId: string): Deno.KvKey => ["e2ee_xsig", signerUserId],
  /** `["e2ee_dl", pos, userId]` -> {@link DeviceListChangeRecord}: the global change log. */
  deviceListChange: (pos: number, userId: string): Deno.KvKey => ["e2ee_dl", pos, userId],
  /** Prefix of the global device-list change log. */
  deviceListLog: (): Deno.KvKey => ["e2ee_dl"],
  /**
   * `["e2ee_usig", pos, signerUserId, targetUserId]` -> true: the signer signed the target's
   * master key at `pos`. Only the signer sees it (the target in the signer's
   * `device_lists.changed`), so their clients fetch the target's keys with the new signature.
   */
  userSignatureChange: (pos: number, signer: string, target: string): Deno.KvKey => [
    "e2ee_usig",
    pos,
    signer,
    target,
  ],
  /** Prefix of the user-signature log. */
  userSignatureLog: (): Deno.KvKey => ["e2ee_usig"],
  /** `["e2ee_dl_head", userId]` -> the position of the user's latest device-list change. */
  deviceListHead: (userId: string): Deno.KvKey => ["e2ee_dl_head", userId],
  /** `["e2ee_to_device", userId, deviceId, pos]` -> {@link ToDeviceRecord}. */
  toDevice: (userId: string, deviceId: string, pos: number): Deno.KvKey => [
    "e2ee_to_device",
    userId,
    deviceId,
    pos,
  ],
  /** Prefix of a device's to-device inbox. */
  toDeviceInbox: (userId: string, deviceId: string): Deno.KvKey => [
    "e2ee_to_device",
    userId,
    deviceId,
  ],
  /** `["e2ee_to_device_txn", userId, deviceId, txnId]` -> {@link ToDeviceTxnRecord}. */
  toDeviceTxn: (userId: string, deviceId: string, txnId: string): Deno.KvKey => [
    "e2ee_to_device_txn",
    userId,
    deviceId,
    txnId,
  ],
  /** `["e2ee_backup_counter", userId]` -> the last backup version number handed out. */
  backupCounter: (userId: string): Deno.KvKey => ["e2ee_backup_counter", userId],
  /** `["e2ee_backup", userId, version]` -> {@link BackupVersionRecord} (version zero-padded). */
  backupVersion: (userId: string, version: string): Deno.KvKey => [
    "e2ee_backup",
    userId,
    versionSortKey(version),
  ],
  /** Prefix of all backup versions of a user. */
  backupVersionsOf: (userId: string): Deno.KvKey => ["e2ee_backup", userId],
  /** `["e2ee_backup_key", userId, version, roomId, sessionId]` -> {@link BackupSessionRecord}. */
  backupSession: (
    userId: string,
    version: string,
    roomId: string,
    sessionId: string,
  ): Deno.KvKey => ["e2ee_backup_key", userId, versionSortKey(version), roomId, sessionId],
  /** Prefix of the sessions of every backup version of a user. */
  backupSessionsOfUser: (userId: string): Deno.KvKey => ["e2ee_backup_key", userId],
  /** Prefix of a backup's sessions (optionally of one room). */
  backupSessionsOf: (userId: string, version: string, roomId?: string): Deno.KvKey =>
    roomId === undefined
      ? ["e2ee_backup_key", userId, versionSortKey(version)]
      : ["e2ee_backup_key", userId, versionSortKey(version), roomId],
} as const;

/** Backup versions are decimal strings; stored as numbers so they sort numerically. */
function versionSortKey(version: string): number {
  return Number(version);
}

/** Parses a client-given backup version; null unless it is a decimal we could have issued. */
export function parseBackupVersion(text: string | undefined): string | null {
  if (text === undefined || !/^[1-9][0-9]{0,14}$/.test(text)) return null;
  return text;
}

/** Reads a KvU64 counter that may have wrapped below zero (treated as zero). */
export function counterValue(value: unknown): number {
  if (!(value instanceof Deno.KvU64)) return 0;
  return value.value > (1n << 63n) ? 0 : Number(value.value);
}

/** The operand that subtracts `n` from a KvU64 counter when summed (sums wrap modulo 2^64). */
export function minusU64(n: number): bigint {
  return (1n << 64n) - BigInt(n);
}
