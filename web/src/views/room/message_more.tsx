/** @jsxImportSource preact */
/**
 * A message's "More actions": the list (Forward, Pin or Unpin, Quote, Report, Ignore the sender)
 * and its dialogs, Forward (choose another conversation), Report (a reason for the server's
 * administrators) and Ignore (a confirmation; the member list has the undo).
 * Loaded when the list first opens. It must not import controls.tsx or message_content.ts: they
 * would take the language catalogues or the Markdown renderer out of the first screen's chunk
 * into a shared one, which compresses worse.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { type MoreKey, moreText } from "../../i18n/message_more.ts";
import type { MessageParams } from "../../i18n/index.ts";
import type { Composer } from "../../state/composer.ts";
import { canPin, pinnedIds } from "../../state/message_extras.ts";
import {
  canForward,
  forwardMessage,
  MAX_REPORT_REASON,
  quoteText,
  reportMessage,
  togglePin,
} from "../../state/message_tools.ts";
import { addToComposer } from "../../state/quote_request.ts";
import { setIgnored } from "../../state/ignore.ts";
import { useApp } from "../context.ts";
import { ModalDialog } from "../modal_dialog.tsx";
import { type IconName, RoomIcon } from "./icons.tsx";

/** Props of {@link MessageMore}. */
export interface MessageMoreProps {
  event: MatrixEvent;
  room: Room;
  composer: Composer;
  client: MatrixClient;
  /** The message can be answered (not a deleted one). */
  interactive: boolean;
  /** The list and any dialog from it are done; focus goes back to "More" when asked. */
  onClose: (focusBack: boolean) => void;
}

/** Props of the two dialogs. */
interface MessageDialogProps {
  client: MatrixClient;
  event: MatrixEvent;
  onClose: () => void;
}

/** These messages in the app's language. */
function useMoreText(): (key: MoreKey, params?: MessageParams) => string {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return (key, params) => moreText(locale, key, params);
}

type ExtraId = "forward" | "pin" | "quote" | "report" | "ignore";
type DialogId = "forward" | "report" | "ignore";

function extrasFor(event: MatrixEvent, interactive: boolean, me: string | null): ExtraId[] {
  const extras: ExtraId[] = [];
  const forwardable = canForward(event);
  if (forwardable) extras.push("forward");
  if (interactive) extras.push("pin");
  if (forwardable && event.getType() === "m.room.message") extras.push("quote");
  extras.push("report");
  const sender = event.getSender();
  if (sender && sender !== me) extras.push("ignore");
  return extras;
}

const EXTRA_ICONS: Record<ExtraId, IconName> = {
  forward: "forward",
  pin: "pin",
  quote: "quote",
  report: "flag",
  ignore: "close",
};

const MENU_ITEM =
  "flex min-h-10 w-full items-center gap-2 rounded-md px-3 py-2 text-left text-sm text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:cursor-not-allowed disabled:opacity-60 dark:text-slate-100 dark:hover:bg-slate-700";

/**
 * The list below the toolbar, then the dialog picked from it. Pin is off, with the reason,
 * when the reader's power level does not allow changing `m.room.pinned_events`. Escape closes.
 */
