/**
 * The GDPR export of one local account: everything the server stores about the user, and
 * nothing of other users' private data, as a gzip-compressed stream of JSON lines
 * (`application/gzip`, `.jsonl.gz`). Each line is one object with a `kind`:
 *
 * - `export`: the header {format: "gemeng-user-export", version: 1, user_id, server_name,
 *   exported_ts}; always first
 * - `account`: {created_ts, admin, guest, deactivated, erased} (no password hash)
 * - `profile`: the profile fields
 * - `threepid`: {medium, address, validated_at, added_at}
 * - `account_data`: {room_id (null for global), type, content}
 * - `device`: {device_id, display_name, created_ts, last_seen_ts, last_seen_ip} (no token hashes)
 * - `pusher`: the pusher as `GET /pushers` shows it, with `ts`
 * - `filter`, `presence`, `device_keys`, `cross_signing_key`, `key_backup_version`: {key, value},
 *   the records stored under the user's ID (sync filters, presence, public device and
 *   cross-signing keys, key backup versions; the backed-up keys themselves are left out)
 * - `membership`: {room_id, membership, event_id, sender, forgotten} per room the user is or was in
 * - `receipt`: {room_id, key, value}: the user's read receipts
 * - `event`: an event the user sent, {event_id, room_id, type, state_key?, sender,
 *   origin_server_ts, content} (redacted events as stored: without their content)
 * - `report`: a report the user made
 * - `media`: a medium the user uploaded {mxc, content_type, file_name, size, sha256, created_ts},
 *   followed by its bytes as `media_part` lines {mxc, offset, data (standard Base64)}, in order
 * - `end`: {lines}: the count of lines before it; a truncated archive has no `end`
 *
 * Other users' events (even replies to the user's), their account data, receipts and
 * profiles are left out; room state events the user did not send too.
 *
 * @module
 */

import { encodeBase64 } from "../../crypto/base64.ts";
import { threepidsOf } from "../email/threepid_store.ts";
import type { Homeserver } from "../homeserver.ts";
import { blobKeys, type BlobRecord, blobStream } from "../media/blob_store.ts";
import { getMedium, listUserMedia } from "../media/media_store.ts";
import { listPushers } from "../push/pusher_store.ts";
import type { TimelineEntry } from "../rooms/schema.ts";
import { roomKeys } from "../rooms/schema.ts";
import { MIN_TIMELINE_POSITION } from "../rooms/room_store.ts";
import { getUser } from "../store/accounts.ts";
import { listAccountData } from "../store/account_data.ts";
import { listDevices } from "../store/devices.ts";

/** The format name in the header line. */
export const EXPORT_FORMAT = "gemeng-user-export";
/** Other records kept under `[prefix, userId, ...]`, exported as they are stored. */
const USER_RECORDS: readonly [kind: string, prefix: string][] = [
  ["filter", "filter"],
  ["presence", "presence"],
  ["device_keys", "e2ee_device"],
  ["cross_signing_key", "e2ee_cross_signing"],
  ["key_backup_version", "e2ee_backup"],
];

/** Events loaded per batch. */
const BATCH = 200;

/** One line of the export. */
export type ExportLine = { kind: string } & Record<string, unknown>;

