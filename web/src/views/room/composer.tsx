/** @jsxImportSource preact */
/**
 * The composer: a multi-line text box named "Message" (Enter sends, Shift+Enter starts a new
 * line, Up in an empty box edits the last own message, Escape drops a reply or an edit), the
 * reply or edit it is working on, the `@` list of members (a listbox the arrow keys move in;
 * Enter or Tab picks, and the person goes in as a pill), the file, poll and location buttons,
 * and Send. Pasted files are sent as files; pasted text goes in as plain text.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useLayoutEffect, useRef } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import type { Composer } from "../../state/composer.ts";
import { quoteRequest } from "../../state/quote_request.ts";
import { displayName } from "../../state/timeline.ts";
import { sendFiles } from "../../state/uploads.ts";
import { useApp } from "../context.ts";
import { FileActions } from "../files/file_actions.tsx";
import { LocationAction } from "../location/location_action.tsx";
import { PollAction } from "../polls/poll_action.tsx";
import { plainPreview } from "./event_tile.tsx";
import { RoomIcon } from "./icons.tsx";
import {
  caretToEnd,
  insertPill,
  mentionQueryAtCaret,
  readParts,
  writeParts,
} from "./editor_dom.ts";

const ICON_BUTTON =
  "inline-flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-700";

/** What the composer is doing to another message: answering or editing it. */
function WorkingOn(props: { composer: Composer; room: Room }): JSX.Element | null {
  const { i18n } = useApp();
  const replyTo = props.composer.replyTo.value;
  const editing = props.composer.editing.value;
  const target = editing ?? replyTo;
  if (!target) return null;
  const name = displayName(props.room, target.getSender() ?? "");
  return (
    <div class="flex items-start gap-2 border-l-4 border-sky-600 bg-slate-100 px-3 py-1.5 text-sm dark:border-sky-400 dark:bg-slate-800">
      <div class="min-w-0 flex-1">
        <p class="font-semibold">
          {editing
            ? i18n.t("timeline.composer.editing")
            : i18n.t("timeline.composer.replyingTo", { name })}
        </p>
        {replyTo && (
          <p class="line-clamp-1 break-words text-slate-700 dark:text-slate-300">
            {plainPreview(replyTo)}
          </p>
        )}
      </div>
      <button
        type="button"
        class="rounded-md p-1 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700"
        aria-label={editing
          ? i18n.t("timeline.composer.cancelEdit")
          : i18n.t("timeline.composer.cancelReply")}
        onClick={() => props.composer.cancel()}
      >
        <RoomIcon name="close" class="h-4 w-4" />
      </button>
    </div>
  );
}

/** Props of {@link ComposerView}. */
export interface ComposerViewProps {
  composer: Composer;
  room: Room;
  /** The text box's accessible name (the room's composer: "Message"). */
  label: string;
  /** Show the file, poll and location buttons (the room's composer). */
  attachments: boolean;
}

