/** @jsxImportSource preact */
/**
 * The composer's attach-file and record-voice buttons, and above the composer the room's
 * pending uploads (progress, cancel, retry) and the voice recorder while it records; the preview
 * dialog of chosen files (its own chunk) opens from here for the room.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { formatBytes, formatNumber, formatPercent } from "../../i18n/format.ts";
import {
  type FilePreview,
  MAX_CAPTION_LENGTH,
  type PendingUpload,
  sendFiles,
  uploadsModel,
} from "../../state/uploads.ts";
import { useApp } from "../context.ts";
import { Icon, ICON_BUTTON, SMALL_BUTTON } from "./file_icons.tsx";
import { formatDuration } from "./use_media.ts";

/** A press on the microphone longer than this records until it is let go, then sends. */
const HOLD_MS = 500;

/** The composer's attach-file and record-voice buttons. */
export function FileActions(props: { room: Room }): JSX.Element {
  const app = useApp();
  // The click that ends a press which started (or, held, sent) a recording is not a tap.
  const ignoreClickUntil = useRef(0);
  const { i18n } = app;
  const model = uploadsModel(app);
  const input = useRef<HTMLInputElement>(null);
  const anchor = useRef<HTMLDivElement>(null);
  const roomId = props.room.roomId;
  const uploads = model.inRoom(roomId);
  const recording = model.recording.value;
  const here = recording?.roomId === roomId ? recording : null;
  const problem = model.voiceProblem.value;
  const voiceProblem = problem?.roomId === roomId ? problem : null;
  const showPanel = uploads.length > 0 || here !== null || voiceProblem !== null;
  const preview = model.preview.value;

  return (
    <div ref={anchor} class="flex shrink-0 items-center gap-1">
      <input
        ref={input}
        type="file"
        multiple
        hidden
        onChange={(event) => {
          const files = [...(event.currentTarget.files ?? [])];
          event.currentTarget.value = "";
          if (files.length) sendFiles(app, props.room, files);
        }}
      />
      <button
        type="button"
        class={ICON_BUTTON}
        aria-label={i18n.t("files.attach")}
        title={i18n.t("files.attach")}
        onClick={() => input.current?.click()}
      >
        <Icon name="attach" />
      </button>
      {here
        ? (
          <button
            type="button"
            class={`${ICON_BUTTON} bg-red-700 text-white hover:bg-red-800 dark:bg-red-700 dark:text-white dark:hover:bg-red-600`}
            aria-label={i18n.t("files.voice.stop")}
            title={i18n.t("files.voice.stop")}
            disabled={here.phase !== "recording"}
            onClick={() => {
              if (performance.now() < ignoreClickUntil.current) return;
              void model.finishRecording();
            }}
          >
            <Icon name="send" />
          </button>
        )
        : (
          <button
            type="button"
            class={`${ICON_BUTTON} touch-none select-none`}
            aria-label={i18n.t("files.voice.record")}
            title={i18n.t("files.voice.recordHint")}
            disabled={recording !== null}
            onContextMenu={(event) => event.preventDefault()}
            onPointerDown={(event) => {
              if (event.button !== 0 || !event.isPrimary || recording !== null) return;
              const pressed = performance.now();
              const started = model.startRecording(props.room);
              const end = (event: Event) => {
                removeEventListener("pointerup", end, true);
                removeEventListener("pointercancel", end, true);
                ignoreClickUntil.current = performance.now() + 400;
                // Held and let go: send. A short tap leaves it recording until the next tap.
                if (event.type === "pointerup" && performance.now() - pressed >= HOLD_MS) {
                  void started.then(() => model.finishRecording());
                }
              };
              addEventListener("pointerup", end, true);
              addEventListener("pointercancel", end, true);
            }}
            onClick={() => {
              if (performance.now() < ignoreClickUntil.current) return;
              void model.startRecording(props.room);
            }}
          >
            <Icon name="mic" />
          </button>
        )}
      {preview?.roomId === roomId && <LazyPreview preview={preview} />}
      {showPanel && (
        <FloatingPanel anchor={anchor}>
          {voiceProblem && (
            <div
              role="alert"
              class="flex items-center gap-2 rounded-lg bg-red-50 p-2 text-sm text-red-900 dark:bg-red-950 dark:text-red-200"
            >
              <span class="flex-1">{i18n.t(voiceProblem.key, voiceProblem.params)}</span>
            </div>
          )}
          {here && <RecordingRow phase={here.phase} />}
          {uploads.length > 0 && (
            <ul aria-label={i18n.t("files.uploads")} class="flex flex-col gap-2">
              {uploads.map((upload) => <UploadRow key={upload.id} upload={upload} />)}
            </ul>
          )}
        </FloatingPanel>
      )}
    </div>
  );
}

type PreviewModule = typeof import("./file_preview.tsx");
let previewLoad: Promise<PreviewModule> | null = null;

/** The preview dialog, from a chunk loaded the first time files are chosen. */
function LazyPreview(props: { preview: FilePreview }): JSX.Element | null {
  const app = useApp();
  const [module, setModule] = useState<PreviewModule | null>(null);
  useEffect(() => {
    let live = true;
    previewLoad ??= import("./file_preview.tsx");
    previewLoad.then((loaded) => live && setModule(loaded)).catch((err) => {
      previewLoad = null;
      console.warn("gemeng: the file preview did not load", err);
      uploadsModel(app).closePreview();
    });
    return () => {
      live = false;
    };
  }, []);
  if (!module) return null;
  const model = uploadsModel(app);
  const locale = app.i18n.locale.value;
  return (
    <module.FilePreviewDialog
      files={props.preview.files}
      maxCaption={MAX_CAPTION_LENGTH}
      format={{
        bytes: (n) => formatBytes(locale, n),
        number: (n) => formatNumber(locale, n),
      }}
      icons={{
        file: <Icon name="file" class="h-8 w-8 shrink-0 text-slate-600 dark:text-slate-300" />,
        send: <Icon name="send" class="h-4 w-4" />,
      }}
      buttonClass={SMALL_BUTTON}
      onSend={(caption) => model.sendPreview(caption)}
      onCancel={() => model.closePreview()}
    />
  );
}

