/** @jsxImportSource preact */
/**
 * The dialog between choosing files and sending them: each file with a thumbnail (images) or
 * its name and size, an optional caption, Send and Cancel. With several files the caption goes
 * with the first one only.
 *
 * Loaded as its own chunk the first time files are chosen. It takes what it needs from the app
 * as props and imports only what every chunk of the app imports (preact, its hooks and signals,
 * the app context): any other module shared with the first screen would be split into chunks
 * of its own, which compress worse and grow the first screen. For the same reason it opens its
 * own `<dialog>` (modal, in the top layer, Escape cancels) rather than using `modal_dialog.tsx`.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { type PreviewKey, previewText } from "../../i18n/file_preview.ts";
import { useApp } from "../context.ts";

/** Images larger than this are not decoded for a thumbnail (name and size only). */
const MAX_THUMBNAIL_BYTES = 20 * 1024 * 1024;

/** Props of {@link FilePreviewDialog}. */
export interface FilePreviewProps {
  files: readonly File[];
  /** The longest caption accepted. */
  maxCaption: number;
  /** A byte count and a number in the user's language. */
  format: { bytes: (n: number) => string; number: (n: number) => string };
  /** The app's icons, drawn by the caller. */
  icons: { file: ComponentChildren; send: ComponentChildren };
  /** The class of the Cancel button (the app's small button). */
  buttonClass: string;
  onSend: (caption: string) => void;
  onCancel: () => void;
}

/** The preview dialog of the files waiting to be sent. */
export function FilePreviewDialog(props: FilePreviewProps): JSX.Element {
  const locale = useApp().i18n.locale.value;
  const caption = useSignal("");
  const captionId = useId();
  const titleId = useId();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const t = (key: PreviewKey, params?: Record<string, string>) => previewText(locale, key, params);
  const several = props.files.length > 1;
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
      class="pointer-events-auto m-auto max-h-[calc(100dvh-1rem)] w-[calc(100vw-1rem)] max-w-md overflow-y-auto rounded-xl border border-slate-300 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/60 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
    >
      <form
        class="flex flex-col gap-4 p-4 sm:p-5"
        onSubmit={(event) => {
          event.preventDefault();
          props.onSend(caption.value);
        }}
      >
        <h2 id={titleId} class="text-lg font-bold">
          {several
            ? t("preview.titleMany", { count: props.format.number(props.files.length) })
            : t("preview.title")}
        </h2>
        <ul
          aria-label={t("preview.list")}
          class="flex max-h-80 flex-col gap-2 overflow-y-auto"
        >
          {props.files.map((file, index) => (
            <PreviewRow
              key={index}
              file={file}
              size={props.format.bytes(file.size)}
              alt={t("preview.thumbnail", { name: file.name || "file" })}
              icon={props.icons.file}
            />
          ))}
        </ul>
        <div class="flex flex-col gap-1">
          <label for={captionId} class="text-sm font-semibold">
            {t(several ? "preview.captionFirst" : "preview.caption")}
          </label>
          <textarea
            id={captionId}
            rows={2}
            maxLength={props.maxCaption}
            value={caption.value}
            onInput={(event) => caption.value = event.currentTarget.value}
            onKeyDown={(event) => {
              // Enter sends, as in the composer; Shift+Enter makes a new line.
              if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                props.onSend(caption.value);
              }
            }}
            class="rounded-md border border-slate-500 bg-white px-2 py-1 text-base text-slate-900 dark:border-slate-400 dark:bg-slate-800 dark:text-slate-100"
          />
        </div>
        <div class="flex justify-end gap-2">
          <button type="button" class={props.buttonClass} onClick={props.onCancel}>
            {t("preview.cancel")}
          </button>
          <button
            type="submit"
            class="inline-flex min-h-9 items-center gap-1 rounded-md bg-sky-700 px-3 py-1 text-sm font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
          >
            {props.icons.send}
            {t("preview.send")}
          </button>
        </div>
      </form>
    </dialog>
  );
}

function PreviewRow(
  props: { file: File; size: string; alt: string; icon: ComponentChildren },
): JSX.Element {
  const { file } = props;
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file.type.startsWith("image/") || file.size > MAX_THUMBNAIL_BYTES) return;
    const objectUrl = URL.createObjectURL(file);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [file]);
  return (
    <li class="flex items-center gap-3 rounded-lg border border-slate-200 p-2 dark:border-slate-700">
      {url
        ? (
          <img
            src={url}
            alt={props.alt}
            class="h-16 w-16 shrink-0 rounded-md object-cover"
            onError={() => setUrl(null)}
          />
        )
        : props.icon}
      <span class="flex min-w-0 flex-1 flex-col">
        <span class="truncate text-sm font-semibold">{file.name || "file"}</span>
        <span class="text-xs text-slate-700 dark:text-slate-200">{props.size}</span>
      </span>
    </li>
  );
}
