/**
 * The one path every room event takes: build (local) or parse (remote), check the auth rules
 * against the room engine, persist in one atomic KV commit, advance the stream watermark, then
 * wake sync.
 *
 * Each room has an in-process lock: building an event needs the room's current forward
 * extremities and state, so events of one room are admitted one at a time. The room's head,
 * current state and extremity events are cached in memory (`room_cache.ts`) and changed only by
 * the writes this class makes, so admitting a message event reads nothing from KV.
 *
 * A message event holds the lock only until its commit is queued: the room's context advances
 * at once, the lock passes to the next event, and the commit is awaited outside. The commit
 * queue (`commit_queue.ts`) is FIFO, so a room's events commit in the order they were built,
 * and the events queued meanwhile (of every room) share one KV commit. Each write depends on
 * the room's previous one: if a commit fails, the events built on it fail too and the room is
 * reloaded from KV (`room_cache.ts`, lineages). The stream position is completed, and sync
 * woken, only after the commit, so no reader sees an event before it is durable.
 *
 * State events and redactions read KV (state groups, memberships, the redaction target) and
 * change what later events are checked against, so they keep the strict order: they wait for
 * the room's writes in flight, and hold the lock until their own commit.
 *
 * One commit holds: the event record (split if large), the state group (state events), the
 * current-state entry, the room head (extremities, state group, last position), the timeline
 * and depth index entries, the relation index entries (`server/sync/relations.ts`), the
 * user's membership record (member events), the redaction mark on the target and the removal
 * of its relation and search entries (redactions), the transaction ID, and the stream and
 * state-group counters. Search postings follow in blocks (`server/search/indexer.ts`): the
 * indexer gets each committed event in commit order and makes it searchable at once.
 *
 * @module
 */

import { authEventTypes } from "../../federation/auth_events.ts";
import { checkAuth, checkAuthEvents } from "../../federation/auth_rules.ts";
import { BuildEventError, buildPdu, type EventTemplate } from "../../federation/build_event.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import { stateAfterEvent } from "../../federation/state_res/mod.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import {
  type JsonObject,
  type RoomEvent,
  type StateMap,
  stateTupleKey,
} from "../../federation/types.ts";
import type { SigningKey } from "../../crypto/signing.ts";
import { randomString } from "../../crypto/tokens.ts";
import { forbidden, MatrixError, notFound } from "../errors.ts";
import type { Notifier } from "../notifier.ts";
import type { StreamSequencer } from "../stream.ts";
import { eventTerms, searchRemovals } from "../search/index.ts";
import { SearchIndexer } from "../search/indexer.ts";
import { CommitDependencyError, CommitQueue, type CommitTicket } from "./commit_queue.ts";
import { eventMutations, type RedactionTarget, type Written } from "./event_write.ts";
import { type Lineage, RoomCache, type RoomContext } from "./room_cache.ts";
import type { RoomStore, StoredEvent } from "./room_store.ts";
import {
  type EventRecord,
  type MembershipRecord,
  roomKeys,
  type RoomRecord,
  type StrippedStateEvent,
} from "./schema.ts";
import type { PreparedGroup } from "./state_store.ts";
import { Transactions } from "./transactions.ts";

/** What the pipeline needs from the server. */
export interface PipelineDeps {
  kv: Deno.Kv;
  rooms: RoomStore;
  stream: StreamSequencer;
  notifier: Notifier;
  serverName: string;
  signingKey: SigningKey;
}

/** Reads the state before the event being admitted (inside the room's lock). */
export type StateReader = (type: string, stateKey: string) => Promise<StoredEvent | null>;

/** Options of {@link EventPipeline.sendEvent}. */
export interface SendEventOptions {
  /** The sending device's transaction: a repeat returns the first event. */
  txn?: { deviceId: string; txnId: string };
  /**
   * Checks the server makes beyond the auth rules (redaction permission, canonical alias
   * targets), run inside the room's lock against the state before the event; throw a
   * MatrixError to refuse.
   */
  precheck?: (state: StateReader, rules: RoomVersionRules) => Promise<void>;
}

