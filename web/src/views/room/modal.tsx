/** @jsxImportSource preact */
/**
 * The timeline's modal dialogs, on the browser's own `<dialog>` (`showModal()`: the page behind
 * is inert, focus moves in and returns when it closes, Escape asks the owner to close), and the
 * delete confirmation built on it.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";

/** A modal dialog, open while it is rendered. */
export function RoomModal(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  alert?: boolean;
  describedBy?: string;
}): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      role={props.alert ? "alertdialog" : undefined}
      aria-labelledby={titleId}
      aria-describedby={props.describedBy}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
      class="pointer-events-auto m-auto max-h-[calc(100dvh-1rem)] w-[calc(100vw-1rem)] max-w-lg overflow-y-auto rounded-xl border border-slate-300 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/60 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
    >
      <div class="flex flex-col gap-4 p-4 sm:p-5">
        <h2 id={titleId} class="text-lg font-bold">{props.title}</h2>
        {props.children}
      </div>
    </dialog>
  );
}

/** Asks before deleting a message. */
export function ConfirmDelete(props: { onConfirm: () => void; onClose: () => void }): JSX.Element {
  const { i18n } = useApp();
  const bodyId = useId();
  return (
    <RoomModal
      title={i18n.t("timeline.delete.title")}
      onClose={props.onClose}
      alert
      describedBy={bodyId}
    >
      <p id={bodyId}>{i18n.t("timeline.delete.body")}</p>
      <div class="flex flex-wrap justify-end gap-2">
        <Button variant="quiet" onClick={props.onClose}>{i18n.t("timeline.delete.cancel")}</Button>
        <Button
          onClick={() => {
            props.onConfirm();
            props.onClose();
          }}
        >
          {i18n.t("timeline.delete.confirm")}
        </Button>
      </div>
    </RoomModal>
  );
}
