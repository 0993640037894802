/** @jsxImportSource preact */
/**
 * A poll in the timeline: the question, its answers as a radio group (choosing one votes, and
 * choosing another changes the vote), the results with counts and shares (while the poll runs
 * if it is open, otherwise after it ends), the viewer's own vote and, once ended, the winning
 * answer; its creator (or a moderator) can end it.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useMemo, useState } from "preact/hooks";
import type { MatrixEvent, MatrixEventEvent, Room } from "matrix-js-sdk";
import { type PollModel, pollsModel } from "../../state/polls.ts";
import { parsePollStart, type PollAnswer } from "../../state/poll_tally.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { ModalDialog } from "../modal_dialog.tsx";
import { SMALL_BUTTON } from "./styles.ts";
import { PollIcon, PollsIcon } from "./poll_icons.tsx";

/** A poll in the timeline: answers, votes, results, end. */
export function PollBody(props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  const app = useApp();
  const client = app.session.clientReady.value;
  const eventId = useSentEventId(props.event);
  const model = useMemo(
    () => client && eventId ? pollsModel(app).poll(client, props.room, props.event) : null,
    [client, props.room, props.event, eventId],
  );
  if (!eventId) return <PendingPoll event={props.event} />;
  if (!model) return null;
  return <PollCard model={model} />;
}

/**
 * The event's ID once the server has it, else null: votes and ends refer to the poll by its
 * real ID, so a poll still being sent (a local echo, `~`-prefixed ID) cannot be voted on yet.
 */
function useSentEventId(event: MatrixEvent): string | null {
  const read = () =>
    event.status === null && !event.getId()?.startsWith("~") ? event.getId()! : null;
  const [id, setId] = useState(read);
  useEffect(() => {
    const update = () => setId(read());
    update();
    event.on("Event.localEventIdReplaced" as MatrixEventEvent.LocalEventIdReplaced, update);
    event.on("Event.status" as MatrixEventEvent.Status, update);
    return () => {
      event.off("Event.localEventIdReplaced" as MatrixEventEvent.LocalEventIdReplaced, update);
      event.off("Event.status" as MatrixEventEvent.Status, update);
    };
  }, [event]);
  return id;
}

/** A poll on its way to the server: its question and answers, not yet open to votes. */
function PendingPoll(props: { event: MatrixEvent }): JSX.Element {
  const { i18n } = useApp();
  const ids = useId();
  const poll = parsePollStart(props.event.getContent());
  if (!poll) {
    return (
      <p class="text-sm italic text-slate-700 dark:text-slate-300">{i18n.t("polls.invalid")}</p>
    );
  }
  return (
    <section
      aria-labelledby={`${ids}-q`}
      aria-busy="true"
      class="flex w-full max-w-md flex-col gap-3 rounded-xl border border-slate-300 bg-white p-3 text-slate-900 opacity-80 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
    >
      <p class="flex items-center gap-1 text-xs font-semibold uppercase tracking-wide text-slate-700 dark:text-slate-300">
        <PollIcon class="h-4 w-4" />
        {i18n.t("polls.label")}
      </p>
      <p id={`${ids}-q`} class="text-base font-semibold break-words">{poll.question}</p>
      <ul class="flex flex-col gap-2">
        {poll.answers.map((answer) => (
          <li
            key={answer.id}
            class="rounded-lg border border-slate-300 p-2 break-words dark:border-slate-600"
          >
            {answer.text}
          </li>
        ))}
      </ul>
      <p class="text-sm text-slate-700 dark:text-slate-300">{i18n.t("polls.sending")}</p>
    </section>
  );
}

