/**
 * Device-list EDUs to other servers, derived from the local device-list stream (`e2ee_dl`)
 * after it commits, with a durable cursor (`["fed_dl_sent"]`): the position up to which every
 * entry of a local user has been turned into queued EDUs. A process that stops between an
 * entry's commit and the queueing of its EDUs sends them after its restart, as the cursor is
 * only advanced once they are in the queue (so an EDU may go twice after a crash, never zero
 * times; receivers ignore a `stream_id` they already have).
 *
 * An entry at position `pos` becomes one `m.device_list_update` per device with `stream_id` =
 * `pos` and `prev_id` = the user's previous entry that named devices (entries of cross-signing
 * changes only are skipped in that chain, as they are sent as `m.signing_key_update`).
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { JsonObject as EduContent } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import { getCrossSigningKeys } from "../e2ee/cross_signing.ts";
import { onDeviceListCommitted } from "../e2ee/device_lists.ts";
import {
  type DeviceE2eeRecord,
  type DeviceListChangeRecord,
  e2eeKeys,
  type JsonObject,
} from "../e2ee/schema.ts";
import { accountKeys, type DeviceRecord } from "../store/kv_store.ts";
import { userAudience } from "./audience.ts";

/** `["fed_dl_sent"]` -> the stream position up to which device-list EDUs were queued. */
export const DEVICE_LIST_CURSOR_KEY: Deno.KvKey = ["fed_dl_sent"];
/** Chain links followed to find the previous entry that named devices. */
const MAX_CHAIN_STEPS = 20;
/** Entries handled between two cursor writes. */
const ENTRIES_PER_CURSOR_WRITE = 100;

/**
 * The position of the user's latest device-list entry at or before `from` that named devices
 * (null when there is none): the `prev_id` and `stream_id` other servers track.
 */
export async function lastDeviceEntry(
  kv: Deno.Kv,
  userId: string,
  from: number | null,
): Promise<number | null> {
  let pos = from;
  for (let i = 0; pos !== null && i < MAX_CHAIN_STEPS; i++) {
    const entry = await kv.get<DeviceListChangeRecord>(e2eeKeys.deviceListChange(pos, userId));
    if (!entry.value) return pos;
    if (entry.value.deviceIds.length > 0) return pos;
    pos = entry.value.prevPos;
  }
  return pos;
}

/** Queues the EDUs of one committed device-list entry of a local user. */
async function queueEdus(
  hs: Homeserver,
  entry: { userId: string; pos: number; record: DeviceListChangeRecord },
): Promise<void> {
  const { userId, pos, record } = entry;
  const destinations = await userAudience(hs, userId);
  if (destinations.length === 0) return;
  if (record.deviceIds.length > 0) {
    const prev = await lastDeviceEntry(hs.kv, userId, record.prevPos);
    for (const deviceId of record.deviceIds) {
      const deleted = record.deleted.includes(deviceId);
      const content: JsonObject = {
        user_id: userId,
        device_id: deviceId,
        stream_id: pos,
        prev_id: prev === null ? [] : [prev],
        deleted,
      };
      if (!deleted) {
        const [keys, device] = await Promise.all([
          hs.kv.get<DeviceE2eeRecord>(e2eeKeys.device(userId, deviceId)),
          hs.kv.get<DeviceRecord>(accountKeys.device(userId, deviceId)),
        ]);
        if (keys.value?.deviceKeys) content.keys = keys.value.deviceKeys;
        if (device.value?.displayName) content.device_display_name = device.value.displayName;
      }
      await hs.edus.send(destinations, {
        edu_type: "m.device_list_update",
        content: content as EduContent,
      });
    }
  }
  if (record.crossSigning) {
    const keys = await getCrossSigningKeys(hs.kv, userId);
    const content: JsonObject = { user_id: userId };
    if (keys.master) content.master_key = keys.master;
    if (keys.self_signing) content.self_signing_key = keys.self_signing;
    await hs.edus.send(destinations, {
      edu_type: "m.signing_key_update",
      content: content as EduContent,
    });
  }
}

/**
 * Turns committed device-list entries of local users into queued EDUs, in stream order, up to
 * the visible stream position (a lower position still in flight is never skipped).
 */
export class DeviceListOutbox {
  readonly #hs: Homeserver;
  /** The cursor as last written (null until {@link start} read it). */
  #cursor: number | null = null;
  /** The highest position of a local entry announced since the last drain. */
  #wanted = 0;
  #draining: Promise<void> | null = null;
  #again = false;
  #closed = false;
  #unsubscribe: () => void = () => {};

  constructor(hs: Homeserver) {
    this.#hs = hs;
  }

  /** Reads (or sets) the cursor, subscribes to new entries and sends what a crash left. */
  async start(): Promise<void> {
    const hs = this.#hs;
    const stored = await hs.kv.get<number>(DEVICE_LIST_CURSOR_KEY);
    if (stored.value === null) {
      // A store from before this cursor existed: its earlier entries were sent at the time.
      this.#cursor = hs.stream.visiblePosition;
      await hs.kv.set(DEVICE_LIST_CURSOR_KEY, this.#cursor);
    } else {
      this.#cursor = stored.value;
    }
    onDeviceListCommitted(hs, (userId, pos) => {
      if (serverNameOf(userId) !== hs.config.serverName) return;
      this.#wanted = Math.max(this.#wanted, pos);
      if (hs.stream.visiblePosition >= pos) this.#kick();
    });
    this.#unsubscribe = hs.stream.onVisible((visible) => {
      if (this.#wanted > (this.#cursor ?? 0) && visible >= this.#wanted) this.#kick();
    });
    this.#kick();
  }

  /** Waits for the drain in progress; later entries are sent after the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    await this.#draining;
  }

  /** Resolves when every entry visible now has been queued (tests, the CLI). */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  #kick(): void {
    if (this.#closed) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drainLoop().finally(() => {
      this.#draining = null;
    });
  }

  async #drainLoop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#drain();
      } catch (err) {
        // The cursor did not move past the failed entry: the next kick or start retries it.
        console.warn(`device-list EDUs: ${String(err)}`);
        return;
      }
    } while (this.#again && !this.#closed);
  }

  async #drain(): Promise<void> {
    const hs = this.#hs;
    const from = this.#cursor ?? 0;
    const upTo = hs.stream.visiblePosition;
    if (upTo <= from) return;
    let handled = 0;
    const entries = hs.kv.list<DeviceListChangeRecord>({
      start: ["e2ee_dl", from + 1],
      end: ["e2ee_dl", upTo + 1],
    });
    for await (const { key, value } of entries) {
      const pos = key[1] as number;
      const userId = key[2] as string;
      if (serverNameOf(userId) === hs.config.serverName) {
        await queueEdus(hs, { userId, pos, record: value });
        if (++handled % ENTRIES_PER_CURSOR_WRITE === 0) await this.#advance(pos - 1);
      }
    }
    await this.#advance(upTo);
  }

  async #advance(pos: number): Promise<void> {
    if (pos <= (this.#cursor ?? 0)) return;
    await this.#hs.kv.set(DEVICE_LIST_CURSOR_KEY, pos);
    this.#cursor = pos;
  }
}
