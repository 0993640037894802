/**
 * The keyspace: every top-level prefix of the Deno KV database (the first element of every key
 * the server writes), declared once, with the module that owns it and the area document that
 * describes its records. A new storage area adds its prefix here first;
 * `tests/integration/keyspace_test.ts` fails when the server writes, or the source builds, a key
 * under a prefix that is not declared below.
 *
 * Owners build their keys in their own key builders (`roomKeys`, `accountKeys`, `e2eeKeys`, ...);
 * this module only names the prefixes, so two areas can never pick the same one and a reader
 * finds the whole layout in one table. New code may build keys with {@link kvKey}, which only
 * compiles for a declared prefix.
 *
 * `["meta", name, ...]` holds single counters and marks of several owners; its second elements
 * are declared in {@link META_KEYS}.
 *
 * @module
 */

/** The storage area of a prefix; each has a document under docs/. */
export type KeyArea =
  | "accounts"
  | "rooms"
  | "relations"
  | "search"
  | "e2ee"
  | "media"
  | "user_data"
  | "ephemeral"
  | "moderation"
  | "meta"
  | "push"
  | "federation"
  | "appservice"
  | "admin"
  | "auth"
  | "email";

/** What the keyspace says about one prefix. */
export interface KeyPrefixInfo {
  /** The module that builds (and alone writes) keys under the prefix. */
  readonly owner: string;
  /** The storage area, see {@link KEY_AREA_DOCS}. */
  readonly area: KeyArea;
  /** One line: the key's shape and what it holds. */
  readonly description: string;
}

/** Where each area's key schema is described in prose. */
export const KEY_AREA_DOCS: Readonly<Record<KeyArea, string>> = {
  accounts: "docs/accounts.md",
  rooms: "docs/rooms.md",
  relations: "docs/sync.md",
  search: "docs/search.md",
  e2ee: "docs/e2ee.md",
  media: "docs/media.md",
  user_data: "docs/user_data.md",
  ephemeral: "docs/user_data.md",
  moderation: "docs/user_data.md",
  meta: "docs/storage.md",
  push: "docs/push.md",
  federation: "docs/federation.md",
  appservice: "docs/appservices.md",
  admin: "docs/admin.md",
  auth: "docs/auth.md",
  email: "docs/email.md",
};

const ACCOUNTS = "server/store/kv_store.ts";
const ROOMS = "server/rooms/schema.ts";
const E2EE = "server/e2ee/schema.ts";
const BLOBS = "server/media/blob_store.ts";
const MEDIA = "server/media/media_store.ts";

