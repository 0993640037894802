/**
 * The commit of one admitted event (see `event_pipeline.ts`): the state groups of the state
 * before and after it, the room's new head and current state (forward extremities from the
 * extremity index; a resolution when several remain), the current-state diff with the
 * membership records it changes, the redaction's effect, stripped state for invites and
 * knocks, the outbound federation destinations, then one queued KV commit
 * (`event_write.ts`) and, once it committed, caches, the stream watermark, sync wake-ups and
 * subscribers.
 *
 * @module
 */

import { stateAfterEvent } from "../../federation/state_res/mod.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { serverAllowedByAcl } from "../../federation/server_acl.ts";
import { type RoomEvent, type StateMap, stateTupleKey } from "../../federation/types.ts";
import { MatrixError } from "../errors.ts";
import { eventTerms, searchRemovals } from "../search/index.ts";
import { SearchIndexer } from "../search/indexer.ts";
import { getManyChunked } from "../store/kv_batch.ts";
import { CommitDependencyError, CommitQueue, type CommitTicket } from "./commit_queue.ts";
import {
  currentStateMutations,
  type CurrentStateUpdate,
  eventMutations,
  type RedactionTarget,
  type StateChange,
} from "./event_write.ts";
import { diffChanges } from "./admission.ts";
import { Mutations } from "./mutations.ts";
import { redactionAllowed } from "./policy.ts";
import { type Lineage, RoomCache, type RoomContext } from "./room_cache.ts";
import { type StoredEvent } from "./room_store.ts";
import {
  type EventRecord,
  type MembershipRecord,
  type RoomHead,
  roomKeys,
  STRIPPED_STATE_TYPES,
  type StrippedStateEvent,
} from "./schema.ts";
import type { PreparedGroup } from "./state_store.ts";
import { resolveRoomStates } from "./state_resolution.ts";
import type {
  Admitted,
  CommittedEvent,
  Decision,
  Outcome,
  PipelineDeps,
  StateReader,
} from "./pipeline_types.ts";

/** The start of every m.room.member state tuple key. */
const MEMBER_PREFIX = stateTupleKey("m.room.member", "");

/** Current-state changes beyond this many are written ahead of the event's commit. */
const INLINE_STATE_CHANGES = 300;

/** What the committer shares with the pipeline. */
export interface CommitCore {
  deps: PipelineDeps;
  cache: RoomCache;
  commits: CommitQueue;
  search: SearchIndexer;
  subscribers: ((event: CommittedEvent) => void)[];
}

/** Commits admitted events (one per pipeline). */
export class EventCommitter {
  readonly #deps: PipelineDeps;
  readonly #cache: RoomCache;
  readonly #commits: CommitQueue;
  readonly #search: SearchIndexer;
  readonly #subscribers: ((event: CommittedEvent) => void)[];

  constructor(core: CommitCore) {
    this.#deps = core.deps;
    this.#cache = core.cache;
    this.#commits = core.commits;
    this.#search = core.search;
    this.#subscribers = core.subscribers;
  }

