/** @jsxImportSource preact */
/**
 * Screen sharing in a one-to-one call: the "Share your screen" switch among the call's
 * controls, the other side's shared screen over the call's video, and a notice while one's own
 * screen is shared. The SDK's `setScreensharingEnabled` adds the screen as a second feed with
 * the purpose `m.screenshare` (the other side learns it from the SDP stream metadata) and
 * renegotiates; stopping removes it. Stopping from the browser's own "Stop sharing" bar ends
 * the capture track, which stops the feed too.
 *
 * Its own chunk, loaded when a call panel opens; it imports only preact, signals and the app
 * context (the call model comes as a prop).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useComputed } from "@preact/signals";
import type { MatrixCall } from "matrix-js-sdk";
import type { MessageParams } from "../../i18n/index.ts";
import { type ShareKey, shareText } from "../../i18n/screen_share.ts";
import type { CallsModel } from "../../state/calls.ts";
import { useApp } from "../context.ts";

function useText(): (key: ShareKey, params?: MessageParams) => string {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return (key, params) => shareText(locale, key, params);
}

/** Whether this browser can capture a screen (phones cannot). */
export function canShareScreen(): boolean {
  return typeof navigator !== "undefined" &&
    typeof navigator.mediaDevices?.getDisplayMedia === "function";
}

/** The call and its screen feeds, as of the model's last feed change. */
function useScreens(calls: CallsModel) {
  return useComputed(() => {
    void calls.feeds.value;
    const call = calls.call;
    return {
      call,
      sharing: call?.isScreensharing() ?? false,
      remote: call?.remoteScreensharingStream ?? null,
    };
  }).value;
}

/** Stops sharing when the capture ends outside the app (the browser's "Stop sharing"). */
function followCaptureEnd(call: MatrixCall): void {
  const track = call.localScreensharingStream?.getVideoTracks()[0];
  track?.addEventListener("ended", () => {
    if (call.isScreensharing()) void call.setScreensharingEnabled(false);
  }, { once: true });
}

/** The share switch; `on` and `off` are the call panel's button classes. */
export function ShareScreenButton(
  props: { calls: CallsModel; on: string; off: string },
): JSX.Element | null {
  const t = useText();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const { call, sharing } = useScreens(props.calls);
  if (!call || !canShareScreen()) return null;
  const label = t(sharing ? "share.stop" : "share.start");
  const toggle = async () => {
    if (busy) return;
    setBusy(true);
    setFailed(false);
    try {
      const now = await call.setScreensharingEnabled(!sharing);
      if (now) followCaptureEnd(call);
      else if (!sharing) setFailed(true); // refused, or the capture failed
    } catch (err) {
      console.warn("gemeng: screen sharing could not be switched", err);
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={sharing ? props.off : props.on}
        aria-label={label}
        title={label}
        aria-busy={busy}
        data-screen-share
        onClick={() => void toggle()}
      >
        <svg
          viewBox="0 0 24 24"
          class="h-6 w-6"
          aria-hidden="true"
          fill="none"
          stroke="currentColor"
          stroke-width="2"
          stroke-linecap="round"
          stroke-linejoin="round"
        >
          <rect x="3" y="4" width="18" height="12" rx="2" />
          <path d="M8 20h8M12 16v4" />
          {sharing ? <path d="M9 8l6 4M15 8l-6 4" /> : <path d="M12 13V7M9.5 9.5 12 7l2.5 2.5" />}
        </svg>
      </button>
      {failed && (
        <p role="alert" class="absolute inset-x-4 bottom-20 text-center text-sm text-red-200">
          {t("share.failed")}
        </p>
      )}
    </>
  );
}

/**
 * The other side's shared screen over the call's video, or a notice while one's own screen is
 * shared.
 */
export function ScreenFeeds(props: { calls: CallsModel; peerName: string }): JSX.Element | null {
  const t = useText();
  const { call, sharing, remote } = useScreens(props.calls);
  if (!call) return null;
  return (
    <>
      {remote && (
        <ScreenVideo
          stream={remote}
          label={t("share.remote", { name: props.peerName })}
        />
      )}
      {sharing && (
        <p
          role="status"
          class="absolute top-3 left-3 z-20 rounded-md bg-red-700 px-2 py-1 text-xs font-semibold text-white"
        >
          {t("share.sharing")}
        </p>
      )}
    </>
  );
}

function ScreenVideo(props: { stream: MediaStream; label: string }): JSX.Element {
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
      class="absolute inset-0 h-full w-full bg-black object-contain"
      aria-label={props.label}
      data-screen-feed
      autoplay
      playsInline
      muted
    />
  );
}