/** Every top-level key prefix, in areas. */
export const KEY_PREFIXES = {
  // Accounts
  moderation: {
    owner: "server/client/moderation_check.ts",
    area: "accounts",
    description: '["moderation", userId] -> ModerationRecord: a locked or suspended account',
  },
  user: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["user", userId] -> UserRecord; kept after deactivation so no ID is reused',
  },
  device: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["device", userId, deviceId] -> DeviceRecord, owner of its token hashes',
  },
  access_token: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["access_token", sha256hex] -> AccessTokenRecord',
  },
  refresh_token: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["refresh_token", sha256hex] -> RefreshTokenRecord',
  },
  registration_token: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["registration_token", sha256hex] -> RegistrationTokenRecord with its use count',
  },
  uia: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["uia", sessionId] -> UiaSessionRecord (expireIn)',
  },
  shared_secret_nonce: {
    owner: ACCOUNTS,
    area: "accounts",
    description: '["shared_secret_nonce", nonce] -> single-use nonce of shared-secret registration',
  },

  // Sign-in with the organisation's accounts (server/auth)
  external_id: {
    owner: "server/auth/external_accounts.ts",
    area: "auth",
    description: '["external_id", provider, externalId] -> ExternalIdRecord: the linked user',
  },
  login_token: {
    owner: "server/auth/login_token.ts",
    area: "auth",
    description: '["login_token", sha256hex] -> LoginTokenRecord: single-use m.login.token',
  },

  oidc_session: {
    owner: "server/auth/oidc_login.ts",
    area: "auth",
    description: '["oidc_session", sha256hex(state)] -> OidcSession: an SSO sign-in under way',
  },

  // Rooms and events
  room: {
    owner: ROOMS,
    area: "rooms",
    description: '["room", roomId] -> RoomRecord (version, create event, creator)',
  },
  room_head: {
    owner: ROOMS,
    area: "rooms",
    description:
      '["room_head", roomId] -> RoomHead: extremities, state group, last position, depth',
  },
  event: {
    owner: ROOMS,
    area: "rooms",
    description: '["event", eventId] -> EventRecord: the PDU and its metadata',
  },
  event_part: {
    owner: ROOMS,
    area: "rooms",
    description: '["event_part", eventId, i] -> a slice of a PDU too large for one value',
  },
  pending_redaction: {
    owner: ROOMS,
    area: "rooms",
    description: '["pending_redaction", targetId, redactionId] -> a redaction of an unknown event',
  },
  room_timeline: {
    owner: ROOMS,
    area: "rooms",
    description: '["room_timeline", roomId, pos] -> TimelineEntry, by stream position',
  },
  room_depth: {
    owner: ROOMS,
    area: "rooms",
    description: '["room_depth", roomId, depth, eventId] -> pos: topological order',
  },
  room_state: {
    owner: ROOMS,
    area: "rooms",
    description: '["room_state", roomId, type, stateKey] -> the current state entry',
  },
  state_group: {
    owner: ROOMS,
    area: "rooms",
    description: '["state_group", n] -> StateGroupRecord: a delta or a snapshot',
  },
  state_snap: {
    owner: ROOMS,
    area: "rooms",
    description: '["state_snap", n, i] -> a chunk of a state group snapshot',
  },
  user_room: {
    owner: ROOMS,
    area: "rooms",
    description: '["user_room", userId, roomId] -> MembershipRecord, current membership',
  },
  event_ref: {
    owner: ROOMS,
    area: "rooms",
    description: '["event_ref", eventId] -> null: an accepted event cites it in prev_events',
  },
  txn: {
    owner: ROOMS,
    area: "rooms",
    description: '["txn", userId, deviceId, roomId, txnId] -> the event a transaction ID sent',
  },
  room_alias: {
    owner: ROOMS,
    area: "rooms",
    description: '["room_alias", alias] -> AliasRecord of a local alias',
  },
  room_alias_by_room: {
    owner: ROOMS,
    area: "rooms",
    description: '["room_alias_by_room", roomId, alias] -> null: a room\'s aliases',
  },
  room_public: {
    owner: ROOMS,
    area: "rooms",
    description: '["room_public", roomId] -> published in the room directory',
  },
  room_blocked: {
    owner: "server/rooms/room_block.ts",
    area: "rooms",
    description: '["room_blocked", roomId] -> BlockRecord: an admin blocked the room',
  },
  room_purged: {
    owner: "server/retention/purge_history.ts",
    area: "rooms",
    description: '["room_purged", roomId] -> {beforeTs}: history up to then was purged here',
  },

  // Relation index and full-text search
  relation: {
    owner: "server/sync/relations.ts",
    area: "relations",
    description: '["relation", parentId, relType, pos, childId] -> RelationRecord',
  },
  thread_root: {
    owner: "server/sync/relations.ts",
    area: "relations",
    description: '["thread_root", roomId, rootId] -> the newest position of the thread',
  },
  search: {
    owner: "server/search/index.ts",
    area: "search",
    description: '["search", roomId, term, pos, field] -> postings (a block or a single one)',
  },

  // End-to-end encryption
  e2ee_remote_user: {
    owner: "server/federation/device_lists_remote.ts",
    area: "e2ee",
    description:
      '["e2ee_remote_user", userId] -> RemoteUserRecord: cached device list state of a remote user',
  },
  e2ee_remote_device: {
    owner: "server/federation/device_lists_remote.ts",
    area: "e2ee",
    description: '["e2ee_remote_device", userId, deviceId] -> cached device keys of a remote user',
  },
  e2ee_device: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_device", userId, deviceId] -> DeviceE2eeRecord: signed device keys',
  },
  e2ee_otk: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_otk", userId, deviceId, algorithm, otkSeq, keyId] -> a one-time key',
  },
  e2ee_otk_count: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_otk_count", userId, deviceId, algorithm] -> KvU64 count of one-time keys',
  },
  e2ee_fallback: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_fallback", userId, deviceId, algorithm] -> the fallback key and `used`',
  },
  e2ee_cross_signing: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_cross_signing", userId, usage] -> a signed cross-signing key',
  },
  e2ee_xsig: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_xsig", signer, target, targetKeyId, signerKeyId] -> a private signature',
  },
  e2ee_dl: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_dl", pos, userId] -> DeviceListChangeRecord: the device-list stream',
  },
  e2ee_dl_head: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_dl_head", userId] -> the position of the user\'s latest device-list entry',
  },
  e2ee_usig: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_usig", pos, signer, target] -> a user-signing signature made at pos',
  },
  e2ee_to_device: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_to_device", userId, deviceId, pos] -> a to-device message in the inbox',
  },
  e2ee_to_device_txn: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_to_device_txn", userId, deviceId, txnId] -> /sendToDevice idempotency',
  },
  e2ee_backup_counter: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_backup_counter", userId] -> the last key backup version handed out',
  },
  e2ee_backup: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_backup", userId, version] -> BackupVersionRecord',
  },
  e2ee_backup_key: {
    owner: E2EE,
    area: "e2ee",
    description: '["e2ee_backup_key", userId, version, roomId, sessionId] -> KeyBackupData',
  },

  // Media
  media_chunk: {
    owner: BLOBS,
    area: "media",
    description: '["media_chunk", blobId, index] -> 64 KiB of a blob',
  },
  media_blob: {
    owner: BLOBS,
    area: "media",
    description: '["media_blob", blobId] -> BlobRecord of a published blob, with its references',
  },
  media_unowned: {
    owner: BLOBS,
    area: "media",
    description: '["media_unowned", blobId] -> chunks no blob owns yet (upload) or any more',
  },
  media_sha256: {
    owner: MEDIA,
    area: "media",
    description: '["media_sha256", hex] -> blobId: the content-addressed index',
  },
  media: {
    owner: MEDIA,
    area: "media",
    description: '["media", origin, mediaId] -> MediumRecord',
  },
  media_by_user: {
    owner: MEDIA,
    area: "media",
    description: '["media_by_user", userId, origin, mediaId] -> null: a user\'s uploads',
  },
  media_by_size: {
    owner: MEDIA,
    area: "media",
    description: '["media_by_size", size, origin, mediaId] -> null: media by size',
  },
  media_remote_cache: {
    owner: MEDIA,
    area: "media",
    description: '["media_remote_cache", cachedTs, origin, mediaId] -> null: remote media by age',
  },
  media_pending: {
    owner: MEDIA,
    area: "media",
    description: '["media_pending", userId, mediaId] -> a /create media ID awaiting its upload',
  },
  media_usage: {
    owner: MEDIA,
    area: "media",
    description: '["media_usage", userId] -> {bytes, count}: the quota',
  },
  media_thumbnail: {
    owner: MEDIA,
    area: "media",
    description: '["media_thumbnail", sourceBlobId, "WxH-method"] -> ThumbnailRecord',
  },
  media_url_preview: {
    owner: "server/media/url_preview.ts",
    area: "media",
    description: '["media_url_preview", sha256hex(url)] -> a cached URL preview (expireIn)',
  },
  media_infected: {
    owner: "server/media/media_scan.ts",
    area: "media",
    description: '["media_infected", id] -> InfectedRecord: a file the malware scanner refused',
  },
  media_unscanned: {
    owner: "server/media/media_scan.ts",
    area: "media",
    description: '["media_unscanned", origin, mediaId] -> UnscannedRecord: accepted, no verdict',
  },
  media_quarantine: {
    owner: "server/media/quarantine.ts",
    area: "media",
    description: '["media_quarantine", origin, mediaId] -> QuarantineRecord: not served',
  },

  // User data
  filter: {
    owner: "server/store/filters.ts",
    area: "user_data",
    description: '["filter", userId, filterId] -> a stored sync filter',
  },
  account_data: {
    owner: "server/store/account_data.ts",
    area: "user_data",
    description: '["account_data", userId, roomId, type] -> AccountDataRecord ("" = global)',
  },
  account_data_pos: {
    owner: "server/store/account_data.ts",
    area: "user_data",
    description: '["account_data_pos", userId, pos] -> the user\'s account data change stream',
  },
  profile: {
    owner: "server/store/profiles.ts",
    area: "user_data",
    description: '["profile", userId] -> the profile fields',
  },
  pusher: {
    owner: "server/push/pusher_store.ts",
    area: "push",
    description: '["pusher", userId, appId, pushkey] -> StoredPusher: the pusher, its ts, device',
  },
  pusher_owner: {
    owner: "server/push/pusher_store.ts",
    area: "push",
    description: '["pusher_owner", appId, pushkey, userId] -> true: pushers by app and pushkey',
  },
  push_queue: {
    owner: "server/push/push_queue.ts",
    area: "push",
    description: '["push_queue", userId, appId, pushkey, pos, eventId] -> a notification to send',
  },
  push_retry: {
    owner: "server/push/push_queue.ts",
    area: "push",
    description: '["push_retry", userId, appId, pushkey] -> PushRetryState: backoff of a pusher',
  },
  push_cursor: {
    owner: "server/push/push_queue.ts",
    area: "push",
    description: '["push_cursor"] -> number: stream position up to which events were evaluated',
  },
  webpush_vapid: {
    owner: "server/push/webpush.ts",
    area: "push",
    description: '["webpush_vapid"] -> VapidKeys: the server\'s VAPID key pair (Web Push)',
  },

  // Receipts and presence (typing is not stored)
  receipt: {
    owner: "server/store/receipts.ts",
    area: "ephemeral",
    description: '["receipt", roomId, userId, receiptType, threadKey] -> ReceiptRecord',
  },
  receipt_pos: {
    owner: "server/store/receipts.ts",
    area: "ephemeral",
    description: '["receipt_pos", pos] -> the receipt stream of every room',
  },
  presence: {
    owner: "server/store/presence.ts",
    area: "ephemeral",
    description: '["presence", userId] -> PresenceRecord',
  },
  presence_pos: {
    owner: "server/store/presence.ts",
    area: "ephemeral",
    description: '["presence_pos", pos] -> userId: the presence stream',
  },

  // Moderation
  report: {
    owner: "server/client/report.ts",
    area: "moderation",
    description: '["report", reportId] -> ReportRecord, in the order reports arrived',
  },

  // Counters and marks of several owners; see META_KEYS
  meta: {
    owner: "server/store/keyspace.ts",
    area: "meta",
    description: '["meta", name, ...] -> counters and marks, one name per owner (META_KEYS)',
  },

  // Federation (being built: issue 12)
  fed_server_keys: {
    owner: "server/federation/keys.ts",
    area: "federation",
    description: '["fed_server_keys", serverName] -> StoredServerKeys: last answer, keys accepted',
  },
  fed_outbox: {
    owner: "server/federation/outbox.ts",
    area: "federation",
    description: '["fed_outbox", destination, pos, eventId] -> a PDU queued in its event\'s commit',
  },
  fed_fanout: {
    owner: "server/federation/outbox.ts",
    area: "federation",
    description: '["fed_fanout", pos, eventId, chunk] -> an event for many destinations, to expand',
  },
  fed_destination: {
    owner: "server/federation/outbox.ts",
    area: "federation",
    description: '["fed_destination", destination, ...] -> retry state, transaction in flight',
  },
  fed_dl_sent: {
    owner: "server/federation/device_list_outbox.ts",
    area: "federation",
    description: '["fed_dl_sent"] -> the stream position up to which device-list EDUs are queued',
  },
  fed_edu: {
    owner: "server/federation/edu_queue.ts",
    area: "federation",
    description:
      '["fed_edu", destination, seq] -> an EDU waiting for its destination\'s next transaction',
  },
  fed_txn: {
    owner: "server/federation/transactions.ts",
    area: "federation",
    description: '["fed_txn", origin, txnId] -> the answer given to an inbound transaction',
  },
  appservice: {
    owner: "server/appservice/queue.ts",
    area: "appservice",
    description:
      '["appservice", "queue"|"txn"|"next_txn"|"enqueued"|"room_list", ...]: event queues, transactions in flight, room lists',
  },
  openid_token: {
    owner: "server/federation/openid.ts",
    area: "federation",
    description: '["openid_token", sha256(token)] -> OpenIdTokenRecord: user, expiry (an hour)',
  },
  admin_audit: {
    owner: "server/admin/audit.ts",
    area: "admin",
    description: '["admin_audit", id] -> AuditEntry: one admin action; IDs sort by time',
  },
  server_notice: {
    owner: "server/admin/server_notices.ts",
    area: "admin",
    description:
      '["server_notice", "room"|"system", userId]: a user\'s notices room; the system account mark',
  },
  threepid: {
    owner: "server/email/threepid_store.ts",
    area: "email",
    description:
      '["threepid", "address"|"user", ...]: who has an email address; an account\'s addresses',
  },
  email_session: {
    owner: "server/email/threepid_store.ts",
    area: "email",
    description:
      '["email_session", "sid"|"attempt", ...] -> a mailed validation link\'s session (expireIn)',
  },
  email_notif: {
    owner: "server/email/email_notifs.ts",
    area: "email",
    description:
      '["email_notif", "secret"|"sent", ...]: the unsubscribe links\' key; when a user was last mailed',
  },
} as const satisfies Record<string, KeyPrefixInfo>;

