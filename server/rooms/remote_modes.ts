/**
 * The pipeline's modes for events known from elsewhere (see `event_pipeline.ts`): outliers,
 * backfilled events and the state of a remote join. They reach the pipeline's internals through
 * a {@link ModeCore}.
 *
 * @module
 */

import { checkAuthEvents } from "../../federation/auth_rules.ts";
import {
  roomVersion as roomVersionOf,
  type RoomVersionRules,
} from "../../federation/room_versions.ts";
import { type RoomEvent, type StateMap, stateTupleKey } from "../../federation/types.ts";
import { forbidden, MatrixError, notFound } from "../errors.ts";
import { CommitQueue } from "./commit_queue.ts";
import { sortByAuth, sortByPrev } from "./admission.ts";
import { Mutations } from "./mutations.ts";
import { RoomCache, type RoomContext } from "./room_cache.ts";
import { encodePdu as encodeForRecord, type StoredEvent } from "./room_store.ts";
import { type EventMeta, type EventRecord, roomKeys, type RoomRecord } from "./schema.ts";
import { EventCommitter } from "./event_commit.ts";
import type { AdmitInput, AdmitResult, PipelineDeps } from "./pipeline_types.ts";

/** What these modes need of the pipeline. */
export interface ModeCore {
  deps: PipelineDeps;
  cache: RoomCache;
  commits: CommitQueue;
  committer: EventCommitter;
  withLock<T>(roomId: string, fn: () => Promise<T>): Promise<T>;
  settle(roomId: string, ctx: RoomContext): Promise<RoomContext | null>;
  stateFromPrevs(
    event: RoomEvent,
    rules: RoomVersionRules,
  ): Promise<
    { state: StateMap; group: number | null; deltaBase?: { group: number; state: StateMap } } | null
  >;
  authorise(
    event: RoomEvent,
    stateBefore: StateMap,
    rules: RoomVersionRules,
  ): Promise<string | null>;
  /** Reserves `n` backfill positions; returns the counter before them. */
  backfillPositions(n: number): Promise<number>;
}

/**
 * The `outlier` mode: events known only for checks (auth chains, the state of a join), stored
 * and checked against their auth events, with no position and no state (writes the room record
 * when the room is new here).
 */
export async function admitOutliers(
  core: ModeCore,
  room: RoomRecord,
  events: readonly RoomEvent[],
): Promise<AdmitResult[]> {
  const { rooms } = core.deps;
  const rules = (await rooms.rulesOf(room.roomId)) ?? roomRules(room);
  const results: AdmitResult[] = [];
  const batch = new Map(events.map((e) => [e.eventId, e]));
  const known = await rooms.events(batch.keys());
  const rejectedIds = new Set<string>();
  for (const [id, stored] of known) if (stored.meta.rejected !== null) rejectedIds.add(id);
  const newRoom = !(await rooms.room(room.roomId));
  let m = new Mutations();
  let first = true;
  const flush = async () => {
    if (m.mutations === 0) return;
    await core.commits.commit(m);
    m = new Mutations();
  };
  // Auth events before the events they authorise, so each is checked against checked ones.
  for (const event of sortByAuth([...batch.values()])) {
    const stored = known.get(event.eventId);
    if (stored) {
      results.push({ stored, outcome: "duplicate" });
      continue;
    }
    const authEvents: RoomEvent[] = [];
    const missing: string[] = [];
    for (const id of event.authEvents) {
      const found = batch.get(id) ?? known.get(id)?.event;
      if (found) authEvents.push(found);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const more = await rooms.events(missing);
      for (const [id, s] of more) {
        authEvents.push(s.event);
        if (s.meta.rejected !== null) rejectedIds.add(id);
      }
    }
    let rejected: string | null = null;
    if (authEvents.length < event.authEvents.length) {
      rejected = "some of its auth events are unknown";
    } else if (event.authEvents.some((id) => rejectedIds.has(id))) {
      rejected = "one of its auth events was rejected";
    } else {
      const verdict = checkAuthEvents(event, authEvents, rules);
      if (!verdict.ok) rejected = verdict.reason.slice(0, 500);
    }
    if (rejected !== null) rejectedIds.add(event.eventId);
    const meta: EventMeta = {
      roomId: room.roomId,
      pos: null,
      depth: event.depth,
      stateGroupBefore: null,
      stateGroup: null,
      rejected,
      outlier: true,
      txn: null,
      redactedBy: null,
      receivedTs: Date.now(),
      replacesState: null,
    };
    if (first && newRoom) m.set(roomKeys.room(room.roomId), room);
    first = false;
    const record = writeEventRecord(m, event, meta);
    if (m.mutations > 200 || m.bytes > 400_000) await flush();
    const storedEvent: StoredEvent = { event, meta: record.meta, rules };
    results.push({ stored: storedEvent, outcome: rejected === null ? "outlier" : "rejected" });
  }
  if (first && newRoom) m.set(roomKeys.room(room.roomId), room);
  await flush();
  for (const result of results) {
    if (result.outcome !== "duplicate") rooms.cacheEvent(result.stored);
  }
  return results;
}