/** The composer. */
export function ComposerView(props: ComposerViewProps): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const { composer, room } = props;
  const editor = useRef<HTMLDivElement>(null);
  const ids = useId();
  const listId = `${ids}-mentions`;
  const options = composer.options.value;
  const active = composer.activeOption.value;
  const listOpen = composer.mentionQuery.value !== null && options.length > 0;
  const load = composer.load.value;
  const replyTo = composer.replyTo.value;
  const editing = composer.editing.value;

  // A kept draft comes back when the composer does.
  useLayoutEffect(() => {
    if (editor.current && composer.draft.length) writeParts(editor.current, composer.draft);
    return () => composer.setMentionQuery(null);
  }, [composer]);
  // The model asks for content (an edit's text, or empty after sending); what it asked before
  // this view existed is in the draft already.
  const shownSerial = useRef(load?.serial);
  useLayoutEffect(() => {
    const element = editor.current;
    if (!element || !load || load.serial === shownSerial.current) return;
    shownSerial.current = load.serial;
    writeParts(element, load.parts);
    if (load.parts.length) {
      element.focus();
      caretToEnd(element);
    }
  }, [load?.serial]);
  // In the same commit as the reply or edit bar, so keys typed right after the click land here.
  useLayoutEffect(() => {
    if (replyTo || editing) editor.current?.focus();
  }, [replyTo, editing]);

  const changed = () => {
    const element = editor.current;
    if (!element) return;
    const parts = readParts(element);
    // Emptied by hand: drop the browser's leftover <br> so the placeholder shows again.
    if (parts.length === 0 && element.childNodes.length) element.replaceChildren();
    composer.input(parts);
    composer.setMentionQuery(mentionQueryAtCaret(element));
  };
  // Quote (from a message's actions) adds "> text" after what is written already.
  const quote = quoteRequest(composer).value;
  const shownQuote = useRef(quote?.serial);
  useLayoutEffect(() => {
    const element = editor.current;
    if (!element || !quote || quote.serial === shownQuote.current) return;
    shownQuote.current = quote.serial;
    const before = readParts(element);
    const last = before.at(-1);
    const gap = last && "text" in last && !last.text.endsWith("\n") ? "\n" : "";
    writeParts(element, [...before, { text: gap + quote.text }]);
    element.focus();
    caretToEnd(element);
    changed();
  }, [quote?.serial]);
  const pick = (index: number) => {
    const option = composer.options.value[index];
    const element = editor.current;
    if (!option || !element) return;
    element.focus();
    insertPill(element, option.userId, option.name);
    changed();
    composer.setMentionQuery(null);
  };
  const send = () => {
    const element = editor.current;
    if (!element) return;
    composer.send(readParts(element));
    element.focus();
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.isComposing) return;
    if (listOpen) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        composer.moveOption(event.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        pick(active);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        composer.setMentionQuery(null);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send();
    } else if (event.key === "Enter") {
      event.preventDefault();
      document.execCommand("insertLineBreak");
      changed();
    } else if (event.key === "ArrowUp" && composer.empty.value && !editing) {
      if (composer.editLast()) event.preventDefault();
    } else if (event.key === "Escape" && (replyTo || editing)) {
      event.preventDefault();
      composer.cancel();
    } else if ((event.ctrlKey || event.metaKey) && /^[biu]$/i.test(event.key)) {
      // Formatting is markdown; the browser's own bold/italic would not be sent.
      event.preventDefault();
    }
  };
  const onPaste = (event: ClipboardEvent) => {
    const data = event.clipboardData;
    if (!data) return;
    event.preventDefault();
    const files = [...data.files];
    if (files.length && props.attachments) {
      sendFiles(app, room, files);
      return;
    }
    const text = data.getData("text/plain");
    if (text) document.execCommand("insertText", false, text);
  };

  return (
    <div class="border-t border-slate-300 bg-white dark:border-slate-700 dark:bg-slate-900">
      <WorkingOn composer={composer} room={room} />
      <div class="relative flex flex-wrap items-end gap-1 px-2 py-2">
        {listOpen && (
          <ul
            id={listId}
            role="listbox"
            aria-label={i18n.t("timeline.mentions.label")}
            class="absolute right-2 bottom-full left-2 z-20 mb-1 max-h-64 overflow-y-auto rounded-lg border border-slate-300 bg-white p-1 shadow-lg dark:border-slate-600 dark:bg-slate-800"
          >
            {options.map((option, index) => (
              <li
                key={option.userId}
                id={`${listId}-${index}`}
                role="option"
                aria-selected={index === active}
                class={`flex cursor-pointer flex-col rounded-md px-2 py-1 text-sm ${
                  index === active ? "bg-sky-100 text-sky-950 dark:bg-sky-900 dark:text-white" : ""
                }`}
                onMouseDown={(event) => event.preventDefault()}
                onClick={() => pick(index)}
              >
                <span class="font-semibold">{option.name}</span>
                <span class="text-xs text-slate-600 dark:text-slate-300">{option.userId}</span>
              </li>
            ))}
          </ul>
        )}
        {props.attachments && (
          <div class="order-2 flex items-center gap-1 md:order-none">
            <FileActions room={room} />
            <PollAction room={room} />
            <LocationAction room={room} />
          </div>
        )}
        <div class="order-1 flex min-w-0 basis-full items-end gap-1 md:order-none md:flex-1 md:basis-0">
          <div
            ref={editor}
            id={`${ids}-editor`}
            role="textbox"
            aria-multiline="true"
            aria-label={props.label}
            aria-autocomplete="list"
            aria-controls={listOpen ? listId : undefined}
            aria-activedescendant={listOpen ? `${listId}-${active}` : undefined}
            contentEditable
            spellcheck
            data-placeholder={props.label}
            class="max-h-48 min-h-10 min-w-0 flex-1 overflow-y-auto rounded-2xl border border-slate-400 bg-white px-3 py-2 text-base break-words whitespace-pre-wrap text-slate-900 empty:before:text-slate-500 empty:before:content-[attr(data-placeholder)] focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100 dark:empty:before:text-slate-400"
            onInput={changed}
            onBlur={() => composer.setMentionQuery(null)}
            onKeyDown={onKeyDown}
            onKeyUp={(event) => {
              if (event.key.startsWith("Arrow") && !listOpen) {
                composer.setMentionQuery(mentionQueryAtCaret(event.currentTarget));
              }
            }}
            onPaste={onPaste}
            onDrop={(event) => {
              // Files are the room's business (it sends them); text goes in plain.
              const text = event.dataTransfer?.getData("text/plain");
              if (event.dataTransfer?.files.length || !text) return;
              event.preventDefault();
              document.execCommand("insertText", false, text);
            }}
          />
          <button
            type="button"
            class={`${ICON_BUTTON} bg-sky-700 text-white hover:bg-sky-800 dark:bg-sky-700 dark:text-white dark:hover:bg-sky-600`}
            aria-label={editing
              ? i18n.t("timeline.composer.saveEdit")
              : i18n.t("timeline.composer.send")}
            title={editing
              ? i18n.t("timeline.composer.saveEdit")
              : i18n.t("timeline.composer.send")}
            onClick={send}
          >
            <RoomIcon name={editing ? "check" : "send"} />
          </button>
        </div>
      </div>
    </div>
  );
}