export function MessageMore(props: MessageMoreProps): JSX.Element | null {
  const { i18n, session } = useApp();
  const t = useMoreText();
  const { event, room } = props;
  const list = useRef<HTMLUListElement>(null);
  const reasonId = useId();
  const [dialog, setDialog] = useState<DialogId | null>(null);
  const [pinError, setPinError] = useState(false);
  useEffect(() => {
    list.current?.querySelector<HTMLButtonElement>("button:not([disabled])")?.focus();
  }, []);
  if (dialog) {
    const Dialog = dialog === "forward"
      ? ForwardDialog
      : dialog === "report"
      ? ReportDialog
      : IgnoreDialog;
    return <Dialog client={props.client} event={event} onClose={() => props.onClose(true)} />;
  }
  const eventId = event.getId()!;
  const pinned = pinnedIds(room).includes(eventId);
  const mayPin = canPin(room, session.userId.value);
  const pick = (id: ExtraId) => {
    if (id === "forward" || id === "report" || id === "ignore") {
      setDialog(id);
    } else if (id === "quote") {
      addToComposer(props.composer, quoteText(event));
      props.onClose(false);
    } else {
      togglePin(props.client, room, eventId).then(() => props.onClose(true)).catch((err) => {
        console.warn("gemeng: the pinned messages were not changed", err);
        setPinError(true);
      });
    }
  };
  const label = (id: ExtraId): MoreKey =>
    id === "pin" ? pinned ? "more.action.unpin" : "more.action.pin" : `more.action.${id}`;
  return (
    <ul
      ref={list}
      aria-label={i18n.t("timeline.action.more")}
      data-more-actions
      class="pointer-events-auto absolute top-11 right-0 z-30 flex w-60 max-w-[calc(100vw-2rem)] flex-col gap-0.5 rounded-lg border border-slate-300 bg-white p-1 shadow-lg dark:border-slate-600 dark:bg-slate-800"
      onKeyDown={(keyEvent) => {
        if (keyEvent.key !== "Escape") return;
        keyEvent.preventDefault();
        keyEvent.stopPropagation();
        props.onClose(true);
      }}
      onFocusOut={(focusEvent) => {
        const next = focusEvent.relatedTarget as HTMLElement | null;
        // A click on "More" toggles the list itself.
        if (!next || focusEvent.currentTarget.contains(next)) return;
        if (next.dataset.action === "more") return;
        props.onClose(false);
      }}
    >
      {extrasFor(event, props.interactive, props.client.getUserId()).map((id) => {
        const off = id === "pin" && !mayPin;
        return (
          <li key={id}>
            <button
              type="button"
              data-extra={id}
              class={MENU_ITEM}
              disabled={off}
              aria-describedby={off ? reasonId : undefined}
              aria-haspopup={id === "pin" || id === "quote" ? undefined : "dialog"}
              onClick={() => pick(id)}
            >
              <RoomIcon name={EXTRA_ICONS[id]} class="h-4 w-4 shrink-0" />
              {t(label(id))}
            </button>
            {off && (
              <p id={reasonId} class="px-3 pb-1 text-xs text-slate-600 dark:text-slate-300">
                {t("more.pin.denied")}
              </p>
            )}
            {id === "pin" && pinError && (
              <p role="alert" class="px-3 pb-1 text-xs text-red-800 dark:text-red-300">
                {t("more.pin.failed")}
              </p>
            )}
          </li>
        );
      })}
    </ul>
  );
}

const ROOM_BUTTON =
  "flex min-h-11 w-full items-center rounded-md border border-slate-300 px-3 py-2 text-left text-sm font-semibold hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-600 dark:hover:bg-slate-800";

