/** @jsxImportSource preact */
/**
 * A room's files panel: its images and videos as a grid of thumbnails, its documents and audio
 * as a list (name, size, sender, date, download), on two tabs, newest first, older ones read
 * as the reader scrolls down. Beside the timeline on wide screens, over the whole screen on
 * phones, like the thread panel.
 *
 * Loaded as its own chunk when the panel first opens. Like file_preview.tsx it takes what it
 * shares with the first screen (media loading and decryption, formats, icons) as props and
 * imports only preact, signals and the app context, so no module of the first screen moves into
 * a chunk of its own.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useMemo, useRef, useState } from "preact/hooks";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { type GalleryKey, galleryText } from "../../i18n/gallery.ts";
import type { MessageParams } from "../../i18n/index.ts";
import type { LoadMediaOptions, MediaSource } from "../../matrix/media.ts";
import { type FileGroup, type RoomFile, RoomFiles } from "../../state/room_files.ts";
import { useApp } from "../context.ts";
import type { FileContent, MediaState } from "./use_media.ts";

/** What the panel borrows from the first screen's modules. */
export interface GalleryTools {
  /** use_media.ts's reader of a file message's content. */
  read: (content: Record<string, unknown>) => FileContent;
  /** use_media.ts's hook: a file as an object URL, decrypted when encrypted. */
  useMedia: (
    client: MatrixClient | null,
    source: MediaSource | null,
    options?: LoadMediaOptions & { enabled?: boolean },
  ) => MediaState;
  /** media.ts's loader and saver, for downloads. */
  loadMedia: (client: MatrixClient, source: MediaSource, options?: LoadMediaOptions) => Promise<
    Blob
  >;
  saveBlob: (blob: Blob, name: string) => void;
  /** A byte count and a date in the user's language. */
  format: { bytes: (n: number) => string; date: (ts: number) => string };
  icons: { file: ComponentChildren; download: ComponentChildren; play: ComponentChildren };
  /** The app's small text button class. */
  buttonClass: string;
}

/** Props of {@link RoomGallery}. */
export interface RoomGalleryProps {
  client: MatrixClient;
  room: Room;
  tools: GalleryTools;
  onClose: () => void;
}

/** Server thumbnails asked for the grid (plain `mxc://` images). */
const GRID_THUMBNAIL = { width: 320, height: 320 };

type Text = (key: GalleryKey, params?: MessageParams) => string;

function useText(): Text {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return (key, params) => galleryText(locale, key, params);
}

/** The files panel of `room`. */
export function RoomGallery(props: RoomGalleryProps): JSX.Element {
  const t = useText();
  const ids = useId();
  const files = useMemo(() => new RoomFiles(props.client, props.room), [props.room]);
  const [tab, setTab] = useState<FileGroup>("media");
  const [viewing, setViewing] = useState<MatrixEvent | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
    const unfollow = files.follow();
    void files.loadOlder();
    return unfollow;
  }, [files]);
  useEffect(() => {
    const target = sentinel.current;
    if (!target) return;
    // Reaching the bottom reads older history; a load that leaves it in view stops there.
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void files.loadOlder();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [files, tab]);
  const shown = files.files.value.filter((file) => file.group === tab);
  const tabs: [FileGroup, GalleryKey][] = [["media", "gallery.media"], [
    "documents",
    "gallery.documents",
  ]];
  const onTabKey = (event: KeyboardEvent) => {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    event.preventDefault();
    const next: FileGroup = event.key === "Home"
      ? "media"
      : event.key === "End"
      ? "documents"
      : tab === "media"
      ? "documents"
      : "media";
    setTab(next);
    document.getElementById(`${ids}-tab-${next}`)?.focus();
  };
  return (
    <aside
      aria-labelledby={`${ids}-title`}
      data-files-panel
      class="fixed inset-0 z-30 flex flex-col bg-white md:static md:z-auto md:w-96 md:shrink-0 md:border-l md:border-slate-300 dark:bg-slate-950 md:dark:border-slate-700"
      onKeyDown={(event) => {
        const inner = (event.target as Element).closest("dialog");
        if (event.key === "Escape" && !event.defaultPrevented && !inner) {
          event.preventDefault();
          props.onClose();
        }
      }}
    >
      <div class="flex items-center gap-2 border-b border-slate-300 px-4 py-2 dark:border-slate-700">
        <h2
          id={`${ids}-title`}
          ref={heading}
          tabIndex={-1}
          class="flex-1 text-base font-bold outline-none"
        >
          {t("gallery.title")}
        </h2>
        <button
          type="button"
          class="rounded-md p-2 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700"
          aria-label={t("gallery.close")}
          onClick={props.onClose}
        >
          <svg viewBox="0 0 24 24" class="h-5 w-5" aria-hidden="true" fill="none">
            <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" />
          </svg>
        </button>
      </div>
      <div
        role="tablist"
        aria-label={t("gallery.kinds")}
        class="flex gap-1 border-b border-slate-300 px-2 dark:border-slate-700"
        onKeyDown={onTabKey}
      >
        {tabs.map(([id, label]) => (
          <button
            key={id}
            id={`${ids}-tab-${id}`}
            type="button"
            role="tab"
            aria-selected={tab === id}
            aria-controls={`${ids}-panel`}
            tabIndex={tab === id ? 0 : -1}
            class={`-mb-px min-h-11 flex-1 border-b-2 px-2 text-sm font-semibold focus-visible:outline-2 focus-visible:outline-sky-600 ${
              tab === id
                ? "border-sky-700 text-sky-800 dark:border-sky-400 dark:text-sky-200"
                : "border-transparent text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
            }`}
            onClick={() => setTab(id)}
          >
            {t(label)}
          </button>
        ))}
      </div>
      <div
        id={`${ids}-panel`}
        role="tabpanel"
        aria-labelledby={`${ids}-tab-${tab}`}
        class="min-h-0 flex-1 overflow-y-auto p-2"
      >
        {tab === "media"
          ? (
            <MediaGrid
              files={shown}
              tools={props.tools}
              client={props.client}
              onOpen={setViewing}
            />
          )
          : (
            <DocumentList
              files={shown}
              tools={props.tools}
              client={props.client}
              room={props.room}
            />
          )}
        <div ref={sentinel} class="h-px" />
        <PanelStatus files={files} empty={shown.length === 0} tab={tab} t={t} />
      </div>
      {viewing && (
        <Viewer
          event={viewing}
          client={props.client}
          tools={props.tools}
          onClose={() => setViewing(null)}
        />
      )}
    </aside>
  );
}

