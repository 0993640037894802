/**
 * A composer (the room's, or a thread's): the draft, the message it replies to or edits, the
 * member list that `@` opens, typing notifications while someone writes, and sending. The view
 * owns the editable element; it hands the model the draft as {@link ComposerPart}s and shows
 * what {@link Composer.load} asks for (an edit's text, a kept draft).
 *
 * Sending does not wait: the message shows at once as a local echo, and a failure shows on it
 * (with Retry) rather than here.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { type SafeNode, sanitiseHtml, stripInlineAttributes } from "../matrix/html_sanitise.ts";
import {
  type ComposedMessage,
  composeMessage,
  type ComposerPart,
  editContent,
  mentionedUserIds,
  messageContent,
  partsForEdit,
  replyTarget,
  stripReplyFallback,
} from "../matrix/message_content.ts";

/** Someone the `@` list offers. */
export interface MentionOption {
  userId: string;
  name: string;
}

/** How long typing counts after the last key press. */
const TYPING_IDLE_MS = 6_000;
/** The typing notification's lifetime on the server; renewed before it runs out. */
const TYPING_TIMEOUT_MS = 30_000;
const TYPING_RENEW_MS = 20_000;
/** Most people the `@` list shows. */
const MAX_OPTIONS = 8;

/** Whether this user may edit `event` (their own sent text message). */
export function canEdit(event: MatrixEvent, myUserId: string | null): boolean {
  if (event.getSender() !== myUserId || event.isRedacted() || event.status) return false;
  if (event.getType() !== "m.room.message") return false;
  const msgtype = event.getContent().msgtype;
  return msgtype === "m.text" || msgtype === "m.emote" || msgtype === "m.notice";
}

/** The mentions in a message's HTML, with their link text (browser only: DOMParser). */
function mentionsInHtml(html: string): { userId: string; text: string }[] {
  if (typeof DOMParser === "undefined") return [];
  const body = new DOMParser().parseFromString(stripInlineAttributes(html), "text/html").body;
  const found: { userId: string; text: string }[] = [];
  const walk = (nodes: readonly SafeNode[]) => {
    for (const node of nodes) {
      if (typeof node === "string") continue;
      if (node.kind === "mention") found.push({ userId: node.userId, text: node.text });
      else walk(node.children);
    }
  };
  walk(sanitiseHtml(body));
  return found;
}

/** The composer parts that bring back `event`'s current text for editing. */
export function editParts(event: MatrixEvent): ComposerPart[] {
  const content = event.getContent();
  let body = typeof content.body === "string" ? content.body : "";
  if (replyTarget(event.getWireContent()) || replyTarget(content)) body = stripReplyFallback(body);
  const html = content.format === "org.matrix.custom.html" && typeof content.formatted_body ===
      "string"
    ? content.formatted_body
    : "";
  const parts = partsForEdit(body, html ? mentionsInHtml(html) : []);
  if (content.msgtype === "m.emote") parts.unshift({ text: "/me " });
  return parts;
}

/** Whether a composed message says what `content` already says. */
function sameText(message: ComposedMessage, content: Record<string, unknown>): boolean {
  const html = content.format === "org.matrix.custom.html" ? content.formatted_body : undefined;
  return message.body === content.body && (message.html ?? undefined) === html &&
    message.msgtype === content.msgtype;
}

/** Options of {@link Composer}. */
export interface ComposerOptions {
  /** The thread this composer writes into (null: the room's main timeline). */
  threadRootId: string | null;
  /** The events on screen, newest last (Up arrow edits this user's latest message). */
  events: () => readonly MatrixEvent[];
  /** The thread's latest reply, for the fallback reply of a thread message. */
  latestInThread?: () => string | undefined;
}

