/** @jsxImportSource preact */
/**
 * One message in a list: an article named by its sender and time, with the message it replies
 * to (a click shows it), the body, "(edited)" (opens the edit history), reactions, the thread
 * summary, the sending state of the reader's own messages (failed ones offer Retry and Cancel),
 * who has read up to here, the security shield and the actions toolbar. Room changes are a
 * short centred line; day separators are headings.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useState } from "preact/hooks";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import { mentionedUserIds, replyTarget, stripReplyFallback } from "../../matrix/message_content.ts";
import { displayName, eventTileKind } from "../../state/timeline.ts";
import { cancelSend, resend } from "../../state/timeline_actions.ts";
import { timelineModel } from "../../state/timeline_model.ts";
import { Avatar, memberAvatarUrl } from "../avatar.tsx";
import { useApp } from "../context.ts";
import { EventShield } from "../security/event_shield.tsx";
import { EditHistory } from "./edit_history.tsx";
import { EventBody } from "./event_body.tsx";
import { formatList } from "../../i18n/format.ts";
import { formatDateTime, formatDay, formatTime, initials } from "./format.ts";
import { RoomIcon } from "./icons.tsx";
import { MessageActions } from "./message_actions.tsx";
import { ReactionChips } from "./reactions.tsx";
import { useTileSurroundings } from "./timeline_context.ts";

const SMALL_BUTTON =
  "inline-flex min-h-8 items-center gap-1 rounded-md border border-slate-400 px-2 text-xs font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800";

/** A day separator. */
export function DaySeparator(props: { ts: number }): JSX.Element {
  const { i18n } = useApp();
  return (
    <li class="flex items-center gap-3 px-4 py-2" data-day>
      <span aria-hidden="true" class="h-px flex-1 bg-slate-300 dark:bg-slate-700" />
      <h3 class="text-xs font-semibold text-slate-700 dark:text-slate-300">
        {formatDay(i18n.locale.value, props.ts)}
      </h3>
      <span aria-hidden="true" class="h-px flex-1 bg-slate-300 dark:bg-slate-700" />
    </li>
  );
}

/** Whether a message mentions the reader (by `m.mentions`, or by the push rules' highlight). */
function mentionsMe(event: MatrixEvent, me: string | null, highlight: boolean): boolean {
  if (!me || event.getSender() === me) return false;
  return highlight || mentionedUserIds(event.getContent()).includes(me);
}

/** A message as one line of plain text (quotes, the composer's reply banner). */
export function plainPreview(event: MatrixEvent): string {
  const content = event.getContent();
  const body = typeof content.body === "string" ? content.body : "";
  return replyTarget(content) ? stripReplyFallback(body) : body;
}

/** The message a reply answers, above the reply; a click shows it in the timeline. */
function ReplyQuote(props: { eventId: string; version: number }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const { room, jumpTo } = useTileSurroundings();
  const quoted = timelineModel(app).event(room, props.eventId);
  const name = quoted ? displayName(room, quoted.getSender() ?? "") : "";
  let preview: JSX.Element;
  if (quoted === undefined) preview = <span>{i18n.t("timeline.reply.loading")}</span>;
  else if (quoted === null) preview = <span>{i18n.t("timeline.reply.missing")}</span>;
  else if (quoted.isRedacted()) preview = <span class="italic">{i18n.t("timeline.deleted")}</span>;
  else if (eventTileKind(quoted) === "undecryptable") {
    preview = <span class="italic">{i18n.t("timeline.undecryptable")}</span>;
  } else {
    preview = (
      <span class="line-clamp-2 break-words whitespace-pre-wrap">{plainPreview(quoted)}</span>
    );
  }
  return (
    <button
      type="button"
      class="mb-1 flex w-full max-w-xl flex-col items-start rounded-md border-l-4 border-sky-600 bg-slate-100 px-2 py-1 text-left text-sm text-slate-800 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-sky-400 dark:bg-slate-800 dark:text-slate-200 dark:hover:bg-slate-700"
      onClick={() => jumpTo(props.eventId)}
    >
      <span class="sr-only">{i18n.t("timeline.reply.inReplyTo")}</span>
      {quoted && <span class="text-xs font-semibold">{name}</span>}
      {preview}
    </button>
  );
}

