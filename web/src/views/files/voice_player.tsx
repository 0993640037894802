/** @jsxImportSource preact */
/**
 * A voice message in the timeline: play/pause, the waveform as bars that fill as it plays
 * (also a slider to seek), and the time. The audio is downloaded (and decrypted) on the first
 * press of play.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { MatrixClient } from "matrix-js-sdk";
import { readWaveform, resampleWaveform } from "../../matrix/voice.ts";
import { useApp } from "../context.ts";
import { ICON_BUTTON, PlayIcon } from "./file_icons.tsx";
import { type FileContent, formatDuration, useMedia } from "./use_media.ts";

const BARS = 48;
const BAR_STEP = 5;
const BAR_WIDTH = 3;
const HEIGHT = 32;

/** A received (or sent) voice message. */
export function VoicePlayer(props: {
  client: MatrixClient | null;
  content: Record<string, unknown>;
  file: FileContent;
}): JSX.Element {
  const { i18n } = useApp();
  const { file } = props;
  const [wanted, setWanted] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [duration, setDuration] = useState(file.durationMs ?? 0);
  const audioRef = useRef<HTMLAudioElement>(null);
  const media = useMedia(props.client, file.source, { mimetype: file.mimetype, enabled: wanted });
  const bars = resampleWaveform(readWaveform(props.content) ?? [], BARS);

  // Play as soon as the first press has loaded the audio.
  useEffect(() => {
    const audio = audioRef.current;
    if (!audio || !media.url || !wanted) return;
    audio.play().catch((err) => console.warn("gemeng: could not play", err));
  }, [media.url]);

  useEffect(() => {
    if (!playing) return;
    let frame = 0;
    const tick = () => {
      const audio = audioRef.current;
      if (audio) setPosition(audio.currentTime * 1000);
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  const toggle = () => {
    const audio = audioRef.current;
    if (!wanted || !media.url || !audio) {
      if (media.problem) media.retry();
      setWanted(true);
      return;
    }
    if (audio.paused) audio.play().catch((err) => console.warn("gemeng: could not play", err));
    else audio.pause();
  };
  const seek = (ms: number) => {
    const clamped = Math.max(0, Math.min(duration, ms));
    setPosition(clamped);
    const audio = audioRef.current;
    if (audio && media.url) audio.currentTime = clamped / 1000;
  };
  const fraction = duration > 0 ? Math.min(1, position / duration) : 0;
  const busy = media.loading;

  return (
    <div class="flex w-full max-w-80 flex-col gap-1">
      <div class="flex items-center gap-2 rounded-2xl bg-slate-100 p-2 dark:bg-slate-800">
        <button
          type="button"
          class={`${ICON_BUTTON} bg-sky-700 text-white hover:bg-sky-800 dark:bg-sky-700 dark:text-white dark:hover:bg-sky-600`}
          aria-label={i18n.t(playing ? "files.voice.pause" : "files.voice.play")}
          aria-busy={busy}
          onClick={toggle}
        >
          <PlayIcon playing={playing} />
        </button>
        <div
          role="slider"
          tabIndex={0}
          aria-label={i18n.t("files.voice.position")}
          aria-valuemin={0}
          aria-valuemax={Math.round(duration / 1000)}
          aria-valuenow={Math.round(position / 1000)}
          aria-valuetext={`${formatDuration(position)} / ${formatDuration(duration)}`}
          class="min-w-0 flex-1 cursor-pointer rounded focus-visible:outline-2 focus-visible:outline-sky-600"
          onClick={(event) => {
            const rect = event.currentTarget.getBoundingClientRect();
            seek((event.clientX - rect.left) / rect.width * duration);
          }}
          onKeyDown={(event) => {
            const step = event.key === "ArrowRight" || event.key === "ArrowUp"
              ? 1000
              : event.key === "ArrowLeft" || event.key === "ArrowDown"
              ? -1000
              : 0;
            if (event.key === "Home") seek(0);
            else if (event.key === "End") seek(duration);
            else if (step) seek(position + step);
            else return;
            event.preventDefault();
          }}
        >
          <svg
            aria-hidden="true"
            viewBox={`0 0 ${BARS * BAR_STEP} ${HEIGHT}`}
            preserveAspectRatio="none"
            class="h-8 w-full"
            data-waveform={bars.length}
          >
            {bars.map((value, i) => {
              const h = Math.max(2, value * HEIGHT);
              const played = (i + 0.5) / BARS <= fraction;
              return (
                <rect
                  key={i}
                  x={i * BAR_STEP}
                  y={(HEIGHT - h) / 2}
                  width={BAR_WIDTH}
                  height={h}
                  rx={1}
                  class={played
                    ? "fill-sky-700 dark:fill-sky-400"
                    : "fill-slate-400 dark:fill-slate-500"}
                />
              );
            })}
          </svg>
        </div>
        <span class="shrink-0 text-xs tabular-nums text-slate-700 dark:text-slate-200">
          {formatDuration(playing || position > 0 ? position : duration)}
        </span>
      </div>
      {media.problem && (
        <p role="alert" class="text-sm text-red-800 dark:text-red-300">{i18n.t(media.problem)}</p>
      )}
      {media.url && (
        <audio
          ref={audioRef}
          src={media.url}
          preload="auto"
          class="hidden"
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onEnded={() => {
            setPlaying(false);
            setPosition(0);
          }}
          onLoadedMetadata={(event) => {
            const seconds = event.currentTarget.duration;
            if (!file.durationMs && Number.isFinite(seconds)) setDuration(seconds * 1000);
          }}
        />
      )}
    </div>
  );
}
