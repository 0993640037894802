/** @jsxImportSource preact */
/**
 * A call in the timeline: who started a voice or video call (`m.call.invite`), that it ended
 * and how long it lasted, or that it was missed or not answered (`m.call.hangup`), or that it
 * was declined (`m.call.reject`). The other `m.call.*` events (answers, candidates, ...) are
 * signalling and render nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import type { MessageKey, MessageParams } from "../../i18n/index.ts";
import { formatDuration } from "../../state/calls.ts";
import { useApp } from "../context.ts";
import { CameraIcon, HangUpIcon, PhoneIcon } from "./call_icons.tsx";

/** What a call event tile says. */
export interface CallEventSummary {
  key: MessageKey;
  params: MessageParams;
  video: boolean;
  /** The call ended or was refused (a turned-down handset instead of a plain one). */
  over: boolean;
}

function callEvents(room: Room, callId: unknown): MatrixEvent[] {
  if (typeof callId !== "string") return [];
  return room.getLiveTimeline().getEvents().filter((event) =>
    event.getType().startsWith("m.call.") && event.getContent().call_id === callId
  );
}

function offersVideo(invite: MatrixEvent | undefined): boolean | null {
  if (!invite) return null;
  const sdp = invite.getContent().offer?.sdp;
  return typeof sdp === "string" && /^m=video /m.test(sdp);
}

/**
 * The text of a call event, seen by `myUserId`, from the events of the same call in the
 * room's loaded timeline; null for signalling events that show nothing.
 */
export function summariseCallEvent(
  event: MatrixEvent,
  room: Room,
  myUserId: string | null,
): CallEventSummary | null {
  const type = event.getType();
  const name = event.sender?.name ?? event.getSender() ?? "";
  const related = callEvents(room, event.getContent().call_id);
  const invite = type === "m.call.invite"
    ? event
    : related.find((e) => e.getType() === "m.call.invite");
  const knownVideo = offersVideo(invite);
  const video = knownVideo ?? false;
  const pick = (videoKey: MessageKey, voiceKey: MessageKey) => video ? videoKey : voiceKey;

  if (type === "m.call.invite") {
    const key = pick("calls.event.startedVideo", "calls.event.startedVoice");
    return { key, params: { name }, video, over: false };
  }
  if (type === "m.call.reject") {
    const key = pick("calls.event.declinedVideo", "calls.event.declinedVoice");
    return { key, params: { name }, video, over: true };
  }
  if (type !== "m.call.hangup") return null;

  const answer = related.find((e) => e.getType() === "m.call.answer");
  const reason = event.getContent().reason;
  if (answer) {
    if (knownVideo === null) return { key: "calls.event.ended", params: {}, video, over: true };
    const seconds = (event.getTs() - answer.getTs()) / 1000;
    const key = pick("calls.event.endedVideo", "calls.event.endedVoice");
    return { key, params: { duration: formatDuration(seconds) }, video, over: true };
  }
  if (!invite || reason === "user_busy") {
    return { key: "calls.event.ended", params: {}, video, over: true };
  }
  const callerIsMe = invite.getSender() === myUserId;
  const key = callerIsMe
    ? pick("calls.event.notAnsweredVideo", "calls.event.notAnsweredVoice")
    : pick("calls.event.missedVideo", "calls.event.missedVoice");
  return { key, params: {}, video, over: true };
}

/** A call's invite, hang-up or refusal in the timeline. */
export function CallEventBody(props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  const { i18n, session } = useApp();
  const summary = summariseCallEvent(props.event, props.room, session.userId.value);
  if (!summary) return null;
  const Icon = summary.over ? HangUpIcon : summary.video ? CameraIcon : PhoneIcon;
  return (
    <p class="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
      <Icon class="h-4 w-4 shrink-0" />
      <span>{i18n.t(summary.key, summary.params)}</span>
    </p>
  );
}
