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
import { type RoomVersionRules } from "../../federation/room_versions.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import {
  type JsonObject,
  type RoomEvent,
  type StateMap,
  stateTupleKey,
} from "../../federation/types.ts";
import { randomString } from "../../crypto/tokens.ts";
import { forbidden, MatrixError, notFound } from "../errors.ts";
import { SearchIndexer } from "../search/indexer.ts";
import { CommitQueue } from "./commit_queue.ts";
import { authLookup } from "./admission.ts";
import { checkLocalEvent } from "./policy.ts";
import { foreignMembership } from "./internal_rooms.ts";
import { RoomCache, type RoomContext } from "./room_cache.ts";
import { type StoredEvent } from "./room_store.ts";
import { BACKFILL_COUNTER_KEY, type RoomRecord } from "./schema.ts";
import { resolveRoomStates } from "./state_resolution.ts";
import { Transactions } from "./transactions.ts";
import { EventCommitter } from "./event_commit.ts";
import { admitBackfill, admitJoin, admitOutliers, type ModeCore } from "./remote_modes.ts";
import type {
  AdmitInput,
  AdmitResult,
  Admitted,
  CommittedEvent,
  PipelineDeps,
  SendEventOptions,
  StateReader,
  Txn,
} from "./pipeline_types.ts";
import { MissingEventsError } from "./pipeline_types.ts";

export * from "./pipeline_types.ts";

/**
 * The Policy Server checks (`server/federation/policy_server.ts`). The pipeline consults them
 * only in rooms whose current state has an `m.room.policy` event with an empty state key.
 */
export interface PolicyCheck {
  /**
   * A local event with the Policy Server's signature added (itself when none is needed).
   *
   * @throws {MatrixError} the Policy Server refused, or could not be asked
   */
  sign(event: RoomEvent, state: StateMap, rules: RoomVersionRules): Promise<RoomEvent>;
  /** Whether a received event is recommended (a valid signature, when one is needed). */
  recommends(event: RoomEvent, state: StateMap, rules: RoomVersionRules): Promise<boolean>;
}

const POLICY_STATE = stateTupleKey("m.room.policy", "");

