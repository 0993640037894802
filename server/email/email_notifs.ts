/**
 * Notification mails: email pushers (`kind: "email"`, `app_id: "m.email"`, the address as
 * `pushkey`, as Synapse has them) go through the push worker like other pushers: the worker
 * evaluates push rules after the commit and queues an item per pusher, so sending a message
 * costs nothing more. Their delivery (`push_delivery.ts` hands email pushers here) waits:
 *
 * - an item is mailed only once it is `notif_delay_ms` old, and only if the user has not read
 *   it (read receipt) and was not active (presence) since it arrived: someone using the app
 *   sees their messages there;
 * - one mail gathers every due item, by room: "You have N unread messages in ROOM", with the
 *   newest lines of unencrypted rooms and no content of encrypted ones;
 * - at most one mail per pusher per `notif_delay_ms`;
 * - every mail has an unsubscribe link (and RFC 8058's one-click `List-Unsubscribe-Post`),
 *   signed with a server key, which removes the pusher.
 *
 * Keys: `["email_notif", "secret"]` -> the HMAC key (base64url) of unsubscribe links;
 * `["email_notif", "sent", userId, address]` -> when the last mail went (ms since the epoch).
 *
 * @module
 */

import { decodeBase64Url, encodeBase64Url } from "../../crypto/base64.ts";
import { constantTimeEqual, hmacSha256, randomBytes } from "../../crypto/tokens.ts";
import type { Homeserver } from "../homeserver.ts";
import { stateAtEvent } from "../push/notifications.ts";
import type { PushQueueItem } from "../push/push_queue.ts";
import { pushQueueKeys } from "../push/push_queue.ts";
import { deletePusher, type PusherAddress, pusherKeys } from "../push/pusher_store.ts";
import type { StoredPusher } from "../push/pusher_store.ts";
import { pushWorkerOf } from "../push/push_worker.ts";
import { getPresence, presenceTracker } from "../store/presence.ts";
import { ownReceipts } from "../store/receipts.ts";
import { threadOf } from "../sync/unread.ts";
import { MailError, sendMail } from "./mailer.ts";
import { notificationMail, type RoomSummary } from "./mail_texts.ts";

/** The app ID of email pushers (Synapse's). */
export const EMAIL_APP_ID = "m.email";
/** Items read per mail, at most. */
const MAX_ITEMS = 500;
/** Lines of messages per room in a mail. */
const LINES_PER_ROOM = 3;
/** Characters of one message line. */
const LINE_LENGTH = 200;
/** After a failed mail, the next attempt. */
const RETRY_MS = 5 * 60_000;
/** Items older than this are dropped unsent (the SMTP server was down for a day). */
const GIVE_UP_MS = 24 * 60 * 60_000;

const notifKeys = {
  secret: (): Deno.KvKey => ["email_notif", "secret"],
  sent: (userId: string, address: string): Deno.KvKey => ["email_notif", "sent", userId, address],
};

/** The email pusher of an address. */
export function emailPusher(address: string): StoredPusher {
  return {
    pusher: {
      kind: "email",
      app_id: EMAIL_APP_ID,
      pushkey: address,
      app_display_name: "Email notifications",
      device_display_name: address,
      lang: "en",
      data: {},
    },
    ts: Date.now(),
    deviceId: null,
  };
}

/** Gives an address of the user an email pusher (`notif_for_new_users`). */
export async function addEmailPusher(hs: Homeserver, userId: string, address: string) {
  const where: PusherAddress = { userId, appId: EMAIL_APP_ID, pushkey: address };
  await hs.kv.atomic().set(pusherKeys.pusher(where), emailPusher(address))
    .set(pusherKeys.owner(where), true).commit();
  await pushWorkerOf(hs).pushersChanged(userId);
}

