/** @jsxImportSource preact */
/**
 * The composer's create-poll button and its dialog: a question, two to twenty answers (added
 * and removed), and whether results show while the poll runs (open) or only at its end
 * (closed).
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useMemo, useRef, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { PollForm } from "../../state/polls.ts";
import { MAX_ANSWERS } from "../../state/poll_tally.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { ModalDialog } from "../modal_dialog.tsx";
import { COMPOSER_BUTTON, INPUT_CLASS, SMALL_BUTTON } from "./styles.ts";
import { PollIcon } from "./poll_icons.tsx";

/** The composer's create-poll button and dialog. */
export function PollAction(props: { room: Room }): JSX.Element {
  const { i18n } = useApp();
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class={COMPOSER_BUTTON}
        aria-label={i18n.t("polls.create")}
        title={i18n.t("polls.create")}
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
      >
        <PollIcon />
      </button>
      {open && <CreatePollDialog room={props.room} onClose={() => setOpen(false)} />}
    </>
  );
}

function CreatePollDialog(props: { room: Room; onClose: () => void }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const form = useMemo(() => new PollForm(), []);
  const ids = useId();
  const list = useRef<HTMLOListElement>(null);
  const answers = form.answers.value;
  const problem = form.problem.value;
  const sending = form.sending.value;

  const submit = async (event: Event) => {
    event.preventDefault();
    const client = app.session.clientReady.value;
    if (!client) return;
    if (await form.submit(client, props.room.roomId)) props.onClose();
  };
  const focusAnswer = (index: number) =>
    requestAnimationFrame(() =>
      list.current?.querySelectorAll<HTMLInputElement>("input")[index]?.focus()
    );

  return (
    <ModalDialog title={i18n.t("polls.form.title")} onClose={props.onClose}>
      <form class="flex flex-col gap-4" onSubmit={submit} noValidate>
        <div class="flex flex-col gap-1">
          <label for={`${ids}-q`} class="text-sm font-medium">
            {i18n.t("polls.form.question")}
          </label>
          <input
            id={`${ids}-q`}
            class={INPUT_CLASS}
            value={form.question.value}
            maxLength={340}
            onInput={(event) => form.question.value = event.currentTarget.value}
            required
          />
        </div>
        <ol ref={list} class="flex flex-col gap-2">
          {answers.map((text, index) => (
            <li key={index} class="flex flex-col gap-1">
              <label for={`${ids}-a${index}`} class="text-sm font-medium">
                {i18n.t("polls.form.answer", { number: index + 1 })}
              </label>
              <div class="flex items-center gap-2">
                <input
                  id={`${ids}-a${index}`}
                  class={INPUT_CLASS}
                  value={text}
                  maxLength={340}
                  onInput={(event) => form.setAnswer(index, event.currentTarget.value)}
                />
                {form.canRemove.value && (
                  <button
                    type="button"
                    class={COMPOSER_BUTTON}
                    aria-label={i18n.t("polls.form.removeAnswer", { number: index + 1 })}
                    title={i18n.t("polls.form.removeAnswer", { number: index + 1 })}
                    onClick={() => {
                      form.removeAnswer(index);
                      focusAnswer(Math.min(index, answers.length - 2));
                    }}
                  >
                    <svg
                      aria-hidden="true"
                      viewBox="0 0 24 24"
                      class="h-5 w-5"
                      fill="none"
                      stroke="currentColor"
                      stroke-width="2"
                      stroke-linecap="round"
                    >
                      <path d="M6 6l12 12M18 6L6 18" />
                    </svg>
                  </button>
                )}
              </div>
            </li>
          ))}
        </ol>
        <div class="flex flex-wrap items-center gap-2">
          <button
            type="button"
            class={SMALL_BUTTON}
            disabled={!form.canAdd.value}
            onClick={() => {
              form.addAnswer();
              focusAnswer(answers.length);
            }}
          >
            {i18n.t("polls.form.addAnswer")}
          </button>
          {!form.canAdd.value && (
            <p class="text-sm text-slate-700 dark:text-slate-300">
              {i18n.t("polls.form.maxAnswers", { count: MAX_ANSWERS })}
            </p>
          )}
        </div>
        <fieldset class="flex flex-col gap-2">
          <legend class="mb-1 text-sm font-medium">{i18n.t("polls.form.kind")}</legend>
          <KindOption
            name={`${ids}-kind`}
            checked={form.disclosed.value}
            onSelect={() => form.disclosed.value = true}
            label={i18n.t("polls.form.disclosed")}
            hint={i18n.t("polls.form.disclosedHint")}
          />
          <KindOption
            name={`${ids}-kind`}
            checked={!form.disclosed.value}
            onSelect={() => form.disclosed.value = false}
            label={i18n.t("polls.form.undisclosed")}
            hint={i18n.t("polls.form.undisclosedHint")}
          />
        </fieldset>
        <div role="alert" class="empty:hidden">
          {problem && (
            <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
              {i18n.t(problem.key, problem.params)}
            </p>
          )}
        </div>
        <div class="flex flex-wrap justify-end gap-2">
          <Button variant="quiet" onClick={props.onClose}>{i18n.t("polls.form.cancel")}</Button>
          <Button type="submit" busy={sending}>
            {sending ? i18n.t("polls.form.sending") : i18n.t("polls.form.submit")}
          </Button>
        </div>
      </form>
    </ModalDialog>
  );
}

function KindOption(props: {
  name: string;
  checked: boolean;
  onSelect: () => void;
  label: string;
  hint: string;
}): JSX.Element {
  const id = useId();
  return (
    <div class="flex items-start gap-2">
      <input
        id={id}
        type="radio"
        name={props.name}
        class="mt-1 h-4 w-4 accent-sky-700 dark:accent-sky-400"
        checked={props.checked}
        onChange={props.onSelect}
        aria-describedby={`${id}-hint`}
      />
      <div>
        <label for={id} class="text-sm font-semibold">{props.label}</label>
        <p id={`${id}-hint`} class="text-sm text-slate-700 dark:text-slate-300">{props.hint}</p>
      </div>
    </div>
  );
}
