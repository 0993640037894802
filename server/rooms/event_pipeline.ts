/**
 * The one path every room event takes, local or remote: {@link EventPipeline.admit} with an
 * explicit mode.
 *
 * - `local`: a local user's event: server policy (`policy.ts`), build on the room's forward
 *   extremities and current state, auth check, commit.
 * - `remote`: a new event from another server, already checked for format, signatures and
 *   hashes (`server/federation/`). The state before it is the state after its prev_events,
 *   resolved with the room engine where they differ; it is checked against its auth events,
 *   against that state (failing: rejected), and against the current state (failing:
 *   soft-failed). Missing prev or auth events are reported with {@link MissingEventsError}
 *   so the caller fetches them and retries.
 * - `outlier`: events known only for checks (auth chains, the state of a join): stored and
 *   auth-checked against their auth events, with no position and no state.
 * - `backfill`: older events, placed below everything in the timeline (negative positions),
 *   changing neither the extremities nor the current state.
 * - `join`: a remote room's state from a `send_join` answer (stored as outliers) and our join
 *   event on top of it: the room's head starts there.
 *
 * Each room has an in-process lock. A local message event holds it only until its commit is
 * queued: the room's context advances at once and the commit is awaited outside (see
 * `room_cache.ts` for the lineage that makes this safe). Every other event waits for the
 * room's writes in flight and holds the lock until its own commit.
 *
 * One commit holds: the event record, the state groups, the room head (forward extremities
 * from the extremity index, current state group, last position), the current-state diff with
 * the membership records it changes (a merge can change many), timeline, depth and relation
 * entries, the redaction's effect on its target, the transaction ID, the outbound federation
 * queue entries of a local event, and the stream counters. After the commit, subscribers
 * (sync wake-ups, search, the federation sender) are told.
 *
 * @module
 */

import { checkAuth, checkAuthEvents } from "../../federation/auth_rules.ts";
import {
  BuildEventError,
  buildPdu,
  buildUnsignedPdu,
  type EventTemplate,
} from "../../federation/build_event.ts";
import {
  roomVersion as roomVersionOf,
  type RoomVersionRules,
} from "../../federation/room_versions.ts";
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
import { getManyChunked } from "../store/kv_batch.ts";
import { CommitDependencyError, CommitQueue, type CommitTicket } from "./commit_queue.ts";
import {
  currentStateMutations,
  type CurrentStateUpdate,
  eventMutations,
  type Placement,
  type RedactionTarget,
  type StateChange,
} from "./event_write.ts";
import { authLookup, diffChanges, sortByAuth, sortByPrev } from "./admission.ts";
import { Mutations } from "./mutations.ts";
import { checkLocalEvent, redactionAllowed } from "./policy.ts";
import { type Lineage, RoomCache, type RoomContext } from "./room_cache.ts";
import { encodePdu as encodeForRecord, type RoomStore, type StoredEvent } from "./room_store.ts";
import {
  BACKFILL_COUNTER_KEY,
  type EventMeta,
  type EventRecord,
  type MembershipRecord,
  type RoomHead,
  roomKeys,
  type RoomRecord,
  type StrippedStateEvent,
} from "./schema.ts";
import type { PreparedGroup } from "./state_store.ts";
import { resolveRoomStates } from "./state_resolution.ts";
import { Transactions } from "./transactions.ts";

/** Queues an outbound PDU for other servers inside the event's own commit. */
export type OutboxWriter = (
  m: Mutations,
  destinations: readonly string[],
  item: { eventId: string; roomId: string; pos: number },
) => void;

/** What the pipeline needs from the server. */
export interface PipelineDeps {
  kv: Deno.Kv;
  rooms: RoomStore;
  stream: StreamSequencer;
  notifier: Notifier;
  serverName: string;
  signingKey: SigningKey;
  /** Outbound federation queue (absent: the room stays local). */
  outbox?: OutboxWriter;
}