/** Admits events into rooms; one per server instance (`hs.pipeline`). */
export class EventPipeline {
  readonly #deps: PipelineDeps;
  readonly #cache: RoomCache;
  readonly #commits: CommitQueue;
  readonly #transactions: Transactions;
  readonly #search: SearchIndexer;
  readonly #committer: EventCommitter;
  readonly #core: ModeCore;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #subscribers: ((event: CommittedEvent) => void)[] = [];
  #policy: PolicyCheck | null = null;
  #backfillCounter: number | null = null;
  /**
   * The timestamp of the last create event built here. A v12 room ID is the hash of its create
   * event, so two rooms created by one user with the same content in one millisecond would
   * collide; each create event gets a later timestamp than the one before.
   */
  #lastCreateTs = 0;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    this.#cache = new RoomCache(deps.rooms);
    this.#commits = new CommitQueue(deps.kv);
    this.#transactions = new Transactions(deps.kv, deps.rooms);
    this.#search = new SearchIndexer(deps.kv, this.#commits);
    // The effects of a commit, in commit order: sync wake-ups, then search indexing; the
    // server adds its own (the federation sender).
    this.#subscribers.push((committed) => {
      if (committed.streamPos === null) return;
      const { notifier } = this.#deps;
      const wake = new Set(notifier.listenersOf(committed.stored.event.roomId));
      for (const userId of committed.localMembershipChanges) wake.add(userId);
      notifier.notifyUsers(wake, committed.streamPos);
    });
    this.#subscribers.push((committed) => {
      if (committed.pos !== null) this.#search.add(committed.stored.event, committed.pos);
    });
    this.#committer = new EventCommitter({
      deps,
      cache: this.#cache,
      commits: this.#commits,
      search: this.#search,
      subscribers: this.#subscribers,
    });
    this.#core = {
      deps,
      cache: this.#cache,
      commits: this.#commits,
      committer: this.#committer,
      withLock: (roomId, fn) => this.#withLock(roomId, fn),
      settle: (roomId, ctx) => this.#settle(roomId, ctx),
      stateFromPrevs: (event, rules) => this.#stateFromPrevs(event, rules),
      authorise: (event, state, rules) => this.#authorise(event, state, rules),
      backfillPositions: async (n) => {
        if (this.#backfillCounter === null) {
          const entry = await deps.kv.get<Deno.KvU64>(BACKFILL_COUNTER_KEY);
          this.#backfillCounter ??= entry.value ? Number(entry.value.value) : 0;
        }
        const base = this.#backfillCounter;
        this.#backfillCounter += n;
        return base;
      },
    };
  }

  /** Writes what is still buffered (search postings); call before the KV closes. */
  async close(): Promise<void> {
    await this.#search.close();
  }

  /** Installs the Policy Server checks (local events signed, remote ones checked). */
  usePolicyServer(policy: PolicyCheck): void {
    this.#policy = policy;
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
        const run = () =>
          this.#admitLocal(input.roomId, input.template, {
            txn: input.txn,
            originServerTs: input.originServerTs,
          });
        if (!input.txn) return [await run()];
        const { txn, template, roomId } = input;
        const stored = await this.#transactions.run(
          { userId: template.sender, deviceId: txn.deviceId, roomId, txnId: txn.txnId },
          async () => (await run()).stored,
        );
        return [{ stored, outcome: "accepted" }];
      }
      case "remote":
        return [await this.#admitRemote(input.event, input)];
      case "outlier":
        return await admitOutliers(this.#core, input.room, input.events);
      case "backfill":
        return await admitBackfill(this.#core, input.roomId, input.events, input.stateBefore);
      case "join":
        return [await admitJoin(this.#core, input)];
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
    options: { roomId?: string } = {},
  ): Promise<StoredEvent> {
    const { serverName, signingKey } = this.#deps;
    // A room upgrade chooses the ID first (before v12) so its tombstone can name the new room.
    const roomId = rules.roomIdFromCreateEvent
      ? undefined
      : options.roomId ?? `!${randomString(18)}:${serverName}`;
    let event: RoomEvent;
    try {
      event = await buildPdu({ type: "m.room.create", stateKey: "", ...template }, {
        rules,
        roomId,
        origin: serverName,
        signingKey,
        prevEvents: [],
        state: () => undefined,
        originServerTs: this.#lastCreateTs = Math.max(Date.now(), this.#lastCreateTs + 1),
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
      const admitted = await this.#committer.commit(null, event, {
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
    const [result] = await this.admit({
      mode: "local",
      roomId,
      template,
      txn: options.txn,
      originServerTs: options.originServerTs,
    });
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

  /**
   * Runs `fn` under the room's lock, between the pipeline's own admissions (a history purge
   * rewrites search blocks that a redaction in the room would rewrite too).
   */
  exclusive<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    return this.#withLock(roomId, fn);
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
        // The authorising server of a restricted join signs it later (at send_join): the
        // trial stands in for that signature, whose presence the auth rules ask for.
        pdu: { ...pdu, signatures: draftSignatures(template.content) },
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

  async #admitLocal(
    roomId: string,
    template: EventTemplate,
    options: { txn?: Txn; originServerTs?: number },
  ): Promise<AdmitResult> {
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
          originServerTs: options.originServerTs ?? Date.now(),
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
      // Under the lock: a refused event must not have been built upon.
      const policy = this.#policyFor(state);
      if (policy) event = await policy.sign(event, state, rules);
      const admitted = await this.#committer.commit(ctx, event, {
        mode: "local",
        room: ctx.room,
        rules,
        newRoom: false,
        placement: "timeline",
        stateBefore: state,
        groupBefore: ctx.head.stateGroup,
        rejected: null,
        softFailed: false,
        txn: options.txn,
      });
      if (!strict) return admitted;
      const result = await admitted.finish();
      return { finish: () => Promise.resolve(result) };
    });
    return await admitted.finish();
  }

  async #admitRemote(
    event: RoomEvent,
    options: { relayFrom?: string; stateBefore?: StateMap },
  ): Promise<AdmitResult> {
    const { relayFrom } = options;
    const roomId = event.roomId;
    const { rooms } = this.#deps;
    // Read while waiting for the lock (whose order, taken synchronously here, is the order
    // of the calls); a copy of the event admitted meanwhile is caught below: it has become
    // the room's extremity, so this one no longer extends the head, waits, and reads again.
    const reading = rooms.event(event.eventId);
    reading.catch(() => {});
    const admitted = await this.#withLock(roomId, async (): Promise<Admitted> => {
      const known = await reading;
      if (known && !known.meta.outlier) {
        return { finish: () => Promise.resolve({ stored: known, outcome: "duplicate" }) };
      }
      let ctx = await this.#cache.get(roomId);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      if (!known && relayFrom === undefined && this.#extendsHead(ctx, event)) {
        // A message on the room's head (the common case): checked against the current
        // state in memory, and committed like a local message, without holding the lock.
        const rejected = await this.#authorise(event, ctx.state, ctx.rules);
        const policy = this.#policyFor(ctx.state);
        if (
          rejected === null && (!policy || await policy.recommends(event, ctx.state, ctx.rules))
        ) {
          return await this.#committer.commit(ctx, event, {
            mode: "remote",
            room: ctx.room,
            rules: ctx.rules,
            newRoom: false,
            placement: "timeline",
            stateBefore: ctx.state,
            groupBefore: ctx.head.stateGroup,
            rejected: null,
            softFailed: false,
            onHead: true,
          });
        }
      }
      ctx = await this.#settle(roomId, ctx);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const existing = await rooms.event(event.eventId);
      if (existing && !existing.meta.outlier) {
        return { finish: () => Promise.resolve({ stored: existing, outcome: "duplicate" }) };
      }
      const { rules } = ctx;
      const before = await this.#stateFromPrevs(event, rules) ??
        (options.stateBefore ? { state: options.stateBefore, group: null } : null);
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
      // An internal room's server keeps other servers' users out even when a server already
      // in the room sends their membership straight in (internal_rooms.ts).
      if (
        rejected === null && !softFailed &&
        await foreignMembership(event, this.#reader(ctx.state))
      ) {
        softFailed = true;
      }
      // Spec, checks on receipt of a PDU, step 7: no valid Policy Server signature. An event
      // we relay (a join through us, say) is sent into the room by us: we ask for the
      // signature its server could not, and a refusal refuses the request.
      const policy = this.#policyFor(ctx.state);
      if (
        policy && rejected === null && !softFailed &&
        !await policy.recommends(event, ctx.state, rules)
      ) {
        if (relayFrom === undefined) softFailed = true;
        else event = await policy.sign(event, ctx.state, rules);
      }
      if (rejected !== null) rejected = rejected.slice(0, 500);
      const admitted = await this.#committer.commit(ctx, event, {
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
      const result = await admitted.finish();
      return { finish: () => Promise.resolve(result) };
    });
    return await admitted.finish();
  }

  /**
   * Does a message event extend the room's head exactly: its prev_events are all of the
   * forward extremities, which share the current state? Then the state before it is the
   * current state, and nothing stored can refer to it yet.
   */
  #extendsHead(ctx: RoomContext, event: RoomEvent): boolean {
    if (event.stateKey !== undefined || event.type === "m.room.redaction") return false;
    if (!ctx.lineage.valid || event.prevEvents.length !== ctx.extremities.length) return false;
    const prevs = new Set(event.prevEvents);
    if (prevs.size !== ctx.extremities.length) return false;
    for (const e of ctx.extremities) {
      if (!prevs.has(e.eventId)) return false;
      if (ctx.extremityGroups.get(e.eventId) !== ctx.head.stateGroup) return false;
    }
    return true;
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

  /** The Policy Server checks, when the current state `state` may call for them. */
  #policyFor(state: StateMap): PolicyCheck | null {
    return this.#policy !== null && state.has(POLICY_STATE) ? this.#policy : null;
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
/** Placeholder signatures of a drafted event (see {@link EventPipeline.draft}). */
function draftSignatures(content: JsonObject): JsonObject {
  const via = content.join_authorised_via_users_server;
  const server = typeof via === "string" ? serverNameOf(via) : undefined;
  return server ? { [server]: { "ed25519:draft": "" } } : {};
}

function buildError(err: unknown): MatrixError {
  if (err instanceof BuildEventError) {
    return new MatrixError(err.code, err.message, {
      status: err.code === "M_TOO_LARGE" ? 413 : 400,
    });
  }
  return err as MatrixError;
}