/** Removes the email pusher of an address (the address left the account, or unsubscribing). */
export async function removeEmailPusher(hs: Homeserver, userId: string, address: string) {
  await deletePusher(hs.kv, { userId, appId: EMAIL_APP_ID, pushkey: address });
  await hs.kv.delete(notifKeys.sent(userId, address));
  await pushWorkerOf(hs).pushersChanged(userId);
}

async function secretOf(hs: Homeserver): Promise<Uint8Array> {
  const key = notifKeys.secret();
  const found = await hs.kv.get<string>(key);
  if (found.value) return decodeBase64Url(found.value);
  const fresh = encodeBase64Url(randomBytes(32));
  await hs.kv.atomic().check({ key, versionstamp: null }).set(key, fresh).commit();
  return decodeBase64Url((await hs.kv.get<string>(key)).value ?? fresh);
}

async function signature(hs: Homeserver, userId: string, address: string): Promise<string> {
  const mac = await hmacSha256(
    await secretOf(hs),
    new TextEncoder().encode(`unsubscribe\n${userId}\n${address}`),
  );
  return encodeBase64Url(mac);
}

/** The signed unsubscribe link of an address. */
export async function unsubscribeLink(
  hs: Homeserver,
  userId: string,
  address: string,
): Promise<string> {
  const query = new URLSearchParams({
    user: userId,
    address,
    sig: await signature(hs, userId, address),
  });
  return `${hs.config.email.publicLinkBase}/_gemeng/email/unsubscribe?${query}`;
}

/** Whether an unsubscribe request carries a valid signature. */
export async function verifyUnsubscribe(hs: Homeserver, fields: URLSearchParams) {
  const user = fields.get("user") ?? "";
  const address = fields.get("address") ?? "";
  const sig = fields.get("sig") ?? "";
  if (user === "" || address === "" || sig === "" || user.length + address.length > 600) {
    return false;
  }
  return constantTimeEqual(sig, await signature(hs, user, address));
}

/** Removes the pusher an (already verified) unsubscribe request names. */
export async function unsubscribe(hs: Homeserver, fields: URLSearchParams): Promise<void> {
  await removeEmailPusher(hs, fields.get("user")!, fields.get("address")!);
}

/** Whether the user was using a client after `since` (or is online now). */
async function activeSince(hs: Homeserver, userId: string, since: number): Promise<boolean> {
  const record = await getPresence(hs, userId);
  if (!record) return false;
  if (record.presence === "online") return true;
  const content = presenceTracker(hs).content(userId, record, Date.now());
  const ago = content.last_active_ago;
  return typeof ago === "number" && Date.now() - ago >= since;
}

async function stateText(
  hs: Homeserver,
  state: Parameters<Homeserver["rooms"]["stateEventIn"]>[0],
  type: string,
  stateKey = "",
) {
  return (await hs.rooms.stateEventIn(state, type, stateKey))?.event.content ?? null;
}

/**
 * Delivers an email pusher's queue: mails what is due, drops what was read or seen.
 *
 * @returns when to look again (ms since the epoch), or null when the queue is empty
 */