  #reader(state: StateMap): StateReader {
    const { rooms } = this.#deps;
    return (type, stateKey) => {
      const id = state.get(stateTupleKey(type, stateKey));
      return id === undefined ? Promise.resolve(null) : rooms.event(id);
    };
  }

  /**
   * Queues the commit of an event whose fate is decided and advances the room's context. The
   * returned `finish` awaits the commit, then updates caches, the watermark and subscribers.
   */
  async commit(ctx: RoomContext | null, event: RoomEvent, d: Decision): Promise<Admitted> {
    const { kv, rooms, stream, serverName } = this.#deps;
    const { room, rules, stateBefore } = d;
    const roomId = room.roomId;
    const isState = event.stateKey !== undefined;
    const accepted = d.rejected === null;
    const timeline = d.placement === "timeline" && accepted && !d.softFailed;
    const prepared: PreparedGroup[] = [];

    let groupBefore = d.groupBefore;
    if (groupBefore === null && (stateBefore.size > 0 || event.type !== "m.room.create")) {
      const p = await rooms.states.prepare(roomId, stateBefore, {
        prev: d.deltaBase?.group ?? null,
        prevState: d.deltaBase?.state,
      });
      prepared.push(p);
      groupBefore = p.group;
    }
    let stateAfter = stateBefore;
    let groupAfter = groupBefore;
    if (accepted && isState) {
      stateAfter = stateAfterEvent(stateBefore, event);
      const p = await rooms.states.prepare(roomId, stateAfter, {
        prev: groupBefore,
        prevState: stateBefore,
      });
      prepared.push(p);
      groupAfter = p.group;
    }

    // The room's head and current state after this event.
    let extremities = ctx?.extremities ?? [];
    let extremityGroups = ctx?.extremityGroups ?? new Map<string, number>();
    let current = ctx?.state ?? new Map<string, string>();
    let currentGroup = ctx?.head.stateGroup ?? groupAfter!;
    let changes: StateChange[] = [];
    if (timeline) {
      const prevIds = new Set(event.prevEvents);
      const kept = d.mode === "join" ? [] : extremities.filter((e) => !prevIds.has(e.eventId));
      let referenced = false;
      if (d.mode === "remote" && !d.onHead) {
        referenced = (await kv.get(roomKeys.referenced(event.eventId))).versionstamp !== null;
      }
      extremities = referenced && kept.length > 0 ? kept : [...kept, event];
      const groups = new Map<string, number>();
      for (const e of extremities) {
        groups.set(e.eventId, e === event ? groupAfter! : extremityGroups.get(e.eventId)!);
      }
      extremityGroups = groups;
      const distinct = [...new Set(groups.values())];
      if (d.mode === "local" || d.mode === "join" || !ctx) {
        // A local event is built on the current state; a join starts the room's head.
        current = stateAfter;
        currentGroup = groupAfter!;
        changes = d.mode === "local" && ctx
          ? (isState ? [{ key: stateTupleKey(event.type, event.stateKey!), event }] : [])
          : await diffChanges(rooms, ctx?.state ?? new Map(), stateAfter, event);
      } else {
        if (distinct.length === 1) {
          currentGroup = distinct[0];
          current = currentGroup === groupAfter
            ? stateAfter
            : await rooms.states.stateOf(currentGroup);
        } else {
          // The event's own group is only prepared so far: its state is at hand.
          const states = await Promise.all(
            distinct.map((g) => g === groupAfter ? stateAfter : rooms.states.stateOf(g)),
          );
          current = await resolveRoomStates(rooms, states, rules, [event]);
          const p = await rooms.states.prepare(roomId, current, {
            prev: groupAfter,
            prevState: stateAfter,
          });
          prepared.push(p);
          currentGroup = p.group;
        }
        if (current !== ctx.state) changes = await diffChanges(rooms, ctx.state, current, event);
      }
    }

    // Reads for member changes and redactions (these events wait for the room's writes in
    // flight, so the reads see them).
    const previous = new Map<string, MembershipRecord>();
    const memberKeys = changes.filter((c) => c.event?.type === "m.room.member" || c.event === null)
      .map((c) => c.event?.stateKey ?? null).filter((k) => k !== null);
    if (memberKeys.length > 0) {
      const records = await getManyChunked<MembershipRecord>(
        kv,
        memberKeys.map((userId) => roomKeys.userRoom(userId, roomId)),
      );
      memberKeys.forEach((userId, i) => {
        const value = records[i].value;
        if (value) previous.set(userId, value);
      });
    }
    let redactionTarget: RedactionTarget | null = null;
    let redactionApplies = true;
    if (event.type === "m.room.redaction" && event.redacts !== undefined && accepted) {
      const raw = await kv.get<EventRecord>(roomKeys.event(event.redacts));
      const stored = raw.value ? await rooms.event(event.redacts) : null;
      if (raw.value && stored && stored.event.roomId === roomId) {
        if (d.mode !== "local") {
          redactionApplies = await redactionAllowed(event, stored.event, {
            state: this.#reader(stateBefore),
            rules,
          });
        }
        const targetPos = stored.meta.pos;
        let search: RedactionTarget["search"] = { set: [], remove: [] };
        if (redactionApplies && targetPos !== null && eventTerms(stored.event)) {
          // The target's postings may still be in memory: have them written, then rewrite.
          await this.#search.flushThrough(targetPos);
          search = await searchRemovals(kv, stored.event, targetPos);
        }
        redactionTarget = { stored, record: raw.value, search };
      }
    }
    let strippedState: StrippedStateEvent[] | undefined;
    const membership = event.type === "m.room.member" ? event.content.membership : undefined;
    if (accepted && (membership === "invite" || membership === "knock")) {
      strippedState = await this.#strippedState(stateAfter, event);
    }
    const memberChange = changes.some((c) => c.key.startsWith(MEMBER_PREFIX));
    let remoteServers = memberChange ? undefined : ctx?.remoteServers;
    let destinations: string[] = [];
    const sends = d.mode === "local" || d.relayFrom !== undefined;
    if (timeline && sends && this.#deps.outbox) {
      remoteServers ??= await this.#remoteServersOf(current, event);
      const out = new Set(remoteServers);
      if (memberChange) {
        // The servers that were in the room hear of the change too (a kick, a leave).
        for (const s of ctx?.remoteServers ?? await this.#remoteServersOf(stateBefore, event)) {
          out.add(s);
        }
      }
      // The target of a membership change hears of it even when not joined (an invite
      // withdrawn, a knock refused, a ban).
      if (event.type === "m.room.member" && event.stateKey !== undefined) {
        const target = serverNameOf(event.stateKey);
        if (target) out.add(target);
      }
      out.delete(serverName);
      if (d.relayFrom !== undefined) out.delete(d.relayFrom);
      destinations = [...out].sort();
      // The room's server ACL holds both ways: denied servers get nothing from us.
      const aclId = current.get(stateTupleKey("m.room.server_acl", ""));
      if (aclId !== undefined && destinations.length > 0) {
        const acl = aclId === event.eventId ? event : (await rooms.event(aclId))?.event;
        if (acl) destinations = destinations.filter((s) => serverAllowedByAcl(acl.content, s));
      }
    }
    // Very large state changes (a join to a big room, a merge) are written ahead.
    let current_: CurrentStateUpdate | null = timeline ? { changes, previous } : null;
    const ahead = changes.length > INLINE_STATE_CHANGES ? changes.slice(INLINE_STATE_CHANGES) : [];

    // From here to the queueing nothing awaits, so the lineage cannot end in between, except
    // for the rare writes ahead, which do not depend on the lineage.
    const lineage: Lineage = ctx?.lineage ?? this.#cache.newLineage();
    if (!lineage.valid) throw earlierEventFailed();
    let pos: number | null = null;
    if (timeline) pos = stream.allocate();
    else if (d.backfill && accepted) pos = d.backfill.pos;
    const streamPos = timeline ? pos! : null;
    const aheadRecords: MembershipRecord[] = [];
    if (ahead.length > 0) {
      try {
        for (let i = 0; i < ahead.length; i += INLINE_STATE_CHANGES) {
          const m = new Mutations();
          aheadRecords.push(...currentStateMutations(m, roomId, {
            changes: ahead.slice(i, i + INLINE_STATE_CHANGES),
            previous,
          }, pos!));
          await this.#commits.commit(m);
        }
      } catch (err) {
        if (streamPos !== null) stream.abandon(streamPos);
        throw err;
      }
      current_ = { changes: changes.slice(0, INLINE_STATE_CHANGES), previous };
      if (!lineage.valid) {
        if (streamPos !== null) stream.abandon(streamPos);
        throw earlierEventFailed();
      }
    }
    const head: RoomHead | null = timeline
      ? {
        extremities: extremities.map((e) => e.eventId),
        stateGroup: currentGroup,
        lastPos: pos!,
        maxDepth: Math.max(ctx?.head.maxDepth ?? 0, event.depth),
      }
      : null;
    let ticket: CommitTicket;
    let written: ReturnType<typeof eventMutations>;
    try {
      written = eventMutations(event, {
        states: rooms.states,
        room,
        newRoom: d.newRoom,
        placement: d.placement,
        pos,
        backfillCounter: d.backfill?.counter,
        stateBefore,
        groupBefore,
        groupAfter,
        roomState: timeline
          ? { before: ctx?.head.stateGroup ?? groupBefore, after: currentGroup }
          : undefined,
        prepared,
        rejected: d.rejected,
        softFailed: d.softFailed,
        head,
        current: current_,
        redactionTarget,
        redactionApplies,
        strippedState,
        txn: d.txn,
        // A local event is built on the extremities in `ctx`; `onHead` checked the same.
        prevsOnHead: ctx !== null && (d.mode === "local" || d.onHead === true),
        outbox: destinations.length > 0
          ? (m, p) =>
            this.#deps.outbox!(m, destinations, { eventId: event.eventId, roomId, pos: p })
          : undefined,
      });
      const after = timeline ? lineage.tail ?? undefined : undefined;
      ticket = this.#commits.enqueue(written.mutations, { after });
    } catch (err) {
      if (streamPos !== null) stream.abandon(streamPos);
      throw err;
    }
    const { meta, redactedTarget } = written;
    const membershipRecords = [...written.membershipRecords, ...aheadRecords];
    if (timeline) {
      this.#cache.advance(roomId, {
        room,
        rules,
        head: head!,
        extremities,
        extremityGroups,
        state: current,
        lineage,
        remoteServers,
      }, ticket);
    }

    const outcome: Outcome = d.rejected !== null
      ? "rejected"
      : d.softFailed
      ? "soft_failed"
      : "accepted";
    // Registered now, so the effects run in commit order (the search indexer needs that).
    const committed = ticket.done.then(() => {
      if (timeline) this.#cache.settled(roomId, lineage, true);
      const stored: StoredEvent = { event, meta, rules };
      rooms.cacheEvent(stored);
      if (d.newRoom) rooms.cacheRoom(room);
      if (redactedTarget) rooms.cacheEvent(redactedTarget);
      for (const p of prepared) rooms.states.committed(p);
      const local = membershipRecords.filter((r) => serverNameOf(r.userId) === serverName);
      // The notifier's room index changes before the position becomes visible.
      for (const r of local) this.#deps.notifier.setMembership(roomId, r.userId, r.membership);
      if (streamPos !== null) stream.complete(streamPos);
      this.#publish({
        stored,
        outcome,
        destinations,
        pos: accepted && !d.softFailed ? pos : null,
        streamPos,
        localMembershipChanges: local.map((r) => r.userId),
      });
      return { stored, outcome };
    }, (err) => {
      if (timeline) this.#cache.settled(roomId, lineage, false);
      if (streamPos !== null) stream.abandon(streamPos);
      throw err instanceof CommitDependencyError ? earlierEventFailed() : err;
    });
    committed.catch(() => {}); // a caller that gave up still leaves no unhandled rejection
    return { finish: () => committed };
  }

  #publish(event: CommittedEvent): void {
    for (const listener of this.#subscribers) {
      try {
        listener(event);
      } catch (err) {
        console.error("pipeline subscriber failed:", err);
      }
    }
  }

  /** Servers other than this one with a joined member in `state`. */
  async #remoteServersOf(state: StateMap, pending: RoomEvent): Promise<Set<string>> {
    const { rooms, serverName } = this.#deps;
    const ids: string[] = [];
    for (const [key, id] of state) {
      if (!key.startsWith(MEMBER_PREFIX)) continue;
      if (serverNameOf(key.slice(MEMBER_PREFIX.length)) === serverName) continue;
      ids.push(id);
    }
    const out = new Set<string>();
    if (ids.length === 0) return out;
    const events = await rooms.events(ids.filter((id) => id !== pending.eventId));
    if (ids.includes(pending.eventId)) {
      events.set(pending.eventId, { event: pending } as StoredEvent);
    }
    for (const stored of events.values()) {
      const server = serverNameOf(stored.event.stateKey ?? "");
      if (server && stored.event.content.membership === "join") out.add(server);
    }
    return out;
  }

  async #strippedState(state: StateMap, event: RoomEvent): Promise<StrippedStateEvent[]> {
    const ids = STRIPPED_STATE_TYPES.map((type) => state.get(stateTupleKey(type, "")));
    const senderMember = state.get(stateTupleKey("m.room.member", event.sender));
    ids.push(senderMember);
    const present = ids.filter((id) => id !== undefined);
    const events = await this.#deps.rooms.events(present);
    const out: StrippedStateEvent[] = [];
    for (const id of present) {
      const stored = events.get(id);
      if (!stored) continue;
      out.push({
        type: stored.event.type,
        state_key: stored.event.stateKey ?? "",
        sender: stored.event.sender,
        content: stored.event.content,
      });
    }
    return out;
  }
}

/** An event of the room built before this one could not be stored. */
export function earlierEventFailed(): MatrixError {
  return new MatrixError(
    "M_UNKNOWN",
    "An earlier event of this room could not be stored; try again",
    { status: 500 },
  );
}
