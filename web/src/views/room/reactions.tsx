/** @jsxImportSource preact */
/**
 * Reactions: the chips under a message (the emoji, how many, who - in the accessible name and
 * the tooltip; pressed when one is the reader's, and a click takes it back), and the quick
 * reaction picker (common emoji, or any short text).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import { formatList } from "../../i18n/format.ts";
import { displayName } from "../../state/timeline.ts";
import { reactionsOf, toggleReaction } from "../../state/timeline_actions.ts";
import { useApp } from "../context.ts";

/** The quick reactions. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"] as const;

/** Emoji fonts first, so reactions look the same on every system that has one. */
const EMOJI_FONT = "font-[Noto_Color_Emoji,Apple_Color_Emoji,Segoe_UI_Emoji,sans-serif]";

/** Longest reaction text accepted. */
const MAX_REACTION_LENGTH = 32;

/** Sends or takes back a reaction, logging a failure (the chip shows the outcome). */
export function useToggleReaction(room: Room, event: MatrixEvent): (key: string) => void {
  const { session } = useApp();
  return (key: string) => {
    const client = session.clientReady.value;
    if (!client) return;
    toggleReaction(client, room, event, key).catch((err) => {
      console.warn("gemeng: the reaction was not sent", err);
    });
  };
}

/** The chips under a message. */
export function ReactionChips(
  props: { event: MatrixEvent; room: Room; version: number },
): JSX.Element | null {
  const { i18n, session } = useApp();
  const toggle = useToggleReaction(props.room, props.event);
  const chips = reactionsOf(props.room, props.event, session.userId.value);
  if (chips.length === 0) return null;
  const names = (senders: string[]) =>
    formatList(i18n.locale.value, senders.map((id) => displayName(props.room, id)));
  return (
    <ul class="mt-1 flex flex-wrap gap-1" aria-label={i18n.t("timeline.reactions")}>
      {chips.map((chip) => {
        const who = i18n.t("timeline.reactionChip", { names: names(chip.senders) });
        return (
          <li key={chip.key}>
            <button
              type="button"
              aria-pressed={chip.mine !== null}
              aria-label={`${chip.key} ${chip.senders.length}, ${who}`}
              title={`${chip.key} ${who}`}
              onClick={() => toggle(chip.key)}
              class={`inline-flex min-h-8 items-center gap-1 rounded-full border px-2 text-sm focus-visible:outline-2 focus-visible:outline-sky-600 ${
                chip.mine
                  ? "border-sky-700 bg-sky-100 text-sky-950 dark:border-sky-400 dark:bg-sky-900 dark:text-white"
                  : "border-slate-300 bg-white text-slate-900 hover:bg-slate-100 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700"
              }`}
            >
              <span class={EMOJI_FONT}>{chip.key}</span>{" "}
              <span class="font-semibold">{chip.senders.length}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** The quick reaction picker, open under the React button. */
export function ReactionPicker(props: {
  event: MatrixEvent;
  room: Room;
  onClose: (focusBack: boolean) => void;
}): JSX.Element {
  const { i18n } = useApp();
  const toggle = useToggleReaction(props.room, props.event);
  const [text, setText] = useState("");
  const panel = useRef<HTMLDivElement>(null);
  const inputId = useId();
  useEffect(() => {
    panel.current?.scrollIntoView({ block: "nearest" });
    panel.current?.querySelector<HTMLButtonElement>("button")?.focus({ preventScroll: true });
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        props.onClose(true);
      }
    };
    const onPointer = (event: PointerEvent) => {
      if (!panel.current?.contains(event.target as Node)) props.onClose(false);
    };
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("pointerdown", onPointer, true);
    return () => {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("pointerdown", onPointer, true);
    };
  }, []);
  const pick = (key: string) => {
    toggle(key);
    props.onClose(true);
  };
  return (
    <div
      ref={panel}
      role="dialog"
      aria-label={i18n.t("timeline.picker.label")}
      class="pointer-events-auto absolute top-full right-0 z-20 mt-1 flex w-64 flex-col gap-2 rounded-lg border border-slate-300 bg-white p-2 shadow-lg dark:border-slate-600 dark:bg-slate-800"
    >
      <div class="grid grid-cols-4 gap-1">
        {QUICK_REACTIONS.map((key) => (
          <button
            key={key}
            type="button"
            class={`rounded-md p-1 text-xl hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700 ${EMOJI_FONT}`}
            aria-label={i18n.t("timeline.picker.reactWith", { key })}
            onClick={() => pick(key)}
          >
            {key}
          </button>
        ))}
      </div>
      <form
        class="flex gap-1"
        onSubmit={(event) => {
          event.preventDefault();
          const key = text.trim();
          if (key) pick(key);
        }}
      >
        <label for={inputId} class="sr-only">{i18n.t("timeline.picker.other")}</label>
        <input
          id={inputId}
          type="text"
          maxLength={MAX_REACTION_LENGTH}
          placeholder={i18n.t("timeline.picker.other")}
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
          class="min-w-0 flex-1 rounded-md border border-slate-400 bg-white px-2 py-1 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-900 dark:text-slate-100"
        />
        <button
          type="submit"
          class="rounded-md bg-sky-700 px-2 py-1 text-sm font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
        >
          {i18n.t("timeline.picker.add")}
        </button>
      </form>
    </div>
  );
}