/**
 * A panel floating just above the composer, at the right of the room. Fixed positioning keeps
 * it clear of whatever layout the composer has; its bottom follows the composer's top.
 */
function FloatingPanel(props: {
  anchor: { current: HTMLElement | null };
  children: JSX.Element | (JSX.Element | false | null)[];
}): JSX.Element {
  const [bottom, setBottom] = useState(96);
  useLayoutEffect(() => {
    const place = () => {
      const rect = props.anchor.current?.getBoundingClientRect();
      if (rect) setBottom(Math.max(8, globalThis.innerHeight - rect.top + 8));
    };
    place();
    globalThis.addEventListener("resize", place);
    const observer = new ResizeObserver(place);
    if (props.anchor.current) observer.observe(props.anchor.current);
    return () => {
      globalThis.removeEventListener("resize", place);
      observer.disconnect();
    };
  }, []);
  return (
    <div
      class="fixed right-2 z-30 flex w-[min(24rem,calc(100vw-1rem))] flex-col gap-2 rounded-xl border border-slate-300 bg-white p-2 shadow-lg dark:border-slate-600 dark:bg-slate-900"
      style={{ bottom: `${bottom}px` }}
    >
      {props.children}
    </div>
  );
}

function RecordingRow(props: { phase: "starting" | "recording" | "finishing" }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const model = uploadsModel(app);
  return (
    <div
      class="flex items-center gap-2 p-1"
      role="group"
      aria-label={i18n.t("files.voice.recording")}
    >
      <span aria-hidden="true" class="h-3 w-3 shrink-0 animate-pulse rounded-full bg-red-600" />
      <span class="flex-1 text-sm">
        {props.phase === "finishing"
          ? i18n.t("files.voice.preparing")
          : <span role="timer" class="tabular-nums">{formatDuration(model.elapsedMs.value)}</span>}
      </span>
      <button
        type="button"
        class={SMALL_BUTTON}
        disabled={props.phase === "finishing"}
        onClick={() => model.cancelRecording()}
      >
        {i18n.t("files.voice.cancel")}
      </button>
      <button
        type="button"
        class="inline-flex min-h-9 items-center gap-1 rounded-md bg-sky-700 px-3 py-1 text-sm font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-60"
        disabled={props.phase !== "recording"}
        onClick={() => void model.finishRecording()}
      >
        <Icon name="send" class="h-4 w-4" />
        {i18n.t("files.voice.send")}
      </button>
    </div>
  );
}

const STAGE_KEYS = {
  preparing: "files.upload.preparing",
  encrypting: "files.upload.encrypting",
  uploading: "files.upload.uploading",
  sending: "files.upload.sending",
} as const;

function UploadRow(props: { upload: PendingUpload }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const model = uploadsModel(app);
  const { upload } = props;
  const stage = upload.stage.value;
  const problem = upload.problem.value;
  const percent = Math.round(upload.progress.value * 100);
  const percentText = formatPercent(i18n.locale.value, percent / 100);
  return (
    <li class="flex flex-col gap-1 p-1">
      <div class="flex items-center gap-2">
        <Icon name="file" class="h-5 w-5 shrink-0 text-slate-600 dark:text-slate-300" />
        <span class="min-w-0 flex-1 truncate text-sm font-semibold">{upload.name}</span>
        {stage === "failed"
          ? (
            <>
              <button type="button" class={SMALL_BUTTON} onClick={() => model.retry(upload)}>
                {i18n.t("files.upload.retry")}
              </button>
              <button
                type="button"
                class={ICON_BUTTON}
                aria-label={i18n.t("files.upload.dismiss")}
                onClick={() => model.dismiss(upload)}
              >
                <Icon name="close" />
              </button>
            </>
          )
          : (
            <button
              type="button"
              class={ICON_BUTTON}
              aria-label={i18n.t("files.upload.cancel")}
              title={i18n.t("files.upload.cancel")}
              onClick={() => model.cancel(upload)}
            >
              <Icon name="close" />
            </button>
          )}
      </div>
      {stage === "failed"
        ? (
          <p role="alert" class="text-sm text-red-800 dark:text-red-300">
            {problem ? i18n.t(problem.key, problem.params) : ""}
          </p>
        )
        : (
          <div class="flex items-center gap-2">
            <div
              role="progressbar"
              aria-label={i18n.t("files.upload.label", { name: upload.name })}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={stage === "uploading" ? percent : undefined}
              aria-valuetext={stage === "uploading" ? percentText : i18n.t(STAGE_KEYS[stage])}
              class="h-2 flex-1 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
            >
              <div
                class={`h-full rounded-full bg-sky-700 transition-[width] dark:bg-sky-400 ${
                  stage === "uploading" ? "" : "animate-pulse"
                }`}
                style={{ width: `${stage === "uploading" ? percent : 100}%` }}
              />
            </div>
            <span class="w-24 shrink-0 text-right text-xs text-slate-700 dark:text-slate-200">
              {stage === "uploading" ? percentText : i18n.t(STAGE_KEYS[stage])}
            </span>
          </div>
        )}
    </li>
  );
}
