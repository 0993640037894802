/**
 * Polls in rooms (MSC3381): the create-poll form, and one live model per poll that gathers its
 * votes and end events (all pages of `/relations` first, then the live timeline, decrypted in
 * encrypted rooms), counts them with {@link tallyPoll}, and votes or ends the poll.
 *
 * One set of client listeners serves every poll on screen: it hands each related event to the
 * poll it refers to, so a room with many polls does not pile listeners on the client.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import type { MessageKey } from "../i18n/index.ts";
import { loadSdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import {
  MAX_ANSWERS,
  MIN_ANSWERS,
  parsePollResponse,
  parsePollStart,
  POLL_END_TYPES,
  POLL_RESPONSE_TYPES,
  POLL_START_TYPES,
  pollEndContent,
  type PollEndRecord,
  pollResponseContent,
  type PollResponseRecord,
  type PollStart,
  pollStartContent,
  type PollTally,
  tallyPoll,
} from "./poll_tally.ts";

export {
  isPollStartType,
  POLL_END_TYPES,
  POLL_RESPONSE_TYPES,
  POLL_START_TYPES,
} from "./poll_tally.ts";

/** A problem to show, as a message key and its values. */
export interface PollProblem {
  key: MessageKey;
  params?: Record<string, string | number>;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Sends any event type (the SDK's typing knows only the event types it names). */
function sendRaw(
  client: MatrixClient,
  roomId: string,
  type: string,
  content: Record<string, unknown>,
): Promise<{ event_id: string }> {
  const send = client.sendEvent as unknown as (
    roomId: string,
    type: string,
    content: Record<string, unknown>,
  ) => Promise<{ event_id: string }>;
  return send.call(client, roomId, type, content);
}

const includes = (types: readonly string[], type: string) => types.includes(type);

function referencedPoll(event: MatrixEvent): string | null {
  const relation = (event.getWireContent()["m.relates_to"] ?? event.getContent()["m.relates_to"]) as
    | { rel_type?: string; event_id?: string }
    | undefined;
  return relation?.rel_type === "m.reference" && typeof relation.event_id === "string"
    ? relation.event_id
    : null;
}

/** One poll on screen: its votes as signals, and voting and ending. */
export class PollModel {
  /** The poll start event's ID. */
  readonly pollId: string;
  readonly roomId: string;
  /** Who started the poll. */
  readonly creator: string;
  /** The poll as its start event describes it (null: not a usable poll). */
  readonly poll: PollStart | null;
  readonly #client: MatrixClient;
  readonly #room: Room;
  readonly #startEvent: MatrixEvent;
  readonly #responses = signal<ReadonlyMap<string, PollResponseRecord>>(new Map());
  readonly #ends = signal<ReadonlyMap<string, PollEndRecord>>(new Map());
  readonly #undecryptable = signal<ReadonlySet<string>>(new Set());
  readonly #loading = signal(true);
  readonly #pending = signal<{ answerId: string; eventId: string | null } | null>(null);
  readonly #problem = signal<PollProblem | null>(null);
  readonly #ending = signal(false);
  #loadStarted = false;

  /** The counted votes. */
  readonly tally: ReadonlySignal<PollTally | null>;
  /** The votes are still being fetched. */
  readonly loading: ReadonlySignal<boolean> = computed(() => this.#loading.value);
  /** Related events that could not be decrypted (the results may be incomplete). */
  readonly undecryptable: ReadonlySignal<number> = computed(() => this.#undecryptable.value.size);
  /** The last vote or end that failed. */
  readonly problem: ReadonlySignal<PollProblem | null> = computed(() => this.#problem.value);
  /** An end event is being sent. */
  readonly ending: ReadonlySignal<boolean> = computed(() => this.#ending.value);
  /** The answer this user voted for (a vote being sent counts at once). */
  readonly myVote: ReadonlySignal<string | null>;

  constructor(client: MatrixClient, room: Room, startEvent: MatrixEvent) {
    this.#client = client;
    this.#room = room;
    this.#startEvent = startEvent;
    this.pollId = startEvent.getId() ?? "";
    this.roomId = room.roomId;
    this.creator = startEvent.getSender() ?? "";
    this.poll = parsePollStart(startEvent.getContent());
    this.tally = computed(() => {
      if (!this.poll) return null;
      return tallyPoll(this.poll, this.#responses.value.values(), {
        ends: this.#ends.value.values(),
        mayEnd: (sender) => this.#mayEnd(sender),
      });
    });
    this.myVote = computed(() => {
      const pending = this.#pending.value;
      if (pending) return pending.answerId;
      const me = this.#client.getUserId();
      return (me && this.tally.value?.votes.get(me)?.[0]) ?? null;
    });
  }

  #mayEnd(sender: string): boolean {
    if (sender === this.creator) return true;
    return this.#room.currentState.maySendRedactionForEvent(this.#startEvent, sender);
  }

  /** Whether this user may end the poll (its creator, or someone allowed to redact it). */
  get mayEnd(): boolean {
    const me = this.#client.getUserId();
    return me !== null && this.#mayEnd(me);
  }

  /** Fetches every vote and end event the server has (once). */
  async load(): Promise<void> {
    if (this.#loadStarted || !this.poll) {
      this.#loading.value = false;
      return;
    }
    this.#loadStarted = true;
    const sdk = await loadSdk();
    const mapper = this.#client.getEventMapper();
    let from: string | undefined;
    try {
      do {
        const page = await this.#client.fetchRelations(
          this.roomId,
          this.pollId,
          "m.reference",
          null,
          { dir: sdk.Direction.Backward, from, limit: 100 },
        );
        const events = page.chunk.map(mapper);
        await Promise.all(events.map((event) => this.#client.decryptEventIfNeeded(event)));
        for (const event of events) this.take(event);
        from = page.next_batch ?? undefined;
      } while (from);
    } catch (err) {
      this.#problem.value = { key: "polls.error.load", params: { message: errorText(err) } };
    } finally {
      this.#loading.value = false;
    }
  }

  /** Takes an event that refers to this poll (a vote or an end; anything else is ignored). */
  take(event: MatrixEvent): void {
    const eventId = event.getId();
    if (!eventId || event.status !== null) return; // local echoes come back with their real ID
    if (event.isRedacted()) {
      this.forget(eventId);
      return;
    }
    if (event.isDecryptionFailure()) {
      this.#undecryptable.value = new Set(this.#undecryptable.value).add(eventId);
      return;
    }
    if (event.isEncrypted() && event.getType() === "m.room.encrypted") return; // not yet
    const type = event.getType();
    const record = { eventId, sender: event.getSender() ?? "", ts: event.getTs() };
    if (includes(POLL_RESPONSE_TYPES, type)) {
      const next = new Map(this.#responses.value);
      next.set(eventId, { ...record, answers: parsePollResponse(event.getContent()) });
      this.#responses.value = next;
      if (this.#pending.value?.eventId === eventId) this.#pending.value = null;
    } else if (includes(POLL_END_TYPES, type)) {
      this.#ends.value = new Map(this.#ends.value).set(eventId, record);
    }
    if (this.#undecryptable.value.has(eventId)) {
      const rest = new Set(this.#undecryptable.value);
      rest.delete(eventId);
      this.#undecryptable.value = rest;
    }
  }

  /** Drops a redacted vote or end (the sender's earlier vote counts again). */
  forget(eventId: string): void {
    if (this.#responses.value.has(eventId)) {
      const next = new Map(this.#responses.value);
      next.delete(eventId);
      this.#responses.value = next;
    }
    if (this.#ends.value.has(eventId)) {
      const next = new Map(this.#ends.value);
      next.delete(eventId);
      this.#ends.value = next;
    }
  }

  /** Votes for one answer; a later vote replaces the earlier one. */
  async vote(answerId: string): Promise<void> {
    if (this.tally.value?.end) return;
    const pending = { answerId, eventId: null as string | null };
    this.#pending.value = pending;
    this.#problem.value = null;
    try {
      const sent = await sendRaw(
        this.#client,
        this.roomId,
        POLL_RESPONSE_TYPES[0],
        pollResponseContent(this.pollId, [answerId]),
      );
      if (this.#pending.value !== pending) return; // a newer vote took over
      const arrived = this.#responses.value.has(sent.event_id);
      this.#pending.value = arrived ? null : { answerId, eventId: sent.event_id };
    } catch (err) {
      if (this.#pending.value === pending) this.#pending.value = null;
      this.#problem.value = { key: "polls.error.vote", params: { message: errorText(err) } };
    }
  }

  /** Ends the poll; `text` is the fallback other clients show. */
  async end(text: string): Promise<void> {
    if (this.tally.value?.end || this.#ending.value) return;
    this.#ending.value = true;
    this.#problem.value = null;
    try {
      await sendRaw(
        this.#client,
        this.roomId,
        POLL_END_TYPES[0],
        pollEndContent(this.pollId, text),
      );
    } catch (err) {
      this.#problem.value = { key: "polls.error.end", params: { message: errorText(err) } };
    } finally {
      this.#ending.value = false;
    }
  }
}

/** Every poll model of the signed-in client, fed by one set of listeners. */
export class PollsModel {
  readonly #polls = new Map<string, PollModel>();
  #client: MatrixClient | null = null;
  #detach: (() => void) | null = null;

  /**
   * The model of the poll started by `event` in `room` (created and loaded on first use). The
   * event must have reached the server: a local echo's ID is not the one votes refer to.
   */
  poll(client: MatrixClient, room: Room, event: MatrixEvent): PollModel {
    if (client !== this.#client) this.#attach(client);
    const key = event.getId() ?? "";
    let model = this.#polls.get(key);
    if (!model) {
      model = new PollModel(client, room, event);
      this.#polls.set(key, model);
      void model.load();
    }
    return model;
  }

  #attach(client: MatrixClient): void {
    this.#detach?.();
    this.#polls.clear();
    this.#client = client;
    let stopped = false;
    const route = (event: MatrixEvent) => {
      const pollId = referencedPoll(event);
      if (pollId) this.#polls.get(pollId)?.take(event);
    };
    const onRedaction = (redaction: MatrixEvent) => {
      const redacts = redaction.event.redacts ?? redaction.getContent().redacts;
      if (typeof redacts === "string") {
        for (const poll of this.#polls.values()) poll.forget(redacts);
      }
    };
    void loadSdk().then((sdk) => {
      if (stopped) return;
      client.on(sdk.RoomEvent.Timeline, route);
      client.on(sdk.RoomEvent.LocalEchoUpdated, route);
      client.on(sdk.MatrixEventEvent.Decrypted, route);
      client.on(sdk.RoomEvent.Redaction, onRedaction);
      this.#detach = () => {
        client.off(sdk.RoomEvent.Timeline, route);
        client.off(sdk.RoomEvent.LocalEchoUpdated, route);
        client.off(sdk.MatrixEventEvent.Decrypted, route);
        client.off(sdk.RoomEvent.Redaction, onRedaction);
      };
    });
    this.#detach = () => {
      stopped = true;
    };
  }
}

/** The app's polls model. */
export function pollsModel(app: AppModel): PollsModel {
  return featureModel(app, "polls", () => new PollsModel());
}

/** The create-poll form. */
export class PollForm {
  readonly question = signal("");
  readonly answers = signal<readonly string[]>(["", ""]);
  readonly disclosed = signal(true);
  readonly #problem = signal<PollProblem | null>(null);
  readonly #sending = signal(false);
  /** What is wrong with the form, or why sending failed. */
  readonly problem: ReadonlySignal<PollProblem | null> = computed(() => this.#problem.value);
  /** The poll is being sent. */
  readonly sending: ReadonlySignal<boolean> = computed(() => this.#sending.value);
  /** Another answer may be added. */
  readonly canAdd: ReadonlySignal<boolean> = computed(() =>
    this.answers.value.length < MAX_ANSWERS
  );
  /** Answers may be removed (a poll keeps at least two). */
  readonly canRemove: ReadonlySignal<boolean> = computed(() =>
    this.answers.value.length > MIN_ANSWERS
  );

  setAnswer(index: number, text: string): void {
    this.answers.value = this.answers.value.map((old, i) => i === index ? text : old);
  }

  addAnswer(): void {
    if (this.canAdd.value) this.answers.value = [...this.answers.value, ""];
  }

  removeAnswer(index: number): void {
    if (this.canRemove.value) this.answers.value = this.answers.value.filter((_, i) => i !== index);
  }

  /** Checks the form; null when it can be sent. */
  check(): PollProblem | null {
    if (this.question.value.trim() === "") return { key: "polls.error.question" };
    const filled = this.answers.value.filter((text) => text.trim() !== "");
    if (filled.length < MIN_ANSWERS) return { key: "polls.error.answers" };
    return null;
  }

  /** Sends the poll; true when it went out. */
  async submit(client: MatrixClient, roomId: string): Promise<boolean> {
    const problem = this.check();
    this.#problem.value = problem;
    if (problem || this.#sending.value) return false;
    this.#sending.value = true;
    try {
      const content = pollStartContent({
        question: this.question.value,
        answers: this.answers.value,
        disclosed: this.disclosed.value,
      });
      await sendRaw(client, roomId, POLL_START_TYPES[0], content);
      return true;
    } catch (err) {
      this.#problem.value = { key: "polls.error.send", params: { message: errorText(err) } };
      return false;
    } finally {
      this.#sending.value = false;
    }
  }
}