export async function drainEmailQueue(
  hs: Homeserver,
  address: PusherAddress,
): Promise<number | null> {
  const { kv } = hs;
  const delay = hs.config.email.notifDelayMs;
  const now = Date.now();
  const entries: Deno.KvEntry<PushQueueItem>[] = [];
  for await (
    const entry of kv.list<PushQueueItem>({ prefix: pushQueueKeys.itemsOf(address) }, {
      limit: MAX_ITEMS,
    })
  ) entries.push(entry);
  if (entries.length === 0) return null;
  const due = entries.filter((e) => e.value.queuedTs + delay <= now);
  if (due.length === 0) return Math.min(...entries.map((e) => e.value.queuedTs + delay));
  const lastSent = (await kv.get<number>(notifKeys.sent(address.userId, address.pushkey))).value;
  if (lastSent !== null && lastSent + delay > now) return lastSent + delay;

  // Once the oldest is due, one mail tells about every unread item (not one mail each).
  const oldest = Math.min(...due.map((e) => e.value.queuedTs));
  const seen = await activeSince(hs, address.userId, oldest);
  const byRoom = new Map<string, RoomSummary>();
  if (!seen) {
    const membershipOf = new Map<string, string | null>();
    const receiptsOf = new Map<string, Awaited<ReturnType<typeof ownReceipts>>>();
    for (const entry of entries) {
      const item = entry.value;
      const pos = Number(entry.key[4]);
      const stored = await hs.rooms.event(item.eventId);
      if (!stored || stored.meta.redactedBy !== null) continue;
      // Only rooms the user is still in; an invite only while it is still open.
      const { event } = stored;
      const invite = event.type === "m.room.member" && event.stateKey === address.userId &&
        event.content.membership === "invite";
      let membership = membershipOf.get(item.roomId);
      if (membership === undefined) {
        membership = (await hs.rooms.membership(item.roomId, address.userId))?.membership ?? null;
        membershipOf.set(item.roomId, membership);
      }
      if (membership !== (invite ? "invite" : "join")) continue;
      let receipts = receiptsOf.get(item.roomId);
      if (!receipts) {
        receiptsOf.set(item.roomId, receipts = await ownReceipts(hs, item.roomId, address.userId));
      }
      const thread = threadOf(stored.event) ?? "main";
      const read = receipts.some((r) =>
        (r.threadKey === "" || r.threadKey === thread) && r.eventOrder >= pos
      );
      if (read) continue;
      let room = byRoom.get(item.roomId);
      const state = (await stateAtEvent(hs, stored))?.state ?? null;
      const sender = state
        ? await stateText(hs, state, "m.room.member", stored.event.sender)
        : null;
      const senderName = typeof sender?.displayname === "string" && sender.displayname !== ""
        ? sender.displayname
        : stored.event.sender;
      if (!room) {
        const name = state ? await stateText(hs, state, "m.room.name") : null;
        const alias = state ? await stateText(hs, state, "m.room.canonical_alias") : null;
        const encryption = state ? await stateText(hs, state, "m.room.encryption") : null;
        const roomName = typeof name?.name === "string" && name.name !== ""
          ? name.name
          : typeof alias?.alias === "string"
          ? alias.alias
          : `your conversation with ${senderName}`;
        room = {
          roomName,
          count: 0,
          encrypted: encryption !== null || stored.event.type === "m.room.encrypted",
          lines: [],
        };
        byRoom.set(item.roomId, room);
      }
      room.count++;
      const body = stored.event.content.body;
      if (invite) {
        room.lines.push({ sender: senderName, text: "invited you" });
      } else if (
        !room.encrypted && stored.event.type === "m.room.message" && typeof body === "string"
      ) {
        room.lines.push({
          sender: senderName,
          text: body.replace(/\s+/g, " ").slice(0, LINE_LENGTH),
        });
        if (room.lines.length > LINES_PER_ROOM) room.lines.shift();
      }
    }
  }
  const done = entries.map((e) => e.key);
  if (byRoom.size > 0) {
    try {
      await sendMail(
        hs,
        notificationMail(hs, {
          to: address.pushkey,
          userId: address.userId,
          rooms: [...byRoom.values()],
          unsubscribe: await unsubscribeLink(hs, address.userId, address.pushkey),
        }),
      );
      await kv.set(notifKeys.sent(address.userId, address.pushkey), Date.now());
    } catch (err) {
      hs.log.warn(`notification mail: ${err instanceof MailError ? err.message : String(err)}`);
      const stale = due.filter((e) => e.value.queuedTs + GIVE_UP_MS <= now).map((e) => e.key);
      await deleteKeys(kv, stale);
      return now + RETRY_MS;
    }
  }
  await deleteKeys(kv, done);
  return null;
}

async function deleteKeys(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    const op = kv.atomic();
    for (const key of keys.slice(i, i + 500)) op.delete(key);
    await op.commit();
  }
}