function PanelStatus(
  props: { files: RoomFiles; empty: boolean; tab: FileGroup; t: Text },
): JSX.Element {
  const { files, t } = props;
  const loading = files.loading.value;
  let text = "";
  if (loading) text = t("gallery.loading");
  else if (files.complete.value && props.empty) {
    text = t(props.tab === "media" ? "gallery.emptyMedia" : "gallery.emptyDocuments");
  } else if (files.complete.value) text = t("gallery.start");
  return (
    <div class="flex flex-col items-center gap-2 p-3 text-center text-sm">
      <p role="status" class="text-slate-600 empty:hidden dark:text-slate-300">{text}</p>
      {files.failed.value && (
        <p role="alert" class="text-red-800 dark:text-red-300">{t("gallery.failed")}</p>
      )}
      {!loading && !files.complete.value && (
        <button
          type="button"
          class="rounded-md border border-slate-400 px-3 py-1.5 font-semibold hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:hover:bg-slate-800"
          onClick={() => void files.loadOlder()}
        >
          {t(files.failed.value ? "gallery.retry" : "gallery.older")}
        </button>
      )}
    </div>
  );
}

/** What previews an image or a video in the grid, if anything can. */
function previewOf(
  file: FileContent,
  isImage: boolean,
): { source: MediaSource; options: LoadMediaOptions } | null {
  if (file.thumbnail) {
    return {
      source: file.thumbnail,
      options: { mimetype: file.thumbnailMimetype ?? "image/jpeg" },
    };
  }
  if (file.source?.url) {
    return { source: file.source, options: isImage ? { thumbnail: GRID_THUMBNAIL } : {} };
  }
  // An encrypted image without a thumbnail previews from the file itself.
  if (isImage && file.source) return { source: file.source, options: { mimetype: file.mimetype } };
  return null;
}

function MediaGrid(props: {
  files: readonly RoomFile[];
  tools: GalleryTools;
  client: MatrixClient;
  onOpen: (event: MatrixEvent) => void;
}): JSX.Element {
  return (
    <ul class="grid grid-cols-3 gap-1 sm:grid-cols-4 md:grid-cols-3" data-gallery-media>
      {props.files.map((file) => (
        <li key={file.event.getId()}>
          <Thumbnail
            event={file.event}
            tools={props.tools}
            client={props.client}
            onOpen={props.onOpen}
          />
        </li>
      ))}
    </ul>
  );
}

function Thumbnail(props: {
  event: MatrixEvent;
  tools: GalleryTools;
  client: MatrixClient;
  onOpen: (event: MatrixEvent) => void;
}): JSX.Element {
  const t = useText();
  const content = props.event.getContent() as Record<string, unknown>;
  const file = props.tools.read(content);
  const isImage = content.msgtype === "m.image";
  // Plain videos have no server thumbnail: only a sent one previews them.
  const preview = previewOf(file, isImage);
  const usable = preview && (isImage || preview.source !== file.source) ? preview : null;
  const media = props.tools.useMedia(props.client, usable?.source ?? null, usable?.options);
  return (
    <button
      type="button"
      class="relative block aspect-square w-full overflow-hidden rounded-md bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:bg-slate-800"
      aria-label={t("gallery.open", { name: file.name })}
      aria-busy={media.loading}
      data-msgtype={content.msgtype as string}
      onClick={() => props.onOpen(props.event)}
    >
      {media.url && <img src={media.url} alt="" class="h-full w-full object-cover" />}
      {!media.url && (
        <span class="absolute inset-x-1 bottom-1 truncate text-xs text-slate-700 dark:text-slate-200">
          {file.name}
        </span>
      )}
      {!isImage && (
        <span class="absolute inset-0 m-auto flex h-10 w-10 items-center justify-center rounded-full bg-black/60 text-white">
          {props.tools.icons.play}
        </span>
      )}
    </button>
  );
}