function PollCard(props: { model: PollModel }): JSX.Element {
  const { i18n } = useApp();
  const { model } = props;
  const ids = useId();
  const [confirming, setConfirming] = useState(false);
  const poll = model.poll;
  const tally = model.tally.value;
  if (!poll || !tally) {
    return (
      <p class="text-sm italic text-slate-700 dark:text-slate-300">{i18n.t("polls.invalid")}</p>
    );
  }
  const ended = tally.end !== null;
  const showResults = ended || poll.disclosed;
  const total = tally.totalVoters;
  const myVote = model.myVote.value;
  const problem = model.problem.value;
  const loading = model.loading.value;

  let footer: string;
  if (loading) footer = i18n.t("polls.loading");
  else if (ended) {
    footer = total > 0 ? i18n.plural("polls.total.final", total) : i18n.t("polls.finalNoVotes");
  } else if (poll.disclosed) {
    footer = total > 0 ? i18n.plural("polls.total.open", total) : i18n.t("polls.noVotes");
  } else footer = i18n.plural("polls.total.hidden", total);

  const endPoll = () => {
    setConfirming(false);
    const top = poll.answers.filter((a) => tally.winners.includes(a.id)).map((a) => a.text);
    const text = top.length
      ? i18n.t("polls.endText.winner", { answer: top.join(", ") })
      : i18n.t("polls.endText.none");
    void model.end(text);
  };

  return (
    <section
      aria-labelledby={`${ids}-q`}
      class="flex w-full max-w-md flex-col gap-3 rounded-xl border border-slate-300 bg-white p-3 text-slate-900 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
    >
      <p class="flex items-center gap-1 text-xs font-semibold uppercase tracking-wide text-slate-700 dark:text-slate-300">
        <PollIcon class="h-4 w-4" />
        {ended ? i18n.t("polls.endedLabel") : i18n.t("polls.label")}
      </p>
      <p id={`${ids}-q`} class="text-base font-semibold break-words">{poll.question}</p>
      <div role="radiogroup" aria-labelledby={`${ids}-q`} class="flex flex-col gap-2">
        {poll.answers.map((answer) => (
          <AnswerRow
            key={answer.id}
            answer={answer}
            group={`${ids}-answers`}
            count={tally.counts.get(answer.id) ?? 0}
            fraction={total ? (tally.counts.get(answer.id) ?? 0) / total : null}
            showResults={showResults}
            mine={myVote === answer.id}
            winner={ended && tally.winners.includes(answer.id)}
            ended={ended}
            onVote={() => void model.vote(answer.id)}
          />
        ))}
      </div>
      <p class="text-sm text-slate-700 dark:text-slate-300" aria-live="polite">{footer}</p>
      {model.undecryptable.value > 0 && (
        <p class="text-sm text-amber-800 dark:text-amber-300">{i18n.t("polls.undecryptable")}</p>
      )}
      <div role="alert" class="empty:hidden">
        {problem && (
          <p class="text-sm text-red-800 dark:text-red-300">
            {i18n.t(problem.key, problem.params)}
          </p>
        )}
      </div>
      {!ended && model.mayEnd && (
        <div>
          <button
            type="button"
            class={SMALL_BUTTON}
            disabled={model.ending.value}
            aria-haspopup="dialog"
            onClick={() => setConfirming(true)}
          >
            {i18n.t("polls.end")}
          </button>
        </div>
      )}
      {confirming && (
        <ModalDialog
          title={i18n.t("polls.endDialog.title")}
          onClose={() => setConfirming(false)}
          alert
          describedBy={`${ids}-end`}
        >
          <p id={`${ids}-end`} class="text-sm">{i18n.t("polls.endDialog.body")}</p>
          <div class="flex flex-wrap justify-end gap-2">
            <Button variant="quiet" onClick={() => setConfirming(false)}>
              {i18n.t("polls.endDialog.cancel")}
            </Button>
            <Button onClick={endPoll}>{i18n.t("polls.end")}</Button>
          </div>
        </ModalDialog>
      )}
    </section>
  );
}

function AnswerRow(props: {
  answer: PollAnswer;
  group: string;
  count: number;
  /** The answer's share of the voters (null when nobody voted). */
  fraction: number | null;
  showResults: boolean;
  mine: boolean;
  winner: boolean;
  ended: boolean;
  onVote: () => void;
}): JSX.Element {
  const { i18n } = useApp();
  const id = useId();
  const share = props.fraction === null
    ? null
    : new Intl.NumberFormat(i18n.locale.value, { style: "percent" }).format(props.fraction);
  const frame = props.winner
    ? "border-emerald-700 bg-emerald-50 dark:border-emerald-400 dark:bg-emerald-950"
    : props.mine
    ? "border-sky-700 bg-sky-50 dark:border-sky-400 dark:bg-sky-950"
    : "border-slate-300 dark:border-slate-600";
  return (
    <label
      class={`flex flex-col gap-1 rounded-lg border p-2 ${frame} ${
        props.ended ? "" : "cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800"
      }`}
    >
      {
        /* The badges and the count wrap under the answer when both do not fit beside it: on a
          phone, squeezing the answer would break it one letter per line. */
      }
      <span class="flex flex-wrap items-center gap-x-2 gap-y-1">
        <input
          type="radio"
          name={props.group}
          class="h-4 w-4 shrink-0 accent-sky-700 dark:accent-sky-400"
          checked={props.mine}
          disabled={props.ended}
          aria-label={i18n.t("polls.voteFor", { answer: props.answer.text })}
          aria-describedby={`${id}-info`}
          onChange={props.onVote}
        />
        <span class="min-w-0 flex-1 basis-32 break-words">{props.answer.text}</span>
        <span
          id={`${id}-info`}
          class="ml-auto flex max-w-full min-w-0 flex-wrap items-center justify-end gap-1 text-xs empty:hidden"
        >
          {props.winner && (
            <span class="inline-flex items-center gap-1 rounded-full bg-emerald-700 px-2 py-0.5 font-semibold text-white dark:bg-emerald-300 dark:text-emerald-950">
              <PollsIcon name="trophy" class="h-3.5 w-3.5" />
              {i18n.t("polls.winner")}
            </span>
          )}
          {props.mine && (
            <span class="inline-flex items-center gap-1 rounded-full bg-sky-700 px-2 py-0.5 font-semibold text-white dark:bg-sky-300 dark:text-sky-950">
              <PollsIcon name="check" class="h-3.5 w-3.5" />
              {i18n.t("polls.yourVote")}
            </span>
          )}
          {props.showResults && (
            <span class="text-slate-700 tabular-nums dark:text-slate-300">
              {share === null ? i18n.plural("polls.votes", props.count) : i18n.t("polls.share", {
                votes: i18n.plural("polls.votes", props.count),
                percent: share,
              })}
            </span>
          )}
        </span>
      </span>
      {props.showResults && (
        <span
          aria-hidden="true"
          class="block h-1.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
        >
          <span
            class={`block h-full rounded-full ${
              props.winner ? "bg-emerald-700 dark:bg-emerald-400" : "bg-sky-700 dark:bg-sky-400"
            }`}
            style={{ width: `${Math.round((props.fraction ?? 0) * 100)}%` }}
          />
        </span>
      )}
    </label>
  );
}
