/** @jsxImportSource preact */
/**
 * Loaded on demand with the room settings and the settings screen, to keep the first screen
 * small: a room's notification level, and the keyword rules.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import {
  addKeyword,
  keywords,
  MAX_KEYWORD,
  removeKeyword,
  type RoomNotifyMode,
  roomNotifyMode,
  setRoomNotifyMode,
} from "../../state/room_notifications.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";

const MODES: readonly RoomNotifyMode[] = ["all", "mentions", "mute"];
const NOTE = "text-sm text-slate-600 dark:text-slate-300";
const PROBLEM = "text-sm text-red-800 dark:text-red-200";

/** A room's notification level: all messages, mentions and keywords, or mute. */
export function RoomNotifyPicker(props: { roomId: string }): JSX.Element | null {
  const { i18n, session } = useApp();
  const client = session.clientReady.value;
  const [mode, setMode] = useState<RoomNotifyMode | null>(null);
  const [state, setState] = useState<"idle" | "busy" | "saved" | "failed">("idle");
  const name = useId();
  useEffect(() => {
    let live = true;
    client?.getPushRules().then(
      (rules) => live && setMode(roomNotifyMode(rules, props.roomId)),
      () => live && setState("failed"),
    );
    return () => {
      live = false;
    };
  }, [client, props.roomId]);
  if (!client) return null;
  const choose = async (next: RoomNotifyMode) => {
    const before = mode;
    setMode(next);
    setState("busy");
    try {
      await setRoomNotifyMode(client, props.roomId, next);
      setState("saved");
    } catch {
      setMode(before);
      setState("failed");
    }
  };
  return (
    <fieldset
      class="flex flex-col gap-2"
      aria-busy={(mode === null && state === "idle") || state === "busy"}
    >
      <legend class="mb-1 text-base font-bold">{i18n.t("rooms.notify.room")}</legend>
      {MODES.map((choice) => (
        <label key={choice} class="flex items-center gap-2 text-sm">
          <input
            type="radio"
            name={name}
            value={choice}
            checked={mode === choice}
            disabled={mode === null || state === "busy"}
            onChange={() => void choose(choice)}
          />
          {i18n.t(`rooms.notify.${choice}`)}
        </label>
      ))}
      <p role="status" class={state === "failed" ? PROBLEM : NOTE}>
        {state === "saved" && i18n.t("rooms.notify.saved")}
        {state === "failed" && i18n.t("rooms.error.failed")}
      </p>
    </fieldset>
  );
}

/** The keyword rules: words that notify in every room. */
export function KeywordSettings(): JSX.Element | null {
  const { i18n, session } = useApp();
  const client = session.clientReady.value;
  const [words, setWords] = useState<string[] | null>(null);
  const [draft, setDraft] = useState("");
  const [failed, setFailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const reload = async () => {
    if (client) setWords(keywords(await client.getPushRules()));
  };
  useEffect(() => {
    reload().catch(() => setFailed(true));
  }, [client]);
  if (!client) return null;
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setFailed(false);
    try {
      await work();
      await reload();
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="flex flex-col gap-2" aria-labelledby={`${id}-title`} role="group">
      <h3 id={`${id}-title`} class="text-sm font-bold">{i18n.t("rooms.keywords.title")}</h3>
      <p class={NOTE}>{i18n.t("rooms.keywords.hint")}</p>
      {words?.length === 0 && <p class={NOTE}>{i18n.t("rooms.keywords.none")}</p>}
      {words && words.length > 0 && (
        <ul class="flex flex-wrap gap-2">
          {words.map((word) => (
            <li
              key={word}
              class="flex items-center gap-1 rounded-full border border-slate-400 py-0.5 pr-1 pl-3 text-sm dark:border-slate-500"
            >
              {word}
              <button
                type="button"
                class="rounded-full px-2 hover:bg-slate-200 dark:hover:bg-slate-700"
                aria-label={i18n.t("rooms.keywords.remove", { word })}
                disabled={busy}
                onClick={() => void run(() => removeKeyword(client, word))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="flex flex-wrap items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          const word = draft;
          void run(async () => {
            if (await addKeyword(client, word)) setDraft("");
          });
        }}
      >
        <label class="flex flex-1 flex-col gap-1 text-sm font-medium">
          {i18n.t("rooms.keywords.new")}
          <input
            type="text"
            maxLength={MAX_KEYWORD}
            class="rounded-md border border-slate-400 bg-white px-3 py-2 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
            value={draft}
            onInput={(event) => setDraft(event.currentTarget.value)}
          />
        </label>
        <Button type="submit" variant="quiet" busy={busy}>{i18n.t("rooms.keywords.add")}</Button>
      </form>
      <p role="alert" class={`${PROBLEM} empty:hidden`}>
        {failed ? i18n.t("rooms.error.failed") : ""}
      </p>
    </div>
  );
}