/** The lines of a user's export, in order (the account must exist). */
export async function* userExportLines(
  hs: Homeserver,
  userId: string,
): AsyncGenerator<ExportLine> {
  const user = await getUser(hs.kv, userId);
  if (!user) throw new Error(`no account ${userId}`);
  let lines = 0;
  const line = (kind: string, fields: Record<string, unknown>): ExportLine => {
    lines++;
    return { kind, ...fields };
  };
  yield line("export", {
    format: EXPORT_FORMAT,
    version: 1,
    user_id: userId,
    server_name: hs.config.serverName,
    exported_ts: Date.now(),
  });
  yield line("account", {
    created_ts: user.createdTs,
    admin: user.admin,
    guest: user.isGuest === true,
    deactivated: user.deactivated,
    erased: user.erased === true,
  });
  const profile = (await hs.kv.get<Record<string, unknown>>(["profile", userId])).value;
  yield line("profile", { profile: profile ?? {} });
  for (const threepid of await threepidsOf(hs.kv, userId)) yield line("threepid", threepid);
  for (const entry of await listAccountData(hs, userId)) {
    yield line("account_data", {
      room_id: entry.roomId === "" ? null : entry.roomId,
      type: entry.type,
      content: entry.content,
    });
  }
  for (const device of await listDevices(hs.kv, userId)) {
    yield line("device", {
      device_id: device.deviceId,
      display_name: device.displayName,
      created_ts: device.createdTs,
      last_seen_ts: device.lastSeenTs,
      last_seen_ip: device.lastSeenIp,
    });
  }
  for (const stored of await listPushers(hs.kv, userId)) {
    yield line("pusher", { pusher: stored.pusher, ts: stored.ts });
  }
  // The rest of what is stored under the user's ID (public keys only: no secret is stored).
  for (const [kind, prefix] of USER_RECORDS) {
    for await (const entry of hs.kv.list({ prefix: [prefix, userId] })) {
      yield line(kind, { key: entry.key.slice(2), value: entry.value });
    }
  }
  const memberships = await hs.rooms.roomsOfUser(userId);
  for (const m of memberships) {
    yield line("membership", {
      room_id: m.roomId,
      membership: m.membership,
      event_id: m.eventId,
      sender: m.sender,
      forgotten: m.forgotten === true,
    });
  }
  for (const m of memberships) {
    for await (const entry of hs.kv.list({ prefix: ["receipt", m.roomId, userId] })) {
      yield line("receipt", { room_id: m.roomId, key: entry.key.slice(3), value: entry.value });
    }
  }
  for (const m of memberships) {
    for await (const event of ownEvents(hs, m.roomId, userId)) yield line("event", { event });
  }
  for await (const entry of hs.kv.list<Record<string, unknown>>({ prefix: ["report"] })) {
    if (entry.value.reporter === userId) yield line("report", { report: entry.value });
  }
  for (const [origin, mediaId] of await listUserMedia(hs.kv, userId)) {
    const medium = await getMedium(hs.kv, origin, mediaId);
    if (!medium || medium.state !== "ready" || medium.uploader !== userId) continue;
    const mxc = `mxc://${origin}/${mediaId}`;
    yield line("media", {
      mxc,
      content_type: medium.contentType,
      file_name: medium.fileName,
      size: medium.size,
      sha256: medium.sha256,
      created_ts: medium.createdTs,
    });
    const blob = (await hs.kv.get<BlobRecord>(blobKeys.blob(medium.blobId))).value;
    if (!blob || blob.size === 0) continue;
    let offset = 0;
    for await (const chunk of blobStream(hs.kv, blob)) {
      yield line("media_part", { mxc, offset, data: encodeBase64(chunk) + padding(chunk.length) });
      offset += chunk.byteLength;
    }
  }
  yield { kind: "end", lines };
}

/** Standard Base64 padding for `length` bytes (the encoder writes unpadded Base64). */
function padding(length: number): string {
  return "=".repeat((3 - (length % 3)) % 3);
}

/** The user's own timeline events in a room, oldest first. */
async function* ownEvents(
  hs: Homeserver,
  roomId: string,
  userId: string,
): AsyncGenerator<Record<string, unknown>> {
  let page: string[] = [];
  const flush = async function* () {
    const found = await hs.rooms.events(page);
    for (const id of page) {
      const stored = found.get(id);
      if (!stored || stored.event.sender !== userId) continue;
      const { event } = stored;
      yield {
        event_id: event.eventId,
        room_id: event.roomId,
        type: event.type,
        ...(event.stateKey !== undefined ? { state_key: event.stateKey } : {}),
        sender: event.sender,
        origin_server_ts: event.originServerTs,
        content: event.content,
        ...(stored.meta.redactedBy ? { redacted_by: stored.meta.redactedBy } : {}),
      };
    }
    page = [];
  };
  for await (
    const entry of hs.kv.list<TimelineEntry>({
      start: roomKeys.timeline(roomId, MIN_TIMELINE_POSITION),
      end: roomKeys.timeline(roomId, Number.MAX_SAFE_INTEGER),
    })
  ) {
    if (entry.value.sender !== userId) continue;
    page.push(entry.value.eventId);
    if (page.length >= BATCH) yield* flush();
  }
  yield* flush();
}

/** The export as a gzip-compressed stream of JSON lines. */
export function userExportStream(
  hs: Homeserver,
  userId: string,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const lines = userExportLines(hs, userId);
  const encoder = new TextEncoder();
  const text = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(JSON.stringify(next.value) + "\n"));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  return text.pipeThrough(new CompressionStream("gzip"));
}