/** Reads the state before the event being admitted (inside the room's lock). */
export type StateReader = (type: string, stateKey: string) => Promise<StoredEvent | null>;

/** A transaction of a local device. */
export interface Txn {
  deviceId: string;
  txnId: string;
}

/** Options of {@link EventPipeline.sendEvent}. */
export interface SendEventOptions {
  /** The sending device's transaction: a repeat returns the first event. */
  txn?: Txn;
}

/** What to admit, and how (see the module documentation). */
export type AdmitInput =
  | { mode: "local"; roomId: string; template: EventTemplate; txn?: Txn }
  | {
    mode: "remote";
    event: RoomEvent;
    /**
     * Relay it to the room's other servers (the resident server of a `send_join`,
     * `send_leave` or `send_knock`): this server, not its origin, tells the room.
     */
    relayFrom?: string;
  }
  | { mode: "outlier"; room: RoomRecord; events: readonly RoomEvent[] }
  | {
    mode: "backfill";
    roomId: string;
    events: readonly RoomEvent[];
    /** The state before events whose prev_events are unknown (from `/state_ids`). */
    stateBefore?: ReadonlyMap<string, StateMap>;
  }
  | {
    mode: "join";
    room: RoomRecord;
    event: RoomEvent;
    state: readonly RoomEvent[];
    authChain: readonly RoomEvent[];
  };

/** What became of one event. */
export type Outcome = "accepted" | "rejected" | "soft_failed" | "outlier" | "duplicate";

/** One admitted event. */
export interface AdmitResult {
  stored: StoredEvent;
  outcome: Outcome;
}

/** A committed event, as subscribers see it. */
export interface CommittedEvent {
  stored: StoredEvent;
  outcome: Outcome;
  /** Servers its PDU was queued for (local events in rooms with remote members). */
  destinations: readonly string[];
}

/** Events an event refers to are not stored (or have no state): fetch them and retry. */
export class MissingEventsError extends Error {
  readonly code = "M_MISSING_EVENTS";
  constructor(readonly missing: readonly string[], readonly kind: "prev_events" | "auth_events") {
    super(`${kind} not known here: ${missing.slice(0, 5).join(", ")}`);
    this.name = "MissingEventsError";
  }
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

/** The start of every m.room.member state tuple key. */
const MEMBER_PREFIX = stateTupleKey("m.room.member", "");

/** Current-state changes beyond this many are written ahead of the event's commit. */
const INLINE_STATE_CHANGES = 300;

/** An event whose commit is queued; `finish` awaits the commit, then publishes the event. */
interface Admitted {
  finish(): Promise<AdmitResult>;
}

/** How one event is committed (decided by the mode's checks). */
interface Decision {
  mode: AdmitInput["mode"];
  room: RoomRecord;
  rules: RoomVersionRules;
  newRoom: boolean;
  placement: Placement;
  stateBefore: StateMap;
  /** The stored group of `stateBefore`, or null when it is new (a merge, a join). */
  groupBefore: number | null;
  /** For a new `stateBefore`: a group to store it as a delta against. */
  deltaBase?: { group: number; state: StateMap };
  rejected: string | null;
  softFailed: boolean;
  txn?: Txn;
  /** For a remote event this server relays to the room: the server it came from. */
  relayFrom?: string;
  /** For backfill: the timeline position (negative) and the counter behind it. */
  backfill?: { pos: number; counter: number };
}

/** Admits events into rooms; one per server instance (`hs.pipeline`). */
export class EventPipeline {
  readonly #deps: PipelineDeps;
  readonly #cache: RoomCache;
  readonly #commits: CommitQueue;
  readonly #transactions: Transactions;
  readonly #search: SearchIndexer;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #subscribers: ((event: CommittedEvent) => void)[] = [];
  #backfillCounter: number | null = null;

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

  /** Tells `listener` about every committed event (after the commit, in commit order). */
  subscribe(listener: (event: CommittedEvent) => void): void {
    this.#subscribers.push(listener);
  }

