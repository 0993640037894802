/** @jsxImportSource preact */
/**
 * The ringing and in-call panel, over every signed-in screen: an incoming call rings with
 * Accept / Accept with video / Decline; a call being placed shows "Calling…"; a call in
 * progress shows the other side's video, this device's preview, the duration and the
 * microphone, camera, screen sharing (screen_share.tsx, its own chunk) and hang-up buttons;
 * afterwards a short notice says how it ended.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { MessageKey } from "../../i18n/index.ts";
import {
  type CallInfo,
  type CallOutcome,
  type CallsModel,
  callsModel,
  formatDuration,
} from "../../state/calls.ts";
import { useApp } from "../context.ts";
import { CameraIcon, CloseIcon, HangUpIcon, MicrophoneIcon, PhoneIcon } from "./call_icons.tsx";

const ROUND = "inline-flex h-12 w-12 items-center justify-center rounded-full " +
  "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-400";
const CONTROL = `${ROUND} bg-slate-700 text-white hover:bg-slate-600`;
const CONTROL_OFF = `${ROUND} bg-white text-slate-900 hover:bg-slate-200`;
const HANG_UP = `${ROUND} bg-red-700 text-white hover:bg-red-800`;

const OUTCOME_KEYS: Record<CallOutcome["kind"], MessageKey> = {
  ended: "calls.outcome.ended",
  declined: "calls.outcome.declined",
  noAnswer: "calls.outcome.noAnswer",
  busy: "calls.outcome.busy",
  missed: "calls.outcome.missed",
  failed: "calls.outcome.failed",
  noMedia: "calls.outcome.noMedia",
};

/** A `<video>` showing a stream; muted (the sound plays through {@link StreamAudio}). */
function StreamVideo(props: { stream: MediaStream; label: string; class: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video || video.srcObject === props.stream) return;
    video.srcObject = props.stream;
    void video.play().catch(() => {});
  }, [props.stream]);
  return (
    <video
      ref={ref}
      class={props.class}
      aria-label={props.label}
      autoplay
      playsInline
      muted
    />
  );
}

/** The other side's sound. */
function StreamAudio(props: { stream: MediaStream }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const audio = ref.current;
    if (!audio || audio.srcObject === props.stream) return;
    audio.srcObject = props.stream;
    void audio.play().catch(() => {});
  }, [props.stream]);
  return <audio ref={ref} autoplay class="hidden" />;
}

function Initial(props: { name: string }): JSX.Element {
  const letter = props.name.replace(/^@/, "").charAt(0).toUpperCase() || "?";
  return (
    <span
      aria-hidden="true"
      class="flex h-20 w-20 items-center justify-center rounded-full bg-sky-800 text-3xl font-bold text-white"
    >
      {letter}
    </span>
  );
}

function RingingDialog(props: { calls: CallsModel; call: CallInfo }): JSX.Element {
  const { i18n } = useApp();
  const { calls, call } = props;
  const titleId = useId();
  const textId = useId();
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    first.current?.focus();
  }, []);
  return (
    <div
      role="alertdialog"
      aria-labelledby={titleId}
      aria-describedby={textId}
      class="fixed right-4 bottom-4 left-4 z-40 rounded-xl border border-slate-300 bg-white p-4 text-slate-900 shadow-2xl md:left-auto md:w-96 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100"
    >
      <div class="flex items-center gap-3">
        <Initial name={call.peerName} />
        <div class="min-w-0">
          <h2 id={titleId} class="text-base font-bold">
            {i18n.t(call.video ? "calls.incomingVideo" : "calls.incomingVoice")}
          </h2>
          <p id={textId} class="truncate text-sm text-slate-700 dark:text-slate-200">
            {i18n.t("calls.from", { name: call.peerName })}
          </p>
        </div>
      </div>
      <div class="mt-4 flex flex-wrap justify-end gap-2">
        <button
          type="button"
          class="inline-flex min-h-10 items-center gap-2 rounded-md bg-red-700 px-4 py-2 text-sm font-semibold text-white hover:bg-red-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
          onClick={() => calls.decline()}
        >
          <HangUpIcon class="h-4 w-4" />
          {i18n.t("calls.decline")}
        </button>
        <button
          ref={first}
          type="button"
          class="inline-flex min-h-10 items-center gap-2 rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white hover:bg-emerald-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
          onClick={() => void calls.accept({ video: false })}
        >
          <PhoneIcon class="h-4 w-4" />
          {i18n.t("calls.accept")}
        </button>
        {call.video && (
          <button
            type="button"
            class="inline-flex min-h-10 items-center gap-2 rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white hover:bg-emerald-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
            onClick={() => void calls.accept({ video: true })}
          >
            <CameraIcon class="h-4 w-4" />
            {i18n.t("calls.acceptVideo")}
          </button>
        )}
      </div>
    </div>
  );
}