/** Forward: a list of the other joined conversations; a click sends the copy there. */
function ForwardDialog(props: MessageDialogProps): JSX.Element {
  const { i18n, session } = useApp();
  const t = useMoreText();
  const bodyId = useId();
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const rooms = session.rooms.rooms.value.filter((summary) =>
    summary.roomId !== props.event.getRoomId() &&
    props.client.getRoom(summary.roomId)?.getMyMembership() === "join"
  );
  const send = async (roomId: string, name: string) => {
    setBusy(roomId);
    setResult(null);
    try {
      await forwardMessage(props.client, props.event, roomId);
      setResult({ ok: true, text: t("more.forward.done", { room: name }) });
    } catch (err) {
      console.warn("gemeng: the message was not forwarded", err);
      setResult({ ok: false, text: t("more.forward.failed") });
    } finally {
      setBusy(null);
    }
  };
  return (
    <ModalDialog
      title={t("more.forward.title")}
      onClose={props.onClose}
      describedBy={bodyId}
    >
      <p id={bodyId}>
        {rooms.length ? t("more.forward.choose") : t("more.forward.none")}
      </p>
      {rooms.length > 0 && (
        <ul class="flex max-h-72 flex-col gap-1 overflow-y-auto" data-forward-rooms>
          {rooms.map((summary) => {
            const name = summary.name || i18n.t("shell.unnamedRoom");
            return (
              <li key={summary.roomId}>
                <button
                  type="button"
                  class={ROOM_BUTTON}
                  disabled={busy !== null}
                  aria-busy={busy === summary.roomId}
                  onClick={() => void send(summary.roomId, name)}
                >
                  <span class="truncate">{name}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <p
        role={result?.ok === false ? "alert" : "status"}
        class={`text-sm empty:hidden ${
          result?.ok === false
            ? "text-red-800 dark:text-red-300"
            : "text-emerald-800 dark:text-emerald-300"
        }`}
      >
        {result?.text ?? ""}
      </p>
      <div class="flex justify-end">
        <Button variant="quiet" onClick={props.onClose}>{i18n.t("timeline.delete.cancel")}</Button>
      </div>
    </ModalDialog>
  );
}

/** Report: a reason, sent to the server's administrators. */
function ReportDialog(props: MessageDialogProps): JSX.Element {
  const { i18n } = useApp();
  const t = useMoreText();
  const ids = useId();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (formEvent: Event) => {
    formEvent.preventDefault();
    if (busy || result?.ok) return;
    setBusy(true);
    try {
      await reportMessage(props.client, props.event, reason.trim());
      setResult({ ok: true, text: t("more.report.done") });
    } catch (err) {
      console.warn("gemeng: the report was not sent", err);
      setResult({ ok: false, text: t("more.report.failed") });
    } finally {
      setBusy(false);
    }
  };
  return (
    <ModalDialog
      title={t("more.report.title")}
      onClose={props.onClose}
      describedBy={`${ids}-body`}
    >
      <form class="flex flex-col gap-3" onSubmit={(formEvent) => void submit(formEvent)}>
        <p id={`${ids}-body`}>{t("more.report.body")}</p>
        <label for={`${ids}-reason`} class="text-sm font-semibold">
          {t("more.report.reason")}
        </label>
        <textarea
          id={`${ids}-reason`}
          name="reason"
          rows={3}
          maxLength={MAX_REPORT_REASON}
          value={reason}
          onInput={(inputEvent) =>
            setReason((inputEvent.currentTarget as HTMLTextAreaElement).value)}
          class="w-full rounded-md border border-slate-400 bg-white p-2 text-sm focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:bg-slate-800"
        />
        <p
          role={result?.ok === false ? "alert" : "status"}
          class={`text-sm empty:hidden ${
            result?.ok === false
              ? "text-red-800 dark:text-red-300"
              : "text-emerald-800 dark:text-emerald-300"
          }`}
        >
          {result?.text ?? ""}
        </p>
        <div class="flex flex-wrap justify-end gap-2">
          <Button variant="quiet" onClick={props.onClose}>
            {i18n.t("timeline.delete.cancel")}
          </Button>
          {!result?.ok && <Button type="submit" busy={busy}>{t("more.action.report")}</Button>}
        </div>
      </form>
    </ModalDialog>
  );
}

/** Ignore the sender: said plainly what it does, then `m.ignored_user_list`. */
function IgnoreDialog(props: MessageDialogProps): JSX.Element {
  const { i18n } = useApp();
  const t = useMoreText();
  const bodyId = useId();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const userId = props.event.getSender()!;
  const room = props.client.getRoom(props.event.getRoomId());
  const name = room?.getMember(userId)?.name ?? userId;
  const confirm = async () => {
    setBusy(true);
    setFailed(false);
    try {
      await setIgnored(props.client, userId, true);
      props.onClose();
    } catch (err) {
      console.warn("gemeng: the person was not ignored", err);
      setFailed(true);
      setBusy(false);
    }
  };
  return (
    <ModalDialog
      title={t("more.ignore.title", { name })}
      onClose={props.onClose}
      describedBy={bodyId}
    >
      <p id={bodyId}>{t("more.ignore.body", { name })}</p>
      {failed && (
        <p role="alert" class="text-sm text-red-800 dark:text-red-300">
          {t("more.ignore.failed")}
        </p>
      )}
      <div class="flex flex-wrap justify-end gap-2">
        <Button variant="quiet" onClick={props.onClose}>
          {i18n.t("timeline.delete.cancel")}
        </Button>
        <Button busy={busy} onClick={() => void confirm()}>{t("more.ignore.confirm")}</Button>
      </div>
    </ModalDialog>
  );
}

const BUTTON_BASE =
  "inline-flex min-h-10 items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-semibold focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ";
const BUTTON_STYLES = {
  primary: BUTTON_BASE +
    "bg-sky-700 text-white hover:bg-sky-800 disabled:opacity-70 dark:bg-sky-700 dark:hover:bg-sky-600",
  quiet: BUTTON_BASE +
    "border border-slate-400 text-slate-800 hover:bg-slate-100 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800",
};

/** The look of controls.tsx's Button (see the module note for why it is not imported). */
function Button(props: {
  variant?: "primary" | "quiet";
  type?: "button" | "submit";
  busy?: boolean;
  onClick?: () => void;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <button
      type={props.type ?? "button"}
      class={BUTTON_STYLES[props.variant ?? "primary"]}
      onClick={props.onClick}
      disabled={props.busy}
      aria-busy={props.busy}
    >
      {props.children}
    </button>
  );
}