function DocumentList(props: {
  files: readonly RoomFile[];
  tools: GalleryTools;
  client: MatrixClient;
  room: Room;
}): JSX.Element {
  return (
    <ul class="flex flex-col gap-1" data-gallery-documents>
      {props.files.map((file) => (
        <DocumentRow
          key={file.event.getId()}
          event={file.event}
          tools={props.tools}
          client={props.client}
          room={props.room}
        />
      ))}
    </ul>
  );
}

function DocumentRow(props: {
  event: MatrixEvent;
  tools: GalleryTools;
  client: MatrixClient;
  room: Room;
}): JSX.Element {
  const { tools, event } = props;
  const file = tools.read(event.getContent() as Record<string, unknown>);
  const sender = event.getSender() ?? "";
  const senderName = props.room.getMember(sender)?.name ?? sender;
  const meta = [
    file.size !== undefined ? tools.format.bytes(file.size) : "",
    senderName,
    tools.format.date(event.getTs()),
  ].filter(Boolean).join(" · ");
  const nameId = useId();
  return (
    <li class="flex items-center gap-3 rounded-md border border-slate-300 p-2 dark:border-slate-700">
      <span class="shrink-0 text-slate-600 dark:text-slate-300">{tools.icons.file}</span>
      <div class="min-w-0 flex-1">
        <p id={nameId} class="truncate text-sm font-semibold">{file.name}</p>
        <p class="truncate text-xs text-slate-600 dark:text-slate-300">{meta}</p>
      </div>
      <DownloadButton client={props.client} file={file} tools={tools} describedBy={nameId} />
    </li>
  );
}

function DownloadButton(props: {
  client: MatrixClient;
  file: FileContent;
  tools: GalleryTools;
  describedBy?: string;
}): JSX.Element | null {
  const t = useText();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const { file, tools } = props;
  const source = file.source;
  if (!source) return null;
  const download = async () => {
    // Not `disabled` while busy: that would drop the focus to the page.
    if (busy) return;
    setBusy(true);
    setFailed(false);
    try {
      const blob = await tools.loadMedia(props.client, source, { mimetype: file.mimetype });
      tools.saveBlob(blob, file.name || "file");
    } catch (err) {
      console.warn("gemeng: download failed", err);
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={tools.buttonClass}
        aria-label={t("gallery.downloadName", { name: file.name })}
        aria-busy={busy}
        onClick={() => void download()}
      >
        {tools.icons.download}
        <span class="sr-only sm:not-sr-only">{t("gallery.download")}</span>
      </button>
      {failed && (
        <p role="alert" class="text-xs text-red-800 dark:text-red-300">
          {t("gallery.mediaFailed")}
        </p>
      )}
    </>
  );
}

/** An image or a video at full size, in a modal `<dialog>`, with its download. */
function Viewer(props: {
  event: MatrixEvent;
  client: MatrixClient;
  tools: GalleryTools;
  onClose: () => void;
}): JSX.Element {
  const t = useText();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const content = props.event.getContent() as Record<string, unknown>;
  const file = props.tools.read(content);
  const media = props.tools.useMedia(props.client, file.source, { mimetype: file.mimetype });
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
        <h3 id={titleId} class="min-w-0 flex-1 truncate text-sm font-semibold">{file.name}</h3>
        <DownloadButton client={props.client} file={file} tools={props.tools} />
        <button
          type="button"
          class={props.tools.buttonClass}
          onClick={() => ref.current?.close()}
        >
          {t("gallery.closeViewer")}
        </button>
      </div>
      {media.url
        ? content.msgtype === "m.video"
          ? (
            <video
              src={media.url}
              controls
              autoPlay
              playsInline
              aria-label={file.name}
              class="max-h-[80dvh] max-w-full bg-black"
            />
          )
          : <img src={media.url} alt={file.name} class="max-h-[80dvh] max-w-full object-contain" />
        : media.problem
        ? (
          <p role="alert" class="p-8 text-sm text-red-800 dark:text-red-300">
            {t("gallery.mediaFailed")}
          </p>
        )
        : <p role="status" class="p-8 text-sm">{t("gallery.loading")}</p>}
    </dialog>
  );
}