/** A composer's state and actions. */
export class Composer {
  readonly room: Room;
  readonly threadRootId: string | null;
  readonly #client: MatrixClient;
  readonly #options: ComposerOptions;
  readonly #replyTo = signal<MatrixEvent | null>(null);
  readonly #editing = signal<MatrixEvent | null>(null);
  readonly #load = signal<{ parts: ComposerPart[]; serial: number } | null>(null);
  readonly #query = signal<string | null>(null);
  readonly #active = signal(0);
  readonly #empty = signal(true);
  #draft: ComposerPart[] = [];
  #serial = 0;
  #typingActive = false;
  #typingSentAt = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** The message being answered. */
  readonly replyTo: ReadonlySignal<MatrixEvent | null> = computed(() => this.#replyTo.value);
  /** The message being edited. */
  readonly editing: ReadonlySignal<MatrixEvent | null> = computed(() => this.#editing.value);
  /** Content the editor should show now (a new serial each time). */
  readonly load: ReadonlySignal<{ parts: ComposerPart[]; serial: number } | null> = computed(() =>
    this.#load.value
  );
  /** The `@` list's text after the `@`, or null when closed. */
  readonly mentionQuery: ReadonlySignal<string | null> = computed(() => this.#query.value);
  /** The `@` list's choices. */
  readonly options: ReadonlySignal<MentionOption[]>;
  /** The highlighted choice. */
  readonly activeOption: ReadonlySignal<number> = computed(() => this.#active.value);
  /** Nothing written. */
  readonly empty: ReadonlySignal<boolean> = computed(() => this.#empty.value);

  constructor(client: MatrixClient, room: Room, options: ComposerOptions) {
    this.#client = client;
    this.room = room;
    this.threadRootId = options.threadRootId;
    this.#options = options;
    this.options = computed(() => {
      const query = this.#query.value?.toLowerCase();
      if (query === undefined) return [];
      const me = client.getUserId();
      const matches = room.getJoinedMembers()
        .filter((member) => member.userId !== me)
        .map((member) => ({ userId: member.userId, name: member.name || member.userId }))
        .filter((option) =>
          option.name.toLowerCase().includes(query) || option.userId.toLowerCase().includes(query)
        );
      const starts = (option: MentionOption) =>
        option.name.toLowerCase().startsWith(query) || option.userId.slice(1).startsWith(query);
      matches.sort((a, b) => Number(starts(b)) - Number(starts(a)) || a.name.localeCompare(b.name));
      return matches.slice(0, MAX_OPTIONS);
    });
  }

  /** The draft kept while the composer was away (switching rooms). */
  get draft(): readonly ComposerPart[] {
    return this.#draft;
  }

  /** The editor's content changed. */
  input(parts: ComposerPart[]): void {
    this.#draft = parts;
    const empty = parts.every((part) => "text" in part && part.text.trim() === "");
    this.#empty.value = empty;
    this.#typing(!empty);
  }

  /** Opens, narrows or (null) closes the `@` list. */
  setMentionQuery(query: string | null): void {
    if (query !== this.#query.value) this.#active.value = 0;
    this.#query.value = query;
  }

  /** Moves the highlighted choice (wrapping). */
  moveOption(delta: number): void {
    const count = this.options.value.length;
    if (count) this.#active.value = (this.#active.value + delta + count) % count;
  }

  /** Answers `event`. */
  startReply(event: MatrixEvent): void {
    this.#editing.value = null;
    this.#replyTo.value = event;
  }

  /** Edits `event` (this user's message): its text goes into the editor. */
  startEdit(event: MatrixEvent): void {
    this.#replyTo.value = null;
    this.#editing.value = event;
    this.#setContent(editParts(event));
  }

  /** Edits this user's latest message; false when there is none. */
  editLast(): boolean {
    const me = this.#client.getUserId();
    const events = this.#options.events();
    for (let i = events.length - 1; i >= 0; i--) {
      if (canEdit(events[i], me)) {
        this.startEdit(events[i]);
        return true;
      }
    }
    return false;
  }

  /** Drops the reply or the edit (an edit's text goes with it). */
  cancel(): void {
    if (this.#editing.value) this.#setContent([]);
    this.#editing.value = null;
    this.#replyTo.value = null;
  }

  #setContent(parts: ComposerPart[]): void {
    this.#load.value = { parts, serial: ++this.#serial };
    this.input(parts);
  }

  /** Sends the draft (a new message, a reply, or an edit); false when there was nothing. */
  send(parts: ComposerPart[]): boolean {
    const message = composeMessage(parts);
    if (!message) return false;
    const editing = this.#editing.value;
    const replyTo = this.#replyTo.value;
    const rootId = this.threadRootId;
    let content: Record<string, unknown>;
    let threadId: string | null = rootId;
    if (editing && sameText(message, editing.getContent())) {
      // Nothing changed: no edit to send.
      this.cancel();
      return true;
    }
    if (editing) {
      content = editContent(message, editing.getId()!, {
        previousUserIds: mentionedUserIds(editing.getContent()),
      });
      threadId = editing.threadRootId && editing.threadRootId !== editing.getId()
        ? editing.threadRootId
        : null;
    } else {
      content = messageContent(message, {
        replyTo: replyTo?.getId(),
        thread: rootId
          ? { rootId, latestEventId: this.#options.latestInThread?.() ?? rootId }
          : undefined,
      });
    }
    this.#editing.value = null;
    this.#replyTo.value = null;
    this.#query.value = null;
    this.#setContent([]);
    const send = this.#client.sendMessage as unknown as (
      roomId: string,
      threadId: string | null,
      content: Record<string, unknown>,
    ) => Promise<unknown>;
    send.call(this.#client, this.room.roomId, threadId, content).catch((err) => {
      // The message stays in the timeline as failed, with Retry.
      console.warn("gemeng: the message was not sent", err);
    });
    return true;
  }

  #typing(active: boolean): void {
    clearTimeout(this.#idleTimer);
    const roomId = this.room.roomId;
    const notify = (typing: boolean) =>
      this.#client.sendTyping(roomId, typing, TYPING_TIMEOUT_MS).catch(() => {});
    if (active) {
      const now = Date.now();
      if (!this.#typingActive || now - this.#typingSentAt > TYPING_RENEW_MS) {
        this.#typingSentAt = now;
        void notify(true);
      }
      this.#typingActive = true;
      this.#idleTimer = setTimeout(() => this.#typing(false), TYPING_IDLE_MS);
    } else if (this.#typingActive) {
      this.#typingActive = false;
      void notify(false);
    }
  }

  /** Stops the typing notification (the composer goes away). */
  dispose(): void {
    this.#typing(false);
  }
}
