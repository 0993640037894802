/**
 * The one path every room event takes: build (local) or parse (remote), check the auth rules
 * against the room engine, persist in one atomic KV commit, advance the stream watermark, then
 * wake sync.
 *
 * Each room has an in-process lock: building an event needs the room's current forward
 * extremities and state, so events of one room are admitted one at a time, while events of
 * different rooms run concurrently and share commits (`commit_queue.ts`). The room's head,
 * current state and extremity events are cached in memory (`room_cache.ts`) and changed only by
 * the writes this class makes, so admitting a message event reads nothing from KV.
 *
 * One commit holds: the event record (split if large), the state group (state events), the
 * current-state entry, the room head (extremities, state group, last position), the timeline
 * and depth index entries, the relation and search index entries (`server/sync/relations.ts`,
 * `server/search/index.ts`), the user's membership record (member events), the redaction mark
 * on the target and the removal of its relation and search entries (redactions), the
 * transaction ID, and the stream and state-group counters.
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
import { STREAM_META_KEY, type StreamSequencer } from "../stream.ts";
import { searchMutations, searchRemovals } from "../search/index.ts";
import { relationMutations, relationRemovals } from "../sync/relations.ts";
import { CommitQueue } from "./commit_queue.ts";
import { Mutations } from "./mutations.ts";
import { RoomCache, type RoomContext } from "./room_cache.ts";
import { encodePdu, type RoomStore, type StoredEvent } from "./room_store.ts";
import {
  type EventMeta,
  type EventRecord,
  type MembershipRecord,
  type RoomHead,
  roomKeys,
  type RoomRecord,
  type StrippedStateEvent,
  type TimelineEntry,
  TXN_TTL_MS,
} from "./schema.ts";
import type { PreparedGroup } from "./state_store.ts";

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

/** Admits events into rooms; one per server instance (`hs.pipeline`). */
export class EventPipeline {
  readonly #deps: PipelineDeps;
  readonly #cache: RoomCache;
  readonly #commits: CommitQueue;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    this.#cache = new RoomCache(deps.rooms);
    this.#commits = new CommitQueue(deps.kv);
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
      return await this.#persist(null, event, { room, rules, stateBefore: new Map() });
    });
  }

  /**
   * Builds, authorises and stores a local event in an existing room.
   *
   * @throws {MatrixError} M_NOT_FOUND for an unknown room, M_FORBIDDEN with the auth rules'
   *   reason, M_BAD_JSON / M_TOO_LARGE for an event that breaks the event format
   */
  sendEvent(
    roomId: string,
    template: EventTemplate,
    options: SendEventOptions = {},
  ): Promise<StoredEvent> {
    return this.#withLock(roomId, async () => {
      const { rooms, kv, serverName, signingKey } = this.#deps;
      if (options.txn) {
        const key = roomKeys.txn(template.sender, options.txn.deviceId, roomId, options.txn.txnId);
        const done = (await kv.get<{ eventId: string }>(key)).value;
        if (done) {
          const stored = await rooms.event(done.eventId);
          if (stored) return stored;
        }
      }
      const ctx = await this.#cache.get(roomId);
      if (!ctx) throw notFound(`Room ${roomId} is not known to this server`);
      const { rules } = ctx;
      const reader: StateReader = (type, stateKey) => {
        const id = ctx.state.get(stateTupleKey(type, stateKey));
        return id === undefined ? Promise.resolve(null) : rooms.event(id);
      };
      if (options.precheck) await options.precheck(reader, rules);

      // Load the events the auth rules read, so that the engine's lookups are synchronous.
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
      const ids = wanted.map(([t, k]) => ctx.state.get(stateTupleKey(t, k)))
        .filter((id) => id !== undefined);
      const loaded = await rooms.events(ids);
      for (const [id, stored] of loaded) needed.set(id, stored.event);
      const lookup = (type: string, stateKey: string) => {
        const id = ctx.state.get(stateTupleKey(type, stateKey));
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
      return await this.#persist(ctx, event, {
        room: ctx.room,
        rules,
        stateBefore: ctx.state,
        txn: options.txn,
      });
    });
  }

  /** The event a transaction produced, if any (outside any lock; for quick repeats). */
  async transactionEvent(
    userId: string,
    deviceId: string,
    roomId: string,
    txnId: string,
  ): Promise<string | null> {
    const entry = await this.#deps.kv.get<{ eventId: string }>(
      roomKeys.txn(userId, deviceId, roomId, txnId),
    );
    return entry.value?.eventId ?? null;
  }

  /** Forgets cached room state (tests; and after a failed commit). */
  invalidate(roomId: string): void {
    this.#cache.delete(roomId);
  }

  /**
   * Stores an accepted event (rejected remote events will take the same path with
   * `rejected` set), then updates caches, the watermark and the notifier.
   */
  async #persist(
    ctx: RoomContext | null,
    event: RoomEvent,
    admission: {
      room: RoomRecord;
      rules: RoomVersionRules;
      stateBefore: StateMap;
      txn?: { deviceId: string; txnId: string };
    },
  ): Promise<StoredEvent> {
    const { kv, rooms, stream, notifier, serverName } = this.#deps;
    const { room, rules, stateBefore } = admission;
    const roomId = room.roomId;
    const isState = event.stateKey !== undefined;
    const tuple = isState ? stateTupleKey(event.type, event.stateKey!) : null;
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

    // Reads needed for member events and redactions (rare compared to messages).
    let previousMembership: MembershipRecord | null = null;
    if (event.type === "m.room.member") {
      previousMembership = await rooms.membership(roomId, event.stateKey!);
    }
    let redactionTarget: { stored: StoredEvent; record: EventRecord } | null = null;
    if (event.type === "m.room.redaction" && event.redacts !== undefined) {
      const raw = await kv.get<EventRecord>(roomKeys.event(event.redacts));
      const stored = raw.value ? await rooms.event(event.redacts) : null;
      if (raw.value && stored && stored.event.roomId === roomId) {
        redactionTarget = { stored, record: raw.value };
      }
    }
    let strippedState: StrippedStateEvent[] | undefined;
    const membership = event.type === "m.room.member" ? event.content.membership : undefined;
    if (membership === "invite" || membership === "knock") {
      strippedState = await this.#strippedState(stateAfter, event);
    }

    const pos = stream.allocate();
    try {
      const meta: EventMeta = {
        roomId,
        pos,
        depth: event.depth,
        stateGroupBefore: groupBefore ?? groupAfter,
        stateGroup: groupAfter,
        rejected: null,
        outlier: false,
        txn: admission.txn ?? null,
        redactedBy: null,
        receivedTs: Date.now(),
        replacesState: tuple !== null ? stateBefore.get(tuple) ?? null : null,
      };
      if (strippedState) meta.strippedState = strippedState;
      const m = new Mutations();
      const encoded = encodePdu(event);
      const record: EventRecord = { meta, pdu: encoded.pdu, parts: encoded.parts.length };
      m.set(roomKeys.event(event.eventId), record, {
        sizeHint: (encoded.pdu?.length ?? 0) * 2 + 1024,
      });
      encoded.parts.forEach((part, i) => {
        m.set(roomKeys.eventPart(event.eventId, i), part, { sizeHint: part.length * 2 + 8 });
      });
      const entry: TimelineEntry = {
        pos,
        eventId: event.eventId,
        type: event.type,
        sender: event.sender,
      };
      if (isState) entry.stateKey = event.stateKey;
      if (typeof membership === "string") entry.membership = membership;
      m.set(roomKeys.timeline(roomId, pos), entry);
      m.set(roomKeys.depth(roomId, event.depth, event.eventId), pos);
      for (const [key, value] of relationMutations(event, pos)) m.set(key, value);
      for (const [key, value] of searchMutations(event, pos)) m.set(key, value);

      const prevIds = new Set(event.prevEvents);
      const extremities = [
        ...(ctx?.extremities ?? []).filter((e) => !prevIds.has(e.eventId)),
        event,
      ];
      const head: RoomHead = {
        extremities: extremities.map((e) => e.eventId),
        stateGroup: groupAfter,
        lastPos: pos,
        maxDepth: Math.max(ctx?.head.maxDepth ?? 0, event.depth),
      };
      m.set(roomKeys.head(roomId), head);
      if (!ctx) m.set(roomKeys.room(roomId), room);

      if (prepared) {
        rooms.states.write(m, prepared);
        m.set(roomKeys.currentState(roomId, event.type, event.stateKey!), {
          eventId: event.eventId,
          ...(typeof membership === "string" ? { membership } : {}),
        });
      }
      let membershipRecord: MembershipRecord | null = null;
      if (typeof membership === "string") {
        membershipRecord = {
          roomId,
          userId: event.stateKey!,
          membership,
          eventId: event.eventId,
          pos,
          sender: event.sender,
          lastJoinPos: membership === "join" ? pos : previousMembership?.lastJoinPos ?? null,
        };
        m.set(roomKeys.userRoom(event.stateKey!, roomId), membershipRecord);
      }
      let redactedTarget: StoredEvent | null = null;
      if (event.type === "m.room.redaction" && event.redacts !== undefined) {
        if (redactionTarget) {
          const targetMeta = { ...redactionTarget.record.meta, redactedBy: event.eventId };
          m.set(roomKeys.event(event.redacts), { ...redactionTarget.record, meta: targetMeta }, {
            sizeHint: (redactionTarget.record.pdu?.length ?? 0) * 2 + 1024,
          });
          redactedTarget = { ...redactionTarget.stored, meta: targetMeta };
          const { event: target, meta: { pos: targetPos } } = redactionTarget.stored;
          if (targetPos !== null) {
            for (const key of relationRemovals(target, targetPos)) m.delete(key);
            for (const key of searchRemovals(target, targetPos)) m.delete(key);
          }
        } else {
          m.set(roomKeys.pendingRedaction(event.redacts, event.eventId), null);
        }
      }
      if (admission.txn) {
        m.set(
          roomKeys.txn(event.sender, admission.txn.deviceId, roomId, admission.txn.txnId),
          { eventId: event.eventId, createdTs: meta.receivedTs },
          { expireIn: TXN_TTL_MS },
        );
      }
      m.max(STREAM_META_KEY, pos);

      try {
        await this.#commits.commit(m);
      } catch (err) {
        this.#cache.delete(roomId);
        throw err;
      }

      // Committed: caches, watermark, wake-ups.
      const stored: StoredEvent = { event, meta, rules };
      rooms.cacheEvent(stored);
      if (!ctx) rooms.cacheRoom(room);
      if (redactedTarget) rooms.cacheEvent(redactedTarget);
      if (prepared) rooms.states.committed(prepared);
      this.#cache.advance(roomId, { room, rules, head, extremities, state: stateAfter });
      const wake = new Set(notifier.listenersOf(roomId));
      if (membershipRecord && serverNameOf(membershipRecord.userId) === serverName) {
        notifier.setMembership(roomId, membershipRecord.userId, membershipRecord.membership);
        wake.add(membershipRecord.userId);
      }
      for (const user of notifier.listenersOf(roomId)) wake.add(user);
      stream.complete(pos);
      notifier.notifyUsers(wake, pos);
      return stored;
    } catch (err) {
      stream.abandon(pos);
      throw err;
    }
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

function buildError(err: unknown): MatrixError {
  if (err instanceof BuildEventError) {
    return new MatrixError(err.code, err.message, {
      status: err.code === "M_TOO_LARGE" ? 413 : 400,
    });
  }
  return err as MatrixError;
}