function CallStatus(props: { calls: CallsModel; call: CallInfo }): JSX.Element {
  const { i18n } = useApp();
  const { calls, call } = props;
  if (call.phase === "connected") {
    return (
      <span role="timer" aria-label={i18n.t("calls.duration")} class="tabular-nums">
        {formatDuration(calls.seconds.value)}
      </span>
    );
  }
  return (
    <span>
      {call.phase === "calling"
        ? i18n.t("calls.calling", { name: call.peerName })
        : i18n.t("calls.connecting")}
    </span>
  );
}

type ShareModule = typeof import("./screen_share.tsx");
let shareLoad: Promise<ShareModule> | null = null;

/** Screen sharing's chunk, loaded when a call panel opens. */
function useScreenShare(): ShareModule | null {
  const [module, setModule] = useState<ShareModule | null>(null);
  useEffect(() => {
    let live = true;
    shareLoad ??= import("./screen_share.tsx");
    shareLoad.then((loaded) => live && setModule(loaded), () => shareLoad = null);
    return () => {
      live = false;
    };
  }, []);
  return module;
}

function CallPanel(props: { calls: CallsModel; call: CallInfo }): JSX.Element {
  const { i18n } = useApp();
  const { calls, call } = props;
  const share = useScreenShare();
  const connected = call.phase === "connected";
  const remote = calls.remoteStream.value;
  const local = calls.localStream.value;
  const showRemoteVideo = remote !== null && call.phase === "connected" &&
    !calls.remoteVideoMuted.value;
  const showLocalVideo = local !== null && local.getVideoTracks().length > 0 &&
    !calls.cameraOff.value;
  const micMuted = calls.micMuted.value;
  const cameraOff = calls.cameraOff.value;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // The button that started or accepted the call is gone or disabled: keep keyboard users in
    // the call rather than at the top of the page (unless they are typing somewhere).
    const active = document.activeElement as HTMLElement | null;
    const typing = active?.matches("input, textarea, select, [contenteditable]") ?? false;
    if (!typing) heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <section
      aria-label={i18n.t("calls.callWith", { name: call.peerName })}
      class="fixed inset-0 z-30 flex flex-col bg-slate-900 text-white md:inset-auto md:right-4 md:bottom-4 md:h-[30rem] md:w-[34rem] md:overflow-hidden md:rounded-xl md:shadow-2xl"
    >
      <header class="flex items-baseline justify-between gap-3 px-4 py-3">
        <h2 ref={heading} tabIndex={-1} class="truncate text-base font-bold outline-none">
          {call.peerName}
        </h2>
        <p class="text-sm text-slate-200" aria-live="polite">
          <CallStatus calls={calls} call={call} />
        </p>
      </header>
      <div class="relative flex min-h-0 flex-1 items-center justify-center bg-black">
        {showRemoteVideo
          ? (
            <StreamVideo
              stream={remote}
              label={i18n.t("calls.remoteVideo", { name: call.peerName })}
              class="h-full w-full object-contain"
            />
          )
          : (
            <div class="flex flex-col items-center gap-3 p-4 text-center">
              <Initial name={call.peerName} />
              {call.video && call.phase === "connected" && (
                <p class="text-sm text-slate-200">
                  {i18n.t("calls.remoteCameraOff", { name: call.peerName })}
                </p>
              )}
            </div>
          )}
        {share && connected && <share.ScreenFeeds calls={calls} peerName={call.peerName} />}
        {showLocalVideo && (
          <StreamVideo
            stream={local}
            label={i18n.t("calls.localVideo")}
            class="absolute right-3 bottom-3 w-28 -scale-x-100 rounded-md border border-slate-500 bg-slate-800 shadow-lg md:w-36"
          />
        )}
        {remote && <StreamAudio stream={remote} />}
      </div>
      {micMuted && (
        <p class="px-4 pt-2 text-center text-sm text-slate-200">
          {i18n.t("calls.micMutedNotice")}
        </p>
      )}
      <div class="flex items-center justify-center gap-4 px-4 py-4">
        <button
          type="button"
          class={micMuted ? CONTROL_OFF : CONTROL}
          aria-label={i18n.t(micMuted ? "calls.unmute" : "calls.mute")}
          title={i18n.t(micMuted ? "calls.unmute" : "calls.mute")}
          disabled={local === null}
          onClick={() => void calls.toggleMicrophone()}
        >
          <MicrophoneIcon off={micMuted} />
        </button>
        {call.video && (
          <button
            type="button"
            class={cameraOff ? CONTROL_OFF : CONTROL}
            aria-label={i18n.t(cameraOff ? "calls.cameraOn" : "calls.cameraOff")}
            title={i18n.t(cameraOff ? "calls.cameraOn" : "calls.cameraOff")}
            disabled={local === null}
            onClick={() => void calls.toggleCamera()}
          >
            <CameraIcon off={cameraOff} />
          </button>
        )}
        {share && connected && (
          <share.ShareScreenButton calls={calls} on={CONTROL} off={CONTROL_OFF} />
        )}
        <button
          type="button"
          class={HANG_UP}
          aria-label={i18n.t("calls.hangUp")}
          title={i18n.t("calls.hangUp")}
          onClick={() => calls.hangUp()}
        >
          <HangUpIcon />
        </button>
      </div>
    </section>
  );
}