/** A declared top-level key prefix. */
export type KeyPrefix = keyof typeof KEY_PREFIXES;

/** The second elements of `["meta", ...]` keys, with their owners. */
export const META_KEYS = {
  stream: {
    owner: "server/stream.ts",
    description: "KvU64: the highest stream position committed (max in the writer's commit)",
  },
  state_group: {
    owner: ROOMS,
    description: "KvU64: the highest state group allocated",
  },
  backfill: {
    owner: ROOMS,
    description: "KvU64: backfilled events placed so far; the n-th sits at timeline position -n",
  },
  search_indexed: {
    owner: "server/search/indexer.ts",
    description: "KvU64: every searchable event at or below it has its postings in KV",
  },
  index_version: {
    owner: "server/search/backfill.ts",
    description: "the version of the relation and search indexes the database was built to",
  },
  format_version: {
    owner: "server/store/data_format.ts",
    description: "number: the data format the database was migrated to (0 when absent)",
  },
  node: {
    owner: "server/store/data_format.ts",
    description: "NodeRecord: the server_name the database belongs to, checked at start-up",
  },
  token_epoch: {
    owner: ACCOUNTS,
    description: '["meta", "token_epoch", writerId]: a process\'s token revocation mark',
  },
  token_epoch_seen: {
    owner: ACCOUNTS,
    description: '["meta", "token_epoch_seen", watcherId]: a server\'s acknowledgement of marks',
  },
} as const satisfies Record<string, Omit<KeyPrefixInfo, "area">>;

/** A declared second element of a `["meta", ...]` key. */
export type MetaKey = keyof typeof META_KEYS;

/** Whether `part` is a declared top-level prefix. */
export function isKeyPrefix(part: unknown): part is KeyPrefix {
  return typeof part === "string" && Object.hasOwn(KEY_PREFIXES, part);
}

/** Whether `part` is a declared second element of a `["meta", ...]` key. */
export function isMetaKey(part: unknown): part is MetaKey {
  return typeof part === "string" && Object.hasOwn(META_KEYS, part);
}

/**
 * Builds a key under a declared prefix; an undeclared one does not compile.
 *
 * @example `kvKey("fed_destination", "example.org")` is `["fed_destination", "example.org"]`
 */
export function kvKey(prefix: KeyPrefix, ...rest: Deno.KvKeyPart[]): Deno.KvKey {
  return [prefix, ...rest];
}