/** The reply count under a thread's root. */
function ThreadSummary(props: { event: MatrixEvent; version: number }): JSX.Element | null {
  const { i18n } = useApp();
  const { room, openThread } = useTileSurroundings();
  const rootId = props.event.getId()!;
  const thread = props.event.getThread() ?? room.getThread(rootId);
  const bundled = props.event.getServerAggregatedRelation<{ count?: number }>("m.thread");
  const count = thread ? thread.length : bundled?.count ?? 0;
  if (count === 0) return null;
  const latest = thread?.replyToEvent;
  const latestName = latest ? displayName(room, latest.getSender() ?? "") : null;
  return (
    <button
      type="button"
      class="mt-1 inline-flex max-w-full items-center gap-2 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700"
      onClick={() => openThread(rootId)}
    >
      <RoomIcon name="thread" class="h-4 w-4 shrink-0" />
      <span class="font-semibold text-sky-800 dark:text-sky-300">
        {i18n.plural("timeline.thread.replies", count)}
      </span>
      {latestName && (
        <span class="truncate text-xs text-slate-600 dark:text-slate-300">
          {i18n.t("timeline.thread.latest", { name: latestName })}
        </span>
      )}
    </button>
  );
}

/** Sending, sent or failed, for the reader's own message. */
function SendStatus(
  props: { event: MatrixEvent; room: Room; latestOwn: boolean; version: number },
): JSX.Element | null {
  const { i18n, session } = useApp();
  const { event } = props;
  const client = session.clientReady.value;
  const status = event.status;
  if (status === "not_sent") {
    return (
      <div
        role="alert"
        class="mt-1 flex flex-wrap items-center gap-2 text-sm text-red-800 dark:text-red-300"
      >
        <RoomIcon name="alert" class="h-4 w-4" />
        <span>{i18n.t("timeline.status.failed")}</span>
        <button
          type="button"
          class={SMALL_BUTTON}
          onClick={() => client && resend(client, props.room, event).catch(() => {})}
        >
          <RoomIcon name="retry" class="h-3.5 w-3.5" />
          {i18n.t("timeline.status.retry")}
        </button>
        <button
          type="button"
          class={SMALL_BUTTON}
          onClick={() => client && cancelSend(client, event)}
        >
          {i18n.t("timeline.status.cancel")}
        </button>
      </div>
    );
  }
  if (status && status !== "sent") {
    return (
      <p class="mt-0.5 flex items-center gap-1 text-xs text-slate-600 dark:text-slate-300">
        <RoomIcon name="clock" class="h-3.5 w-3.5" />
        {i18n.t("timeline.status.sending")}
      </p>
    );
  }
  if (!props.latestOwn) return null;
  return (
    <p class="mt-0.5 flex items-center gap-1 text-xs text-slate-600 dark:text-slate-300">
      <RoomIcon name="check" class="h-3.5 w-3.5" />
      {i18n.t("timeline.status.sent")}
    </p>
  );
}

/** Who has read up to this message. */
function Readers(props: { readers: readonly string[]; room: Room }): JSX.Element | null {
  const { i18n } = useApp();
  if (props.readers.length === 0) return null;
  const names = props.readers.map((id) => displayName(props.room, id));
  const label = i18n.t("timeline.readBy", {
    names: formatList(i18n.locale.value, names),
  });
  const shown = names.slice(0, 3);
  return (
    <span
      role="img"
      aria-label={label}
      title={label}
      class="ml-auto flex shrink-0 -space-x-1 self-end"
    >
      {shown.map((name, index) => (
        <span
          key={index}
          class="inline-flex h-5 min-w-5 items-center justify-center rounded-full border border-white bg-slate-600 px-1 text-[10px] font-bold text-white dark:border-slate-900 dark:bg-slate-500"
        >
          {initials(name)}
        </span>
      ))}
      {names.length > shown.length && (
        <span class="inline-flex h-5 items-center pl-2 text-[10px] font-semibold text-slate-700 dark:text-slate-300">
          +{names.length - shown.length}
        </span>
      )}
    </span>
  );
}

