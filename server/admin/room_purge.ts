/**
 * Purging a room: removing its events and state from KV once no local user is in it (the last
 * step of the admin "delete room"). Deletions run in batched atomic commits within KV's limits
 * (`deleteRange`, `commitBatches`); the room record goes last, so a purge that stops half-way
 * can be run again.
 *
 * Removed: the room record and head, its timeline, depth index, current state, state groups and
 * snapshots, every event of the room reachable from them (timeline, state, prev and auth events,
 * outliers included) with their parts, extremity marks, relation children and pending
 * redactions, thread roots, search postings, receipts, aliases, the directory entry and every
 * user's membership record. Kept: what belongs to users or to delivery (account data, key
 * backups, notification and federation queues, whose entries skip events that are gone),
 * reports, media, and the room's block.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { type EventRecord, roomKeys, type StateGroupRecord } from "../rooms/schema.ts";
import { commitBatches, deleteCost, deleteRange, getManyChunked } from "../store/kv_batch.ts";
import { roomSizes } from "./room_info.ts";

/** What a purge removed. */
export interface PurgeResult {
  events: number;
  stateGroups: number;
}

/** Deletes keys in commits within KV's limits. */
async function deleteKeys(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<void> {
  for (const batch of commitBatches(keys, (key) => deleteCost(key))) {
    const op = kv.atomic();
    for (const key of batch) op.delete(key);
    await op.commit();
  }
}

/** IDs cited by a PDU's `prev_events` / `auth_events` (v1/v2 pairs or plain IDs). */
function referencesOf(pdu: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const field of ["prev_events", "auth_events"]) {
    const list = pdu[field];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const id = Array.isArray(item) ? item[0] : item;
      if (typeof id === "string") out.push(id);
    }
  }
  return out;
}

/** The state groups of a room (a scan of every group: purges are rare and run in the background). */
async function stateGroupsOf(
  kv: Deno.Kv,
  roomId: string,
): Promise<{ group: number; record: StateGroupRecord }[]> {
  const out: { group: number; record: StateGroupRecord }[] = [];
  for await (const entry of kv.list<StateGroupRecord>({ prefix: ["state_group"] })) {
    if (entry.value.roomId === roomId) {
      out.push({ group: entry.key[1] as number, record: entry.value });
    }
  }
  return out;
}

/**
 * Removes the room's events and state from KV (see the module text for what stays). The
 * caller made sure no local user is still joined, or chose to force it.
 */
export async function purgeRoom(hs: Homeserver, roomId: string): Promise<PurgeResult> {
  const kv = hs.kv;
  const seeds = new Set<string>();
  for await (const entry of kv.list<{ eventId: string }>({ prefix: roomKeys.timelineOf(roomId) })) {
    seeds.add(entry.value.eventId);
  }
  for await (const entry of kv.list({ prefix: ["room_depth", roomId] })) {
    seeds.add(entry.key[3] as string);
  }
  const head = await hs.rooms.head(roomId);
  for (const id of head?.extremities ?? []) seeds.add(id);
  const groups = await stateGroupsOf(kv, roomId);
  for (const { group, record } of groups) {
    for (const [, id] of record.delta) if (id !== null) seeds.add(id);
    for (let i = 0; i < record.chunks; i++) {
      const chunk = await kv.get<[string, string][]>(roomKeys.stateSnapshot(group, i));
      for (const [, id] of chunk.value ?? []) seeds.add(id);
    }
  }

  // Walk the DAG from the seeds: outliers and rejected events are found through the events
  // that cite them. Only events of this room are taken.
  const found = new Map<string, EventRecord>();
  const relationParents = new Set<string>();
  const frontier = [...seeds];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const batch = frontier.splice(0, 500);
    const records = await getManyChunked<EventRecord>(kv, batch.map((id) => roomKeys.event(id)));
    records.forEach((entry, i) => {
      const record = entry.value;
      if (!record || record.meta.roomId !== roomId) return;
      found.set(batch[i], record);
      if (record.pdu === null) return;
      const pdu = JSON.parse(record.pdu) as Record<string, unknown>;
      const relatesTo = (pdu.content as Record<string, unknown> | undefined)?.["m.relates_to"];
      if (typeof relatesTo === "object" && relatesTo !== null) {
        const parent = (relatesTo as Record<string, unknown>).event_id;
        if (typeof parent === "string") relationParents.add(parent);
      }
      for (const ref of referencesOf(pdu)) {
        if (!seen.has(ref)) {
          seen.add(ref);
          frontier.push(ref);
        }
      }
    });
  }

  // Memberships of every user the room's state names.
  const members: string[] = [];
  for await (const entry of kv.list({ prefix: roomKeys.currentStateOf(roomId, "m.room.member") })) {
    members.push(entry.key[3] as string);
  }
  await deleteKeys(kv, members.map((userId) => roomKeys.userRoom(userId, roomId)));
  const aliases = await hs.rooms.aliasesOf(roomId);
  await deleteKeys(
    kv,
    aliases.flatMap((a) => [roomKeys.alias(a), roomKeys.aliasOfRoom(roomId, a)]),
  );
  await kv.delete(roomKeys.publicRoom(roomId));

  for (const prefix of ["room_timeline", "room_depth", "room_state", "thread_root", "search"]) {
    await deleteRange(kv, { prefix: [prefix, roomId] });
  }
  await deleteRange(kv, { prefix: ["receipt", roomId] });
  await kv.delete(["room_purged", roomId]);

  const eventKeys: Deno.KvKey[] = [];
  for (const [id, record] of found) {
    eventKeys.push(roomKeys.event(id), roomKeys.referenced(id));
    for (let i = 0; i < record.parts; i++) eventKeys.push(roomKeys.eventPart(id, i));
  }
  await deleteKeys(kv, eventKeys);
  // Redactions waiting for an unknown target are few: one scan beats a list per event.
  const pending: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: ["pending_redaction"] })) {
    if (found.has(entry.key[1] as string) || found.has(entry.key[2] as string)) {
      pending.push(entry.key);
    }
  }
  await deleteKeys(kv, pending);
  for (const parent of relationParents) {
    if (found.has(parent)) await deleteRange(kv, { prefix: ["relation", parent] });
  }
  for (const { group } of groups) {
    await deleteRange(kv, { prefix: ["state_snap", group] });
  }
  await deleteKeys(kv, groups.map(({ group }) => roomKeys.stateGroup(group)));

  await kv.atomic().delete(roomKeys.head(roomId)).delete(roomKeys.room(roomId)).commit();
  hs.pipeline.invalidate(roomId);
  hs.rooms.forgetRoom(roomId, found.keys());
  roomSizes(hs).forget(roomId);
  return { events: found.size, stateGroups: groups.length };
}