function OutcomeNotice(props: { calls: CallsModel }): JSX.Element {
  const { i18n } = useApp();
  const outcome = props.calls.outcome.value;
  const shown = outcome !== null && props.calls.current.value === null;
  // The live region stays in the document so that screen readers announce what appears in it.
  return (
    <div
      role="status"
      class={shown
        ? "fixed right-4 bottom-4 left-4 z-40 flex items-center justify-between gap-3 rounded-xl border border-slate-300 bg-white px-4 py-3 text-sm text-slate-900 shadow-xl md:left-auto md:w-96 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100"
        : "sr-only"}
    >
      {shown && (
        <>
          <span>
            {i18n.t(OUTCOME_KEYS[outcome.kind], {
              name: outcome.peerName,
              duration: formatDuration(outcome.seconds ?? 0),
            })}
          </span>
          <button
            type="button"
            class="rounded-md p-1 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700"
            aria-label={i18n.t("calls.close")}
            onClick={() => props.calls.dismissOutcome()}
          >
            <CloseIcon class="h-4 w-4" />
          </button>
        </>
      )}
    </div>
  );
}

/** The ringing and in-call panel, over every signed-in screen. */
export function CallOverlay(): JSX.Element | null {
  const app = useApp();
  const calls = callsModel(app);
  const call = calls.current.value;
  return (
    <>
      {call?.phase === "ringing" && <RingingDialog calls={calls} call={call} />}
      {call && call.phase !== "ringing" && <CallPanel calls={calls} call={call} />}
      <OutcomeNotice calls={calls} />
    </>
  );
}