  /**
   * Admits events in the given mode. Resolves once they have committed.
   *
   * @throws {MatrixError} M_NOT_FOUND for an unknown room, M_FORBIDDEN with the auth rules'
   *   reason for a local or join event, M_BAD_JSON / M_TOO_LARGE for a local event that
   *   breaks the event format
   * @throws {MissingEventsError} a remote event refers to events that are not stored
   */
  async admit(input: AdmitInput): Promise<AdmitResult[]> {
    switch (input.mode) {
      case "local": {
        const run = () => this.#admitLocal(input.roomId, input.template, input.txn);
        if (!input.txn) return [await run()];
        const { txn, template, roomId } = input;
        const stored = await this.#transactions.run(
          { userId: template.sender, deviceId: txn.deviceId, roomId, txnId: txn.txnId },
          async () => (await run()).stored,
        );
        return [{ stored, outcome: "accepted" }];
      }
      case "remote":
        return [await this.#admitRemote(input.event, input.relayFrom)];
      case "outlier":
        return await this.#admitOutliers(input.room, input.events);
      case "backfill":
        return await this.#admitBackfill(input.roomId, input.events, input.stateBefore);
      case "join":
        return [await this.#admitJoin(input)];
    }
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
      const admitted = await this.#commit(null, event, {
        mode: "local",
        room,
        rules,
        newRoom: true,
        placement: "timeline",
        stateBefore: new Map(),
        groupBefore: null,
        rejected: null,
        softFailed: false,
      });
      return (await admitted.finish()).stored;
    });
  }

  /**
   * Builds, authorises and stores a local event in an existing room (the `local` mode of
   * {@link admit}). Resolves once the event has committed.
   */
  async sendEvent(
    roomId: string,
    template: EventTemplate,
    options: SendEventOptions = {},
  ): Promise<StoredEvent> {
    const [result] = await this.admit({ mode: "local", roomId, template, txn: options.txn });
    return result.stored;
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

  /**
   * An unsigned event for another server to complete (`make_join`, `make_leave`,
   * `make_knock`): built on the room's forward extremities and current state, after checking
   * that the auth rules would allow it there.
   *
   * @throws {MatrixError} M_NOT_FOUND for an unknown room, M_FORBIDDEN with the auth rules'
   *   reason
   */
  async draft(
    roomId: string,
    template: EventTemplate,
  ): Promise<{ pdu: JsonObject; rules: RoomVersionRules }> {
    return await this.#withLock(roomId, async () => {
      let ctx = await this.#cache.get(roomId);
      if (ctx) ctx = await this.#settle(roomId, ctx);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const { rules, state } = ctx;
      const lookup = await authLookup(this.#deps.rooms, state, { ...template, rules });
      const originServerTs = Date.now();
      let pdu: JsonObject;
      try {
        pdu = buildUnsignedPdu(template, {
          rules,
          roomId,
          origin: serverNameOf(template.sender) ?? this.#deps.serverName,
          prevEvents: ctx.extremities,
          state: lookup.get,
          originServerTs,
        });
      } catch (err) {
        throw buildError(err);
      }
      const trial: RoomEvent = {
        eventId: "$draft",
        roomId,
        type: template.type,
        stateKey: template.stateKey,
        sender: template.sender,
        originServerTs,
        depth: pdu.depth as number,
        content: template.content,
        prevEvents: ctx.extremities.map((e) => e.eventId),
        authEvents: [],
        redacts: undefined,
        pdu,
      };
      const verdict = checkAuth(trial, lookup.get, rules);
      if (!verdict.ok) throw forbidden(verdict.reason);
      return { pdu, rules };
    });
  }

  /** The room's current forward extremities (for federation: `make_join`, catch-up). */
  async extremities(roomId: string): Promise<RoomEvent[] | null> {
    const ctx = await this.#cache.get(roomId);
    return ctx ? [...ctx.extremities] : null;
  }

  async #admitLocal(roomId: string, template: EventTemplate, txn?: Txn): Promise<AdmitResult> {
    const strict = template.stateKey !== undefined || template.type === "m.room.redaction";
    const admitted = await this.#withLock(roomId, async (): Promise<Admitted> => {
      const { rooms, serverName, signingKey } = this.#deps;
      let ctx = await this.#cache.get(roomId);
      if (ctx && strict) ctx = await this.#settle(roomId, ctx);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const { rules, state } = ctx;
      if (strict || template.type === "m.room.canonical_alias") {
        await checkLocalEvent(template, {
          roomId,
          state: this.#reader(state),
          rules,
          rooms,
          serverName,
        });
      }
      const lookup = await authLookup(rooms, state, { ...template, rules });
      let event: RoomEvent;
      try {
        event = await buildPdu(template, {
          rules,
          roomId,
          origin: serverName,
          signingKey,
          prevEvents: ctx.extremities,
          state: lookup.get,
          originServerTs: Date.now(),
          eventIdLocalpart: randomString(18),
        });
      } catch (err) {
        throw buildError(err);
      }
      const authEvents = event.authEvents.map((id) => lookup.byId.get(id))
        .filter((e) => e !== undefined);
      let verdict = checkAuthEvents(event, authEvents, rules);
      if (verdict.ok) verdict = checkAuth(event, lookup.get, rules);
      if (!verdict.ok) throw forbidden(verdict.reason);
      const admitted = await this.#commit(ctx, event, {
        mode: "local",
        room: ctx.room,
        rules,
        newRoom: false,
        placement: "timeline",
        stateBefore: state,
        groupBefore: ctx.head.stateGroup,
        rejected: null,
        softFailed: false,
        txn,
      });
      if (!strict) return admitted;
      const result = await admitted.finish();
      return { finish: () => Promise.resolve(result) };
    });
    return await admitted.finish();
  }

  async #admitRemote(event: RoomEvent, relayFrom?: string): Promise<AdmitResult> {
    const roomId = event.roomId;
    return await this.#withLock(roomId, async () => {
      const { rooms } = this.#deps;
      let ctx = await this.#cache.get(roomId);
      if (ctx) ctx = await this.#settle(roomId, ctx);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const existing = await rooms.event(event.eventId);
      if (existing && !existing.meta.outlier) return { stored: existing, outcome: "duplicate" };
      const { rules } = ctx;
      const before = await this.#stateFromPrevs(event, rules);
      if (!before) {
        const prevs = await rooms.events(event.prevEvents);
        const missing = event.prevEvents.filter((id) => prevs.get(id)?.meta.stateGroup == null);
        throw new MissingEventsError(missing, "prev_events");
      }
      let rejected = await this.#authorise(event, before.state, rules);
      let softFailed = false;
      if (rejected === null && before.state !== ctx.state) {
        const current = await authLookup(rooms, ctx.state, { ...event, rules });
        const verdict = checkAuth(event, current.get, rules);
        if (!verdict.ok) softFailed = true;
      }
      if (rejected !== null) rejected = rejected.slice(0, 500);
      const admitted = await this.#commit(ctx, event, {
        mode: "remote",
        room: ctx.room,
        rules,
        newRoom: false,
        placement: "timeline",
        stateBefore: before.state,
        groupBefore: before.group,
        deltaBase: before.deltaBase,
        rejected,
        softFailed,
        relayFrom,
      });
      return await admitted.finish();
    });
  }

  async #admitOutliers(room: RoomRecord, events: readonly RoomEvent[]): Promise<AdmitResult[]> {
    const { rooms } = this.#deps;
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
      await this.#commits.commit(m);
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

  async #admitBackfill(
    roomId: string,
    events: readonly RoomEvent[],
    supplied?: ReadonlyMap<string, StateMap>,
  ): Promise<AdmitResult[]> {
    return await this.#withLock(roomId, async () => {
      const { rooms, kv } = this.#deps;
      let ctx = await this.#cache.get(roomId);
      if (ctx) ctx = await this.#settle(roomId, ctx);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const { rules } = ctx;
      const known = await rooms.events(events.map((e) => e.eventId));
      const fresh = sortByPrev(events.filter((e) => {
        const stored = known.get(e.eventId);
        return !stored || stored.meta.outlier;
      }));
      if (this.#backfillCounter === null) {
        const entry = await kv.get<Deno.KvU64>(BACKFILL_COUNTER_KEY);
        this.#backfillCounter = entry.value ? Number(entry.value.value) : 0;
      }
      // Oldest first for the checks, but the newest gets the highest position.
      const base = this.#backfillCounter;
      this.#backfillCounter += fresh.length;
      const results: AdmitResult[] = [];
      for (const stored of known.values()) {
        if (!stored.meta.outlier) results.push({ stored, outcome: "duplicate" });
      }
      for (let i = 0; i < fresh.length; i++) {
        const event = fresh[i];
        const counter = base + fresh.length - i;
        let before = await this.#stateFromPrevs(event, rules);
        if (!before) {
          const state = supplied?.get(event.eventId);
          if (!state) {
            // Nothing to check it against: keep it for checks only.
            results.push(...await this.#admitOutliers(ctx.room, [event]));
            continue;
          }
          before = { state: new Map(state), group: null };
        }
        const rejected = await this.#authorise(event, before.state, rules);
        const admitted = await this.#commit(ctx, event, {
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

  async #admitJoin(input: Extract<AdmitInput, { mode: "join" }>): Promise<AdmitResult> {
    const { room, event } = input;
    const rules = roomRules(room);
    // The state and its auth chain first, as outliers (unreferenced until the head exists).
    const outliers = await this.#admitOutliers(room, [...input.authChain, ...input.state]);
    const rejected = new Set(
      outliers.filter((r) => r.stored.meta.rejected !== null).map((r) => r.stored.event.eventId),
    );
    const state: StateMap = new Map();
    for (const e of input.state) {
      if (e.stateKey === undefined || rejected.has(e.eventId)) continue;
      state.set(stateTupleKey(e.type, e.stateKey), e.eventId);
    }
    return await this.#withLock(room.roomId, async () => {
      let ctx = await this.#cache.get(room.roomId);
      if (ctx) ctx = await this.#settle(room.roomId, ctx);
      const existing = await this.#deps.rooms.event(event.eventId);
      if (existing && !existing.meta.outlier) return { stored: existing, outcome: "duplicate" };
      const reason = await this.#authorise(event, state, rules);
      if (reason !== null) throw forbidden(`The join event is not allowed: ${reason}`);
      const admitted = await this.#commit(ctx, event, {
        mode: "join",
        room: ctx?.room ?? room,
        rules,
        newRoom: !ctx && !(await this.#deps.rooms.room(room.roomId)),
        placement: "timeline",
        stateBefore: state,
        groupBefore: null,
        rejected: null,
        softFailed: false,
      });
      return await admitted.finish();
    });
  }

  /**
   * The state before an event from its prev_events' state groups (resolved where they
   * differ); null when a prev event is unknown or has no state (an outlier).
   */
  async #stateFromPrevs(
    event: RoomEvent,
    rules: RoomVersionRules,
  ): Promise<
    { state: StateMap; group: number | null; deltaBase?: { group: number; state: StateMap } } | null
  > {
    const { rooms } = this.#deps;
    if (event.prevEvents.length === 0) return null;
    const prevs = await rooms.events(event.prevEvents);
    const groups = new Set<number>();
    for (const id of event.prevEvents) {
      const group = prevs.get(id)?.meta.stateGroup;
      if (group === null || group === undefined) return null;
      groups.add(group);
    }
    const list = [...groups];
    const states = await Promise.all(list.map((g) => rooms.states.stateOf(g)));
    if (list.length === 1) return { state: states[0], group: list[0] };
    const state = await resolveRoomStates(rooms, states, rules);
    return { state, group: null, deltaBase: { group: list[0], state: states[0] } };
  }

  /** Checks an event against its auth events and the state before it; the reason, or null. */
  async #authorise(
    event: RoomEvent,
    stateBefore: StateMap,
    rules: RoomVersionRules,
  ): Promise<string | null> {
    const { rooms } = this.#deps;
    const auth = await rooms.events(event.authEvents);
    const missing = event.authEvents.filter((id) => !auth.has(id));
    if (missing.length > 0) throw new MissingEventsError(missing, "auth_events");
    for (const stored of auth.values()) {
      if (stored.meta.rejected !== null) {
        return `auth event ${stored.event.eventId} was rejected`;
      }
    }
    const authEvents = event.authEvents.map((id) => auth.get(id)!.event);
    let verdict = checkAuthEvents(event, authEvents, rules);
    if (verdict.ok) {
      const lookup = await authLookup(rooms, stateBefore, { ...event, rules });
      verdict = checkAuth(event, lookup.get, rules);
    }
    return verdict.ok ? null : verdict.reason;
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
  async #commit(ctx: RoomContext | null, event: RoomEvent, d: Decision): Promise<Admitted> {
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
      if (d.mode === "remote") {
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
          const states = await Promise.all(distinct.map((g) => rooms.states.stateOf(g)));
          current = await resolveRoomStates(rooms, states, rules);
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
      out.delete(serverName);
      if (d.relayFrom !== undefined) out.delete(d.relayFrom);
      destinations = [...out].sort();
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
        prepared,
        rejected: d.rejected,
        softFailed: d.softFailed,
        head,
        current: current_,
        redactionTarget,
        redactionApplies,
        strippedState,
        txn: d.txn,
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
      // Registered now, so these run in commit order: the indexer needs events in that order.
      ticket.done.then(
        () => {
          this.#cache.settled(roomId, lineage, true);
          this.#search.add(event, pos!);
        },
        () => this.#cache.settled(roomId, lineage, false),
      );
    }

    const outcome: Outcome = d.rejected !== null
      ? "rejected"
      : d.softFailed
      ? "soft_failed"
      : "accepted";
    const finish = async (): Promise<AdmitResult> => {
      try {
        await ticket.done;
      } catch (err) {
        if (streamPos !== null) stream.abandon(streamPos);
        if (err instanceof CommitDependencyError) throw earlierEventFailed();
        throw err;
      }
      // Committed: caches, watermark, subscribers.
      const stored: StoredEvent = { event, meta, rules };
      rooms.cacheEvent(stored);
      if (d.newRoom) rooms.cacheRoom(room);
      if (redactedTarget) rooms.cacheEvent(redactedTarget);
      for (const p of prepared) rooms.states.committed(p);
      if (!timeline) {
        if (d.placement === "backfill" && accepted && pos !== null) this.#search.add(event, pos);
        this.#publish({ stored, outcome, destinations });
        return { stored, outcome };
      }
      const { notifier } = this.#deps;
      const wake = new Set(notifier.listenersOf(roomId));
      for (const record of membershipRecords) {
        if (serverNameOf(record.userId) !== serverName) continue;
        notifier.setMembership(roomId, record.userId, record.membership);
        wake.add(record.userId);
      }
      for (const user of notifier.listenersOf(roomId)) wake.add(user);
      stream.complete(pos!);
      notifier.notifyUsers(wake, pos!);
      this.#publish({ stored, outcome, destinations });
      return { stored, outcome };
    };
    return { finish };
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

function roomRules(room: RoomRecord): RoomVersionRules {
  const rules = roomVersionOf(room.roomVersion);
  if (!rules) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", "Unsupported room version");
  return rules;
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
