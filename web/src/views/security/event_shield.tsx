/** @jsxImportSource preact */
/**
 * A mark on a message that needs the reader's attention (see security_shields.ts for which).
 * Nothing for good messages and for unencrypted rooms. The mark is a button; it opens a short
 * explanation in plain words with a way out (verify, set up, which device), loaded on demand.
 *
 * @module
 */

import type { MatrixEvent, Room } from "matrix-js-sdk";
import type { JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { MessageKey } from "../../i18n/index.ts";
import { securityModel } from "../../state/security.ts";
import type { ShieldKind } from "../../state/security_shields.ts";
import { useApp } from "../context.ts";

const LABELS: Readonly<Record<ShieldKind, MessageKey>> = {
  waitingForKey: "security.shield.waitingForKey",
  unverifiedDevice: "security.shield.unverifiedDevice",
  unverifiedSender: "security.shield.unverifiedSender",
  notEncrypted: "security.shield.notEncrypted",
  authenticity: "security.shield.authenticity",
  identityChanged: "security.shield.identityChanged",
  mismatchedSender: "security.shield.mismatchedSender",
  problem: "security.shield.problem",
};

type DetailsModule = typeof import("./secure_lazy.ts");
let detailsLoad: Promise<DetailsModule> | null = null;

/** The explanation and the ways out, loaded when a mark is first opened. */
function useDetails(open: boolean): DetailsModule | null {
  const [module, setModule] = useState<DetailsModule | null>(null);
  useEffect(() => {
    if (!open || module) return;
    let live = true;
    detailsLoad ??= import("./secure_lazy.ts");
    detailsLoad.then((loaded) => live && setModule(loaded), () => detailsLoad = null);
    return () => {
      live = false;
    };
  }, [open]);
  return module;
}

/** A mark on a message whose sender, device or encryption needs the reader's attention. */
export function EventShield(props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  const app = useApp();
  const shield = securityModel(app).shields.shieldFor(props.event, props.room);
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const popoverId = useId();
  const details = useDetails(open);
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [open]);
  if (!shield) return null;
  const { i18n } = app;
  const label = i18n.t(LABELS[shield.kind]);
  const colour = shield.level === "warning"
    ? "text-red-700 dark:text-red-300"
    : "text-slate-600 dark:text-slate-300";
  return (
    <span class="relative inline-flex">
      <button
        ref={button}
        type="button"
        class={`inline-flex h-6 w-6 items-center justify-center rounded focus-visible:outline-2 focus-visible:outline-sky-600 ${colour}`}
        aria-label={label}
        title={label}
        aria-expanded={open}
        aria-controls={open ? popoverId : undefined}
        data-shield={shield.kind}
        onClick={() => setOpen(!open)}
      >
        <ShieldIcon kind={shield.kind} />
      </button>
      {open && (
        <div
          id={popoverId}
          role="group"
          aria-label={i18n.t("security.shield.details")}
          class="absolute top-7 left-0 z-30 flex w-64 max-w-[calc(100vw-2rem)] flex-col gap-2 rounded-md border border-slate-300 bg-white p-3 text-sm text-slate-900 shadow-lg dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100"
        >
          <p class="font-semibold">{label}</p>
          {details && <details.ShieldDetails shield={shield} onDone={() => setOpen(false)} />}
        </div>
      )}
    </span>
  );
}

function ShieldIcon(props: { kind: ShieldKind }): JSX.Element {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      class="h-4 w-4"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      {props.kind === "waitingForKey"
        ? (
          <>
            <circle cx="8" cy="15" r="4" />
            <path d="M10.8 12.2 19 4M16 7l3 3M14 9l2 2" />
          </>
        )
        : (
          <>
            <path d="M12 3 4 6v6c0 5 3.4 8.3 8 9 4.6-.7 8-4 8-9V6l-8-3z" />
            <path d="M12 8v5M12 16h.01" />
          </>
        )}
    </svg>
  );
}
