/** @jsxImportSource preact */
/**
 * A modal dialog for the security screens: labelled by its title, focus moves into it when it
 * opens (to the element marked `data-autofocus`, else the first control) and back where it was
 * when it closes, Tab stays inside, and Escape closes it. Only the topmost open dialog listens.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

const FOCUSABLE =
  'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The open dialogs, innermost last. */
const stack: HTMLElement[] = [];

/** Props of {@link Dialog}. */
export interface DialogProps {
  title: string;
  children: ComponentChildren;
  /** Escape (and the caller's close buttons) call this; absent: Escape does nothing. */
  onClose?: () => void;
  /** An id for the element that describes the dialog. */
  describedBy?: string;
  /**
   * Changes when the content is replaced (a new step): focus, if it was lost with the old
   * content, moves to the new content's first control.
   */
  focusKey?: string;
}

/** A modal dialog. */
export function Dialog(props: DialogProps): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;

  useEffect(() => {
    const panel = ref.current!;
    const before = document.activeElement as HTMLElement | null;
    stack.push(panel);
    const target = panel.querySelector<HTMLElement>("[data-autofocus]") ??
      panel.querySelector<HTMLElement>(FOCUSABLE) ?? panel;
    target.focus();
    const onKey = (event: KeyboardEvent) => {
      if (stack[stack.length - 1] !== panel) return;
      if (event.key === "Escape" && onClose.current) {
        event.preventDefault();
        event.stopPropagation();
        onClose.current();
      } else if (event.key === "Tab") {
        const items = [...panel.querySelectorAll<HTMLElement>(FOCUSABLE)];
        if (items.length === 0) return event.preventDefault();
        const first = items[0];
        const last = items[items.length - 1];
        const active = document.activeElement;
        if (event.shiftKey && (active === first || !panel.contains(active))) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && (active === last || !panel.contains(active))) {
          event.preventDefault();
          first.focus();
        }
      }
    };
    document.addEventListener("keydown", onKey, true);
    return () => {
      document.removeEventListener("keydown", onKey, true);
      stack.splice(stack.indexOf(panel), 1);
      if (before && document.contains(before)) before.focus();
    };
  }, []);

  useEffect(() => {
    const panel = ref.current;
    if (!panel || panel.contains(document.activeElement)) return;
    (panel.querySelector<HTMLElement>("[data-autofocus]") ??
      panel.querySelector<HTMLElement>(FOCUSABLE) ?? panel).focus();
  }, [props.focusKey]);

  return (
    <div class="fixed inset-0 z-40 flex items-center justify-center bg-slate-950/60 p-4">
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={props.describedBy}
        tabIndex={-1}
        class="flex max-h-[90dvh] w-full max-w-md flex-col gap-4 overflow-y-auto rounded-xl border border-slate-300 bg-white p-5 text-slate-900 shadow-xl outline-none dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
      >
        <h2 id={titleId} class="text-lg font-bold">{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}
