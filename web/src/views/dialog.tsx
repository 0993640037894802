/** @jsxImportSource preact */
/**
 * The app's one modal dialog: labelled by its title, focus moves in as soon as it opens (to the
 * element marked `data-autofocus`, else the first control) and back where it was when it
 * closes, Tab stays inside, focus that wanders out comes back, and Escape closes it. Dialogs
 * stack (a confirmation over the room settings, a verification over anything): only the
 * topmost one answers the keyboard.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useLayoutEffect, useRef } from "preact/hooks";

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
  /** The id of the element that describes the dialog. */
  describedBy?: string;
  /** Room for lists (the room settings). */
  wide?: boolean;
  /**
   * Changes when the content is replaced (a new step): focus, if it was lost with the old
   * content, moves to the new content's first control.
   */
  focusKey?: string;
}

function firstControl(panel: HTMLElement): HTMLElement {
  return panel.querySelector<HTMLElement>("[data-autofocus]:not([disabled])") ??
    panel.querySelector<HTMLElement>(FOCUSABLE) ?? panel;
}

/** A modal dialog. */
export function Dialog(props: DialogProps): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;

  // A layout effect: focus is inside before the dialog is first painted, so neither a fast
  // typist nor a screen reader meets the control that opened it.
  useLayoutEffect(() => {
    const panel = ref.current!;
    const before = document.activeElement as HTMLElement | null;
    stack.push(panel);
    firstControl(panel).focus();
    const onKey = (event: KeyboardEvent) => {
      if (stack[stack.length - 1] !== panel) return;
      if (event.key === "Escape" && onClose.current) {
        event.preventDefault();
        event.stopPropagation();
        onClose.current();
      } else if (event.key === "Tab") {
        const items = [...panel.querySelectorAll<HTMLElement>(FOCUSABLE)]
          .filter((item) => item.getClientRects().length > 0);
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
    // Focus that leaves the dialog (a click on the backdrop, a removed control) comes back.
    const onFocus = (event: FocusEvent) => {
      if (stack[stack.length - 1] !== panel) return;
      if (event.target instanceof Node && !panel.contains(event.target)) {
        firstControl(panel).focus();
      }
    };
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("focusin", onFocus, true);
    return () => {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("focusin", onFocus, true);
      stack.splice(stack.indexOf(panel), 1);
      if (before && document.contains(before)) before.focus();
    };
  }, []);

  useEffect(() => {
    const panel = ref.current;
    if (!panel || panel.contains(document.activeElement)) return;
    firstControl(panel).focus();
  }, [props.focusKey]);

  return (
    <div class="fixed inset-0 z-40 flex items-center justify-center bg-slate-950/60 p-2 sm:p-4">
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={props.describedBy}
        tabIndex={-1}
        class={`flex max-h-[92dvh] w-full flex-col gap-4 overflow-y-auto rounded-xl border border-slate-300 bg-white p-4 text-slate-900 shadow-xl outline-none sm:p-5 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100 ${
          props.wide ? "max-w-2xl" : "max-w-md"
        }`}
      >
        <h2 id={titleId} class="text-lg font-bold">{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}