/**
 * The `backfill` mode: older events, placed below the timeline at negative positions, changing
 * neither the extremities nor the current state.
 */
export async function admitBackfill(
  core: ModeCore,
  roomId: string,
  events: readonly RoomEvent[],
  supplied?: ReadonlyMap<string, StateMap>,
): Promise<AdmitResult[]> {
  return await core.withLock(roomId, async () => {
    const { rooms } = core.deps;
    let ctx = await core.cache.get(roomId);
    if (ctx) ctx = await core.settle(roomId, ctx);
    if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
    const { rules } = ctx;
    const known = await rooms.events(events.map((e) => e.eventId));
    const fresh = sortByPrev(events.filter((e) => {
      const stored = known.get(e.eventId);
      return !stored || stored.meta.outlier;
    }));
    // Oldest first for the checks, but the newest gets the highest position.
    const base = await core.backfillPositions(fresh.length);
    const results: AdmitResult[] = [];
    for (const stored of known.values()) {
      if (!stored.meta.outlier) results.push({ stored, outcome: "duplicate" });
    }
    for (let i = 0; i < fresh.length; i++) {
      const event = fresh[i];
      const counter = base + fresh.length - i;
      let before = await core.stateFromPrevs(event, rules);
      if (!before) {
        const state = supplied?.get(event.eventId);
        if (!state) {
          // Nothing to check it against: keep it for checks only.
          results.push(...await admitOutliers(core, ctx.room, [event]));
          continue;
        }
        before = { state: new Map(state), group: null };
      }
      const rejected = await core.authorise(event, before.state, rules);
      const admitted = await core.committer.commit(ctx, event, {
        mode: "backfill",
        room: ctx.room,
        rules,
        newRoom: false,
        placement: "backfill",
        stateBefore: before.state,
        groupBefore: before.group,
        deltaBase: before.deltaBase,
        rejected,
        softFailed: false,
        backfill: { pos: -counter, counter },
      });
      results.push(await admitted.finish());
    }
    return results;
  });
}

/**
 * The `join` mode: a remote room's state (as outliers) and our join on top of it; the room's
 * head starts there.
 */
export async function admitJoin(
  core: ModeCore,
  input: Extract<AdmitInput, { mode: "join" }>,
): Promise<AdmitResult> {
  const { room, event } = input;
  const rules = roomRules(room);
  // The state and its auth chain first, as outliers (unreferenced until the head exists).
  const outliers = await admitOutliers(core, room, [...input.authChain, ...input.state]);
  const rejected = new Set(
    outliers.filter((r) => r.stored.meta.rejected !== null).map((r) => r.stored.event.eventId),
  );
  const state: StateMap = new Map();
  for (const e of input.state) {
    if (e.stateKey === undefined || rejected.has(e.eventId)) continue;
    state.set(stateTupleKey(e.type, e.stateKey), e.eventId);
  }
  return await core.withLock(room.roomId, async () => {
    let ctx = await core.cache.get(room.roomId);
    if (ctx) ctx = await core.settle(room.roomId, ctx);
    const existing = await core.deps.rooms.event(event.eventId);
    if (existing && !existing.meta.outlier) return { stored: existing, outcome: "duplicate" };
    const reason = await core.authorise(event, state, rules);
    if (reason !== null) throw forbidden(`The join event is not allowed: ${reason}`);
    const admitted = await core.committer.commit(ctx, event, {
      mode: "join",
      room: ctx?.room ?? room,
      rules,
      newRoom: !ctx && !(await core.deps.rooms.room(room.roomId)),
      placement: "timeline",
      stateBefore: state,
      groupBefore: null,
      rejected: null,
      softFailed: false,
    });
    return await admitted.finish();
  });
}

/** Adds an event record (split when large) to a write and returns it. */
function writeEventRecord(m: Mutations, event: RoomEvent, meta: EventMeta): EventRecord {
  const encoded = encodeForRecord(event);
  const record: EventRecord = { meta, pdu: encoded.pdu, parts: encoded.parts.length };
  m.set(roomKeys.event(event.eventId), record, {
    sizeHint: (encoded.pdu?.length ?? 0) * 2 + 1024,
  });
  encoded.parts.forEach((part, i) => {
    m.set(roomKeys.eventPart(event.eventId, i), part, { sizeHint: part.length * 2 + 8 });
  });
  return record;
}

export function roomRules(room: RoomRecord): RoomVersionRules {
  const rules = roomVersionOf(room.roomVersion);
  if (!rules) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", "Unsupported room version");
  return rules;
}