/** Props of {@link EventTile}. */
export interface EventTileProps {
  event: MatrixEvent;
  continuation: boolean;
  readers: readonly string[];
  /** Briefly marked (the event a reply or a link pointed at). */
  highlighted?: boolean;
  /** This user's newest message (it shows "Sent"). */
  latestOwn?: boolean;
  /** A thread's root at the top of the thread panel. */
  isRoot?: boolean;
  /** The list's version: the event may have changed (see TimelineView.version). */
  version: number;
}

/** One event in a list. */
export function EventTile(props: EventTileProps): JSX.Element | null {
  const app = useApp();
  const { i18n, session } = app;
  const { room, inThread } = useTileSurroundings();
  const { event } = props;
  const [history, setHistory] = useState(false);
  const ids = useId();
  const kind = eventTileKind(event);
  if (kind === "hidden") return null;
  if (kind === "state") {
    return (
      <li class="px-4 py-1" data-event-id={event.getId()}>
        <EventBody event={event} room={room} kind={kind} version={props.version} />
      </li>
    );
  }
  const me = session.userId.value;
  const client = session.clientReady.value;
  const sender = event.getSender() ?? "";
  const name = displayName(room, sender);
  const locale = i18n.locale.value;
  const time = formatTime(locale, event.getTs());
  const highlight = client?.getPushActionsForEvent(event)?.tweaks?.highlight === true;
  const mentioned = mentionsMe(event, me, highlight);
  const replyTo = kind === "message"
    ? replyTarget(event.getWireContent()) ?? replyTarget(event.getContent())
    : null;
  const edited = kind === "message" && !!event.replacingEventId();
  const interactive = kind === "message" || kind === "poll";
  const background = props.highlighted
    ? "bg-sky-100 ring-2 ring-sky-600 dark:bg-sky-950"
    : mentioned
    ? "border-l-4 border-amber-500 bg-amber-50 dark:bg-amber-950/60"
    : "hover:bg-slate-100 dark:hover:bg-slate-900";
  return (
    <li data-event-id={event.getId()} class={`group relative ${props.continuation ? "" : "mt-2"}`}>
      <article
        tabIndex={-1}
        aria-labelledby={`${ids}-sender ${ids}-time`}
        data-mentioned={mentioned ? "true" : undefined}
        class={`flex gap-2 px-4 py-1 outline-none focus-visible:bg-slate-100 dark:focus-visible:bg-slate-900 ${background}`}
      >
        {/* The mark sits in the left column: the hover toolbar covers the top right corner. */}
        <div class="flex w-8 shrink-0 flex-col items-center gap-1">
          {!props.continuation && (
            <Avatar mxc={memberAvatarUrl(room, sender)} name={name} colourKey={sender} size={32} />
          )}
          <EventShield event={event} room={room} />
        </div>
        <div class="min-w-0 flex-1">
          <header class={props.continuation ? "sr-only" : "flex items-baseline gap-2"}>
            <span id={`${ids}-sender`} class="truncate text-sm font-bold" title={sender}>
              {name}
            </span>
            <time
              id={`${ids}-time`}
              dateTime={new Date(event.getTs()).toISOString()}
              title={formatDateTime(locale, event.getTs())}
              class="shrink-0 text-xs text-slate-600 dark:text-slate-300"
            >
              {time}
            </time>
          </header>
          {replyTo && <ReplyQuote eventId={replyTo} version={props.version} />}
          <EventBody event={event} room={room} kind={kind} version={props.version} />
          {edited && (
            <button
              type="button"
              class="text-xs text-slate-600 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-300"
              aria-haspopup="dialog"
              aria-label={i18n.t("timeline.editedLabel")}
              onClick={() => setHistory(true)}
            >
              {i18n.t("timeline.edited")}
            </button>
          )}
          {interactive && <ReactionChips event={event} room={room} version={props.version} />}
          {!inThread && !props.isRoot && interactive && (
            <ThreadSummary event={event} version={props.version} />
          )}
          {sender === me && (
            <SendStatus
              event={event}
              room={room}
              latestOwn={!!props.latestOwn}
              version={props.version}
            />
          )}
        </div>
        <Readers readers={props.readers} room={room} />
      </article>
      <MessageActions
        event={event}
        interactive={interactive}
        isRoot={props.isRoot}
        version={props.version}
      />
      {history && (
        <EditHistory
          event={event}
          room={room}
          onClose={() => setHistory(false)}
        />
      )}
    </li>
  );
}