/** State types whose events become a new invitee's or knocker's stripped state. */
const STRIPPED_STATE_TYPES = [
  "m.room.create",
  "m.room.name",
  "m.room.avatar",
  "m.room.topic",
  "m.room.join_rules",
  "m.room.canonical_alias",
  "m.room.encryption",
];

/** An event whose commit is queued; `finish` awaits the commit, then publishes the event. */
interface Admitted {
  finish(): Promise<StoredEvent>;
}

/** Admits events into rooms; one per server instance (`hs.pipeline`). */
export class EventPipeline {
  readonly #deps: PipelineDeps;
  readonly #cache: RoomCache;
  readonly #commits: CommitQueue;
  readonly #transactions: Transactions;
  readonly #search: SearchIndexer;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    this.#cache = new RoomCache(deps.rooms);
    this.#commits = new CommitQueue(deps.kv);
    this.#transactions = new Transactions(deps.kv, deps.rooms);
    this.#search = new SearchIndexer(deps.kv, this.#commits);
  }

  /** Writes what is still buffered (search postings); call before the KV closes. */
  async close(): Promise<void> {
    await this.#search.close();
  }

  /**
   * Creates a room with its m.room.create event. For room versions 1-11 the room ID is
   * `!random:server`; for v12 it derives from the create event.
   *
   * @returns the stored create event (its `event.roomId` is the new room's ID)
   */
  async createRoom(
    rules: RoomVersionRules,
    template: { sender: string; content: JsonObject },
  ): Promise<StoredEvent> {
    const { serverName, signingKey } = this.#deps;
    const roomId = rules.roomIdFromCreateEvent ? undefined : `!${randomString(18)}:${serverName}`;
    let event: RoomEvent;
    try {
      event = await buildPdu({ type: "m.room.create", stateKey: "", ...template }, {
        rules,
        roomId,
        origin: serverName,
        signingKey,
        prevEvents: [],
        state: () => undefined,
        originServerTs: Date.now(),
        eventIdLocalpart: randomString(18),
      });
    } catch (err) {
      throw buildError(err);
    }
    const verdict = checkAuth(event, () => undefined, rules);
    if (!verdict.ok) throw forbidden(verdict.reason);
    return await this.#withLock(event.roomId, async () => {
      if (await this.#deps.rooms.room(event.roomId)) {
        throw new MatrixError("M_UNKNOWN", "A room with this ID already exists; try again");
      }
      const room: RoomRecord = {
        roomId: event.roomId,
        roomVersion: rules.id,
        createEventId: event.eventId,
        creator: event.sender,
        createdTs: event.originServerTs,
      };
      const admitted = await this.#admit(null, event, { room, rules, stateBefore: new Map() });
      return await admitted.finish();
    });
  }

  /**
   * Builds, authorises and stores a local event in an existing room. Resolves once the event
   * has committed.
   *
   * @throws {MatrixError} M_NOT_FOUND for an unknown room, M_FORBIDDEN with the auth rules'
   *   reason, M_BAD_JSON / M_TOO_LARGE for an event that breaks the event format
   */
  sendEvent(
    roomId: string,
    template: EventTemplate,
    options: SendEventOptions = {},
  ): Promise<StoredEvent> {
    const { txn } = options;
    if (!txn) return this.#send(roomId, template, options);
    return this.#transactions.run(
      { userId: template.sender, deviceId: txn.deviceId, roomId, txnId: txn.txnId },
      () => this.#send(roomId, template, options),
    );
  }

  /**
   * The event a transaction produced, if any (waits for an attempt in progress; outside any
   * lock; for quick repeats).
   */
  transactionEvent(
    userId: string,
    deviceId: string,
    roomId: string,
    txnId: string,
  ): Promise<string | null> {
    return this.#transactions.find({ userId, deviceId, roomId, txnId });
  }

  /** Forgets cached room state (tests); a room with commits in flight is kept. */
  invalidate(roomId: string): void {
    this.#cache.delete(roomId);
  }

  async #send(
    roomId: string,
    template: EventTemplate,
    options: SendEventOptions,
  ): Promise<StoredEvent> {
    const strict = template.stateKey !== undefined || template.type === "m.room.redaction";
    const admitted = await this.#withLock(roomId, async (): Promise<Admitted> => {
      const { rooms, serverName, signingKey } = this.#deps;
      let ctx = await this.#cache.get(roomId);
      if (ctx && strict) ctx = await this.#settle(roomId, ctx);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const { rules } = ctx;
      const state = ctx.state;
      const reader: StateReader = (type, stateKey) => {
        const id = state.get(stateTupleKey(type, stateKey));
        return id === undefined ? Promise.resolve(null) : rooms.event(id);
      };
      if (options.precheck) await options.precheck(reader, rules);

      // Load the events the auth rules read, so that the engine's lookups are synchronous.
      // They are state events, and state events commit before the lock passes on, so they are
      // in KV (or the event cache).
      const needed = new Map<string, RoomEvent>();
      const wanted: [string, string][] = [
        ["m.room.create", ""],
        ["m.room.power_levels", ""],
        ["m.room.join_rules", ""],
        ["m.room.member", template.sender],
        ...authEventTypes({ ...template, stateKey: template.stateKey }, rules),
      ];
      if (template.type === "m.room.member" && template.stateKey !== undefined) {
        wanted.push(["m.room.member", template.stateKey]);
      }
      const ids = wanted.map(([t, k]) => state.get(stateTupleKey(t, k)))
        .filter((id) => id !== undefined);
      const loaded = await rooms.events(ids);
      for (const [id, stored] of loaded) needed.set(id, stored.event);
      const lookup = (type: string, stateKey: string) => {
        const id = state.get(stateTupleKey(type, stateKey));
        return id === undefined ? undefined : needed.get(id);
      };

      let event: RoomEvent;
      try {
        event = await buildPdu(template, {
          rules,
          roomId,
          origin: serverName,
          signingKey,
          prevEvents: ctx.extremities,
          state: lookup,
          originServerTs: Date.now(),
          eventIdLocalpart: randomString(18),
        });
      } catch (err) {
        throw buildError(err);
      }
      const authEvents = event.authEvents.map((id) => needed.get(id)).filter((e) =>
        e !== undefined
      );
      let verdict = checkAuthEvents(event, authEvents, rules);
      if (verdict.ok) verdict = checkAuth(event, lookup, rules);
      if (!verdict.ok) throw forbidden(verdict.reason);
      const admitted = await this.#admit(ctx, event, {
        room: ctx.room,
        rules,
        stateBefore: state,
        txn: options.txn,
      });
      if (!strict) return admitted;
      const stored = await admitted.finish();
      return { finish: () => Promise.resolve(stored) };
    });
    return await admitted.finish();
  }

  /** Waits until none of the room's writes is in flight; the context may have been reloaded. */
  async #settle(roomId: string, ctx: RoomContext): Promise<RoomContext | null> {
    let current: RoomContext | null = ctx;
    while (current && current.lineage.inFlight > 0) {
      await current.lineage.tail?.done.catch(() => {});
      current = await this.#cache.get(roomId);
    }
    return current;
  }

  /**
   * Queues the commit of an accepted event (rejected remote events will take the same path
   * with `rejected` set) and advances the room's context. The returned `finish` awaits the
   * commit, then updates caches, the watermark and the notifier.
   */
  async #admit(
    ctx: RoomContext | null,
    event: RoomEvent,
    admission: {
      room: RoomRecord;
      rules: RoomVersionRules;
      stateBefore: StateMap;
      txn?: { deviceId: string; txnId: string };
    },
  ): Promise<Admitted> {
    const { kv, rooms, stream, notifier, serverName } = this.#deps;
    const { room, rules, stateBefore } = admission;
    const roomId = room.roomId;
    const isState = event.stateKey !== undefined;
    const stateAfter = isState ? stateAfterEvent(stateBefore, event) : stateBefore;
    const groupBefore = ctx?.head.stateGroup ?? null;
    let prepared: PreparedGroup | null = null;
    if (isState) {
      prepared = await rooms.states.prepare(roomId, stateAfter, {
        prev: groupBefore,
        prevState: stateBefore,
      });
    }
    const groupAfter = prepared?.group ?? groupBefore!;

    // Reads needed for member events and redactions (rare compared to messages; both wait for
    // the room's writes in flight, so these reads see them).
    let previousMembership: MembershipRecord | null = null;
    if (event.type === "m.room.member") {
      previousMembership = await rooms.membership(roomId, event.stateKey!);
    }
    let redactionTarget: RedactionTarget | null = null;
    if (event.type === "m.room.redaction" && event.redacts !== undefined) {
      const raw = await kv.get<EventRecord>(roomKeys.event(event.redacts));
      const stored = raw.value ? await rooms.event(event.redacts) : null;
      if (raw.value && stored && stored.event.roomId === roomId) {
        const targetPos = stored.meta.pos;
        let search: RedactionTarget["search"] = { set: [], remove: [] };
        if (targetPos !== null && eventTerms(stored.event)) {
          // The target's postings may still be in memory: have them written, then rewrite.
          await this.#search.flushThrough(targetPos);
          search = await searchRemovals(kv, stored.event, targetPos);
        }
        redactionTarget = { stored, record: raw.value, search };
      }
    }
    let strippedState: StrippedStateEvent[] | undefined;
    const membership = event.type === "m.room.member" ? event.content.membership : undefined;
    if (membership === "invite" || membership === "knock") {
      strippedState = await this.#strippedState(stateAfter, event);
    }

    // From here to the queueing nothing awaits, so the lineage cannot end in between.
    const lineage: Lineage = ctx?.lineage ?? this.#cache.newLineage();
    if (!lineage.valid) throw earlierEventFailed();
    const pos = stream.allocate();
    let ticket: CommitTicket;
    let written: Written;
    try {
      written = eventMutations(ctx, event, {
        states: rooms.states,
        ...admission,
        pos,
        stateAfter,
        groupBefore,
        groupAfter,
        prepared,
        previousMembership,
        redactionTarget,
        strippedState,
      });
      ticket = this.#commits.enqueue(written.mutations, { after: lineage.tail ?? undefined });
    } catch (err) {
      stream.abandon(pos);
      throw err;
    }
    const { head, extremities, meta, membershipRecord, redactedTarget } = written;
    this.#cache.advance(
      roomId,
      { room, rules, head, extremities, state: stateAfter, lineage },
      ticket,
    );
    // Registered now, so these run in commit order: the indexer needs events in that order.
    ticket.done.then(
      () => {
        this.#cache.settled(roomId, lineage, true);
        this.#search.add(event, pos);
      },
      () => this.#cache.settled(roomId, lineage, false),
    );

    const finish = async (): Promise<StoredEvent> => {
      try {
        await ticket.done;
      } catch (err) {
        stream.abandon(pos);
        if (err instanceof CommitDependencyError) throw earlierEventFailed();
        throw err;
      }
      // Committed: caches, watermark, wake-ups.
      const stored: StoredEvent = { event, meta, rules };
      rooms.cacheEvent(stored);
      if (!ctx) rooms.cacheRoom(room);
      if (redactedTarget) rooms.cacheEvent(redactedTarget);
      if (prepared) rooms.states.committed(prepared);
      const wake = new Set(notifier.listenersOf(roomId));
      if (membershipRecord && serverNameOf(membershipRecord.userId) === serverName) {
        notifier.setMembership(roomId, membershipRecord.userId, membershipRecord.membership);
        wake.add(membershipRecord.userId);
      }
      for (const user of notifier.listenersOf(roomId)) wake.add(user);
      stream.complete(pos);
      notifier.notifyUsers(wake, pos);
      return stored;
    };
    return { finish };
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

  async #withLock<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(roomId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(() => {}, () => {});
    this.#locks.set(roomId, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(roomId) === tail) this.#locks.delete(roomId);
    }
  }
}

/** An event of the room built before this one could not be stored. */
function earlierEventFailed(): MatrixError {
  return new MatrixError(
    "M_UNKNOWN",
    "An earlier event of this room could not be stored; try again",
    { status: 500 },
  );
}

function buildError(err: unknown): MatrixError {
  if (err instanceof BuildEventError) {
    return new MatrixError(err.code, err.message, {
      status: err.code === "M_TOO_LARGE" ? 413 : 400,
    });
  }
  return err as MatrixError;
}
