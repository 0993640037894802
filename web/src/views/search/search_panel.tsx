/** @jsxImportSource preact */
/**
 * The search panel: a search field, the messages found (room, sender, time, the text with the
 * matching words marked), more results on demand; choosing one shows it in its room. It says
 * that encrypted conversations are searched on this device only.
 *
 * Loaded as its own chunk the first time it opens. Like the file preview, it imports only what
 * every chunk imports (preact, hooks, signals, the app context) plus its own modules, and gets
 * the rest as props; it opens its own `<dialog>` (modal, top layer, Escape closes).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useMemo, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { type SearchKey, searchText } from "../../i18n/search.ts";
import { markTerms, MAX_QUERY, MessageSearch, type SearchHit } from "../../state/message_search.ts";
import type { LocalSearchIndex } from "../../state/search_local.ts";
import { useApp } from "../context.ts";

/** Props of {@link SearchPanel}. */
export interface SearchPanelProps {
  /** The room searched; null for every room. */
  roomId: string | null;
  /** This device's index of encrypted rooms. */
  local: Promise<LocalSearchIndex | null>;
  /** A time and a number in the user's language. */
  format: { time: (ts: number) => string; number: (n: number) => string };
  /** The class of the app's small buttons. */
  buttonClass: string;
  onOpen: (roomId: string, eventId: string) => void;
  onClose: () => void;
}

/** The search panel, open while it is rendered. */
export function SearchPanel(props: SearchPanelProps): JSX.Element | null {
  const app = useApp();
  const locale = app.i18n.locale.value;
  const client = app.session.clientReady.value;
  const t = (key: SearchKey, params?: Record<string, string>) => searchText(locale, key, params);
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const fieldId = useId();
  const noteId = useId();
  const query = useSignal("");
  const search = useMemo(
    () => client ? new MessageSearch({ client, local: props.local, roomId: props.roomId }) : null,
    [client, props.roomId],
  );
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  if (!search || !client) return null;
  const rooms = app.session.rooms.rooms.value;
  const roomName = (roomId: string) => rooms.find((room) => room.roomId === roomId)?.name ?? roomId;
  const senderName = (hit: SearchHit) =>
    client.getRoom(hit.roomId)?.getMember(hit.sender)?.name || hit.sender;
  const state = search.state.value;
  const results = search.results.value;
  const terms = search.terms.value;
  let status = "";
  if (state === "busy") status = t("search.busy");
  else if (state === "failed") status = t("search.failed");
  else if (state === "localOnly") {
    status = t("search.localOnly", { count: props.format.number(results.length) });
  } else if (state === "done") {
    status = results.length === 0
      ? t("search.none")
      : t("search.count", { count: props.format.number(results.length) });
  }
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={search.usesLocal ? noteId : undefined}
      data-search-panel
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
      class="pointer-events-auto m-auto h-[calc(100dvh-1rem)] max-h-[calc(100dvh-1rem)] w-[calc(100vw-1rem)] max-w-xl overflow-hidden rounded-xl border border-slate-300 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/60 sm:h-auto sm:max-h-[80dvh] dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
    >
      <div class="flex h-full max-h-[inherit] flex-col gap-3 p-4 sm:p-5">
        <div class="flex items-center gap-2">
          <h2 id={titleId} class="min-w-0 flex-1 truncate text-lg font-bold">
            {props.roomId
              ? t("search.title.room", { room: roomName(props.roomId) })
              : t("search.title.all")}
          </h2>
          <button type="button" class={props.buttonClass} onClick={props.onClose}>
            {t("search.close")}
          </button>
        </div>
        <form
          role="search"
          class="flex gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            void search.run(query.value);
          }}
        >
          <label for={fieldId} class="sr-only">{t("search.field")}</label>
          <input
            id={fieldId}
            type="search"
            name="q"
            autoFocus
            autoComplete="off"
            maxLength={MAX_QUERY}
            placeholder={t("search.field")}
            class="min-w-0 flex-1 rounded-md border border-slate-400 bg-white px-3 py-2 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
            value={query.value}
            onInput={(event) => query.value = event.currentTarget.value}
          />
          <button
            type="submit"
            class="rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
          >
            {t("search.submit")}
          </button>
        </form>
        {search.usesLocal && (
          <p id={noteId} class="text-xs text-slate-600 dark:text-slate-300">
            {t("search.localNote")}
          </p>
        )}
        <p role="status" class="text-sm text-slate-700 empty:hidden dark:text-slate-200">
          {status}
        </p>
        <div class="min-h-0 flex-1 overflow-y-auto">
          {results.length > 0 && (
            <ul aria-label={t("search.results")} class="flex flex-col gap-1">
              {results.map((hit) => (
                <li key={hit.eventId}>
                  <button
                    type="button"
                    data-search-result={hit.eventId}
                    class="flex w-full min-w-0 flex-col gap-0.5 rounded-md px-2 py-2 text-left text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-800"
                    onClick={() => props.onOpen(hit.roomId, hit.eventId)}
                  >
                    <span class="flex min-w-0 flex-wrap items-baseline gap-x-2 text-xs text-slate-600 dark:text-slate-300">
                      {props.roomId === null && (
                        <span class="max-w-full truncate font-semibold">
                          {roomName(hit.roomId)}
                        </span>
                      )}
                      <span class="max-w-full truncate font-semibold text-slate-900 dark:text-slate-100">
                        {senderName(hit)}
                      </span>
                      <time dateTime={new Date(hit.ts).toISOString()}>
                        {props.format.time(hit.ts)}
                      </time>
                      {hit.local && <span>{t("search.local")}</span>}
                    </span>
                    <span class="line-clamp-3 break-words whitespace-pre-wrap">
                      {markTerms(hit.body, terms).map((part, i) =>
                        part.mark
                          ? (
                            <mark
                              key={i}
                              class="rounded-sm bg-amber-200 text-slate-900 dark:bg-amber-700 dark:text-white"
                            >
                              {part.text}
                            </mark>
                          )
                          : part.text
                      )}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          {search.hasMore.value && (
            <button
              type="button"
              class={`${props.buttonClass} mt-2`}
              disabled={state === "busy"}
              onClick={() => void search.more()}
            >
              {t("search.more")}
            </button>
          )}
        </div>
      </div>
    </dialog>
  );
}
