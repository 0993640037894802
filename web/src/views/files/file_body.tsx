/** @jsxImportSource preact */
/**
 * An image, video, audio, voice or file message in the timeline. Media are fetched with the
 * access token (authenticated media) and decrypted here when the event carries an
 * `EncryptedFile`; what is shown comes from object URLs that go with the component.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { fitInside } from "../../matrix/file_info.ts";
import { loadMedia, saveBlob } from "../../matrix/media.ts";
import { formatBytes } from "../../state/uploads.ts";
import { useApp } from "../context.ts";
import { Icon, ICON_BUTTON, PlayIcon, SMALL_BUTTON } from "./file_icons.tsx";
import { type FileContent, problemKey, readFileContent, useMedia } from "./use_media.ts";
import { VoicePlayer } from "./voice_player.tsx";
import type { MessageKey } from "../../i18n/index.ts";

/** Previews fit in this box. */
const PREVIEW_BOX = { width: 320, height: 240 };
/** The server thumbnail asked for when an unencrypted image has none of its own. */
const SERVER_THUMBNAIL = { width: 640, height: 480 };

/** An image, video, audio, voice or file message in the timeline. */
export function FileBody(props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  const app = useApp();
  const client = app.session.clientReady.value;
  const content = props.event.getContent() as Record<string, unknown>;
  const file = readFileContent(content);
  const media = mediaBody(client, content, file);
  // A caption: `body` differs from a given `filename` (media captions, spec v1.10).
  const caption = typeof content.filename === "string" && content.filename &&
      typeof content.body === "string" && content.body && content.body !== content.filename
    ? content.body
    : null;
  if (!media || !caption) return media;
  return (
    <div class="flex flex-col gap-1">
      {media}
      <p class="whitespace-pre-wrap break-words">{caption}</p>
    </div>
  );
}

function mediaBody(
  client: MatrixClient | null,
  content: Record<string, unknown>,
  file: FileContent,
): JSX.Element | null {
  const msgtype = content.msgtype;
  if (msgtype === "m.audio" && content["org.matrix.msc3245.voice"] !== undefined) {
    return <VoicePlayer client={client} content={content} file={file} />;
  }
  switch (msgtype) {
    case "m.image":
      return <ImageBody client={client} file={file} />;
    case "m.video":
      return <VideoBody client={client} file={file} />;
    case "m.audio":
      return <AudioBody client={client} file={file} />;
    case "m.file":
      return <FileCard client={client} file={file} />;
    default:
      return null;
  }
}

function previewSize(file: FileContent): { width: number; height: number } {
  const w = file.w ?? file.thumbnailSize?.w;
  const h = file.h ?? file.thumbnailSize?.h;
  return w && h ? fitInside(w, h, PREVIEW_BOX) : { width: 240, height: 180 };
}

/** What shows a preview of an image or a video poster. */
function previewSource(file: FileContent) {
  if (file.thumbnail) {
    return {
      source: file.thumbnail,
      options: { mimetype: file.thumbnailMimetype ?? "image/jpeg" },
    };
  }
  if (file.source?.url) return { source: file.source, options: { thumbnail: SERVER_THUMBNAIL } };
  return null;
}

function ImageBody(props: { client: MatrixClient | null; file: FileContent }): JSX.Element {
  const { i18n } = useApp();
  const { file } = props;
  const [open, setOpen] = useState(false);
  const preview = previewSource(file);
  // An encrypted image without a thumbnail previews from the file itself.
  const previewMedia = useMedia(
    props.client,
    preview?.source ?? file.source,
    preview?.options ?? { mimetype: file.mimetype },
  );
  const size = previewSize(file);
  return (
    <div class="flex flex-col items-start gap-1">
      <button
        type="button"
        class="block max-w-full overflow-hidden rounded-lg bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:bg-slate-800"
        style={{ width: `${size.width}px`, aspectRatio: `${size.width} / ${size.height}` }}
        aria-label={i18n.t("files.openImage", { name: file.name })}
        aria-busy={previewMedia.loading}
        onClick={() => setOpen(true)}
      >
        {previewMedia.url && (
          <img
            src={previewMedia.url}
            alt={file.name}
            width={size.width}
            height={size.height}
            class="h-full w-full object-cover"
          />
        )}
      </button>
      {previewMedia.problem && (
        <LoadProblem problem={previewMedia.problem} retry={previewMedia.retry} />
      )}
      {open && <ImageDialog client={props.client} file={file} onClose={() => setOpen(false)} />}
    </div>
  );
}

function ImageDialog(props: {
  client: MatrixClient | null;
  file: FileContent;
  onClose: () => void;
}): JSX.Element {
  const { i18n } = useApp();
  const { file } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const media = useMedia(props.client, file.source, { mimetype: file.mimetype });
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      class="m-auto max-h-[95dvh] max-w-[95vw] rounded-lg bg-white p-3 text-slate-900 backdrop:bg-black/70 dark:bg-slate-900 dark:text-slate-100"
      onClose={props.onClose}
    >
      <div class="mb-2 flex items-center gap-2">
        <h2 id={titleId} class="min-w-0 flex-1 truncate text-sm font-semibold">{file.name}</h2>
        <DownloadButton client={props.client} file={file} />
        <button
          type="button"
          class={ICON_BUTTON}
          aria-label={i18n.t("files.close")}
          onClick={() => ref.current?.close()}
        >
          <Icon name="close" />
        </button>
      </div>
      {media.url
        ? (
          <img
            src={media.url}
            alt={file.name}
            class="max-h-[80dvh] max-w-full object-contain"
          />
        )
        : media.problem
        ? <LoadProblem problem={media.problem} retry={media.retry} />
        : <p class="p-8 text-sm">{i18n.t("files.loading")}</p>}
    </dialog>
  );
}

