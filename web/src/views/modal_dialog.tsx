/** @jsxImportSource preact */
/**
 * A modal dialog on the browser's own `<dialog>`: opened with `showModal()`, so it sits in the
 * top layer above the room (also when opened from inside a message's toolbar), the rest of the
 * page is inert, focus moves in and comes back when it closes, and Escape asks the owner to
 * close it. Used by the timeline (edit history, delete confirmation), polls and location.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

/** Props of {@link ModalDialog}. */
export interface ModalDialogProps {
  title: string;
  /** Escape and the caller's close buttons call this; the owner then stops rendering it. */
  onClose: () => void;
  children: ComponentChildren;
  /** Wider panel (maps). */
  wide?: boolean;
  /** An alert dialog (a confirmation) rather than a form. */
  alert?: boolean;
  /** The id of the element that describes the dialog. */
  describedBy?: string;
}

/** A modal dialog, open while it is rendered. */
export function ModalDialog(props: ModalDialogProps): JSX.Element {
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
      class={`pointer-events-auto m-auto max-h-[calc(100dvh-1rem)] w-[calc(100vw-1rem)] overflow-y-auto rounded-xl border border-slate-300 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/60 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100 ${
        props.wide ? "max-w-xl" : "max-w-md"
      }`}
    >
      <div class="flex flex-col gap-4 p-4 sm:p-5">
        <h2 id={titleId} class="text-lg font-bold">{props.title}</h2>
        {props.children}
      </div>
    </dialog>
  );
}