function VideoBody(props: { client: MatrixClient | null; file: FileContent }): JSX.Element {
  const { i18n } = useApp();
  const { file } = props;
  const [wanted, setWanted] = useState(false);
  const poster = useMedia(props.client, file.thumbnail, {
    mimetype: file.thumbnailMimetype ?? "image/jpeg",
  });
  const video = useMedia(props.client, file.source, {
    mimetype: file.mimetype,
    enabled: wanted,
  });
  const size = previewSize(file);
  const box = { width: `${size.width}px`, aspectRatio: `${size.width} / ${size.height}` };
  return (
    <div class="flex flex-col items-start gap-1">
      {video.url
        ? (
          <video
            src={video.url}
            poster={poster.url ?? undefined}
            controls
            autoPlay
            playsInline
            class="max-w-full rounded-lg bg-black"
            style={box}
            aria-label={file.name}
          />
        )
        : (
          <button
            type="button"
            class="relative block max-w-full overflow-hidden rounded-lg bg-slate-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
            style={box}
            aria-label={i18n.t("files.playVideo", { name: file.name })}
            aria-busy={video.loading}
            onClick={() => {
              if (video.problem) video.retry();
              setWanted(true);
            }}
          >
            {poster.url && <img src={poster.url} alt="" class="h-full w-full object-cover" />}
            <span class="absolute inset-0 m-auto flex h-14 w-14 items-center justify-center rounded-full bg-black/60 text-white">
              <PlayIcon playing={false} class="h-7 w-7" />
            </span>
          </button>
        )}
      {video.problem && <LoadProblem problem={video.problem} retry={video.retry} />}
      <FileLine client={props.client} file={file} />
    </div>
  );
}

function AudioBody(props: { client: MatrixClient | null; file: FileContent }): JSX.Element {
  const { i18n } = useApp();
  const { file } = props;
  const [wanted, setWanted] = useState(false);
  const audio = useMedia(props.client, file.source, { mimetype: file.mimetype, enabled: wanted });
  return (
    <div class="flex w-full max-w-80 flex-col gap-2 rounded-2xl bg-slate-100 p-2 dark:bg-slate-800">
      {audio.url
        ? <audio src={audio.url} controls autoPlay class="w-full" aria-label={file.name} />
        : (
          <button
            type="button"
            class={`${SMALL_BUTTON} self-start`}
            aria-label={i18n.t("files.playAudio", { name: file.name })}
            aria-busy={audio.loading}
            onClick={() => {
              if (audio.problem) audio.retry();
              setWanted(true);
            }}
          >
            <PlayIcon playing={false} class="h-4 w-4" />
            {audio.loading ? i18n.t("files.loading") : file.name}
          </button>
        )}
      {audio.problem && <LoadProblem problem={audio.problem} retry={audio.retry} />}
      <FileLine client={props.client} file={file} />
    </div>
  );
}

function FileCard(props: { client: MatrixClient | null; file: FileContent }): JSX.Element {
  return (
    <div class="flex w-full max-w-80 items-center gap-3 rounded-2xl bg-slate-100 p-3 dark:bg-slate-800">
      <Icon name="file" class="h-8 w-8 shrink-0 text-slate-600 dark:text-slate-300" />
      <FileLine client={props.client} file={props.file} />
    </div>
  );
}

/** The file's name and size, and its download button. */
function FileLine(props: { client: MatrixClient | null; file: FileContent }): JSX.Element {
  const { i18n } = useApp();
  const { file } = props;
  const nameId = useId();
  return (
    <div class="flex min-w-0 flex-1 flex-wrap items-center gap-2">
      <div class="min-w-0 flex-1">
        <p id={nameId} class="truncate text-sm font-semibold">{file.name}</p>
        {file.size !== undefined && (
          <p class="text-xs text-slate-600 dark:text-slate-300">
            {formatBytes(i18n.locale.value, file.size)}
          </p>
        )}
      </div>
      <DownloadButton client={props.client} file={file} describedBy={nameId} />
    </div>
  );
}

/** Downloads (and decrypts) the file and saves it under its original name. */
function DownloadButton(props: {
  client: MatrixClient | null;
  file: FileContent;
  describedBy?: string;
}): JSX.Element | null {
  const { i18n } = useApp();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<MessageKey | null>(null);
  const { client, file } = props;
  if (!file.source) return null;
  const download = async () => {
    if (!client || !file.source || busy) return;
    setBusy(true);
    setProblem(null);
    try {
      const blob = await loadMedia(client, file.source, { mimetype: file.mimetype });
      saveBlob(blob, file.name || "file");
    } catch (err) {
      console.warn("gemeng: download failed", err);
      setProblem(problemKey(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={SMALL_BUTTON}
        aria-describedby={props.describedBy}
        aria-busy={busy}
        disabled={busy}
        onClick={() => void download()}
      >
        <Icon name="download" class="h-4 w-4" />
        {i18n.t("files.download")}
      </button>
      {problem && (
        <p role="alert" class="w-full text-sm text-red-800 dark:text-red-300">{i18n.t(problem)}</p>
      )}
    </>
  );
}

function LoadProblem(props: { problem: MessageKey; retry: () => void }): JSX.Element {
  const { i18n } = useApp();
  return (
    <div role="alert" class="flex items-center gap-2 text-sm text-red-800 dark:text-red-300">
      <span>{i18n.t(props.problem)}</span>
      {props.problem !== "files.altered" && (
        <button type="button" class={SMALL_BUTTON} onClick={props.retry}>
          {i18n.t("files.retry")}
        </button>
      )}
    </div>
  );
}
