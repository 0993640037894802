/** @jsxImportSource preact */
type SasModule = typeof import("../../i18n/sas_emoji.ts");
/** The emoji names, a chunk of their own: only a verification needs them. */
const sasNames = signal<SasModule | null>(null);
let sasLoad: Promise<void> | null = null;

/** Starts loading the emoji names (from the first step of a verification on). */
function loadSasNames(): void {
  sasLoad ??= import("../../i18n/sas_emoji.ts").then((module) => {
    sasNames.value = module;
  }, (err) => {
    sasLoad = null;
    console.warn("gemeng: the emoji names did not load", err);
  });
}

/**
 * Incoming and running device or user verifications (emoji), over every signed-in screen.
 *
 * @module
 */

import type { JSX } from "preact";
import { signal } from "@preact/signals";
import { verificationModel, type VerificationView } from "../../state/verification.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";

/** Incoming and running device or user verifications (emoji), over every signed-in screen. */
export function VerificationOverlay(): JSX.Element | null {
  const app = useApp();
  const model = verificationModel(app);
  const view = model.view.value;
  if (!view) return null;
  const { i18n } = app;
  const close = () => void model.close();
  const escape = view.step === "incoming" ? () => void model.decline() : close;
  return (
    <Dialog title={i18n.t("security.verification.title")} onClose={escape} focusKey={view.step}>
      <div role="status" aria-live="polite" class="flex flex-col gap-3">
        <Body view={view} />
      </div>
      <Actions view={view} />
    </Dialog>
  );
}

function Body(props: { view: VerificationView }): JSX.Element {
  const { i18n } = useApp();
  const { view } = props;
  const p = (text: string) => <p class="text-sm">{text}</p>;
  loadSasNames();
  switch (view.step) {
    case "incoming":
      return p(
        view.self
          ? i18n.t("security.verification.incomingSelf", { device: view.deviceId ?? "" })
          : i18n.t("security.verification.incoming", { user: view.userId }),
      );
    case "waiting":
      return p(
        view.self
          ? i18n.t("security.verification.waitingSelf")
          : i18n.t("security.verification.waiting", { user: view.userId }),
      );
    case "starting":
      return p(i18n.t("security.verification.starting"));
    case "compare":
      // The emoji come with their names or not at all: both people read the same list.
      if (!sasNames.value) return p(i18n.t("security.verification.starting"));
      return (
        <>
          {p(i18n.t("security.verification.compare"))}
          <ol
            aria-label={i18n.t("security.verification.emojiList")}
            class="grid grid-cols-4 gap-2 sm:grid-cols-7"
          >
            {view.emoji.map(([emoji, name], index) => (
              <li
                key={index}
                class="flex flex-col items-center gap-1 rounded-md bg-slate-100 p-2 text-center dark:bg-slate-800"
                data-sas-emoji={emoji}
              >
                <span
                  aria-hidden="true"
                  class="font-[Noto_Color_Emoji,Apple_Color_Emoji,Segoe_UI_Emoji,sans-serif] text-3xl leading-none"
                >
                  {emoji}
                </span>
                <span class="text-xs font-medium break-words">
                  {sasNames.value?.sasEmojiName(name, i18n.locale.value)}
                </span>
              </li>
            ))}
          </ol>
          {view.confirming && p(i18n.t("security.verification.confirming"))}
        </>
      );
    case "done":
      return (
        <p class="text-sm font-semibold text-green-800 dark:text-green-300">
          {view.self
            ? i18n.t("security.verification.doneSelf")
            : i18n.t("security.verification.done", { user: view.userId })}
        </p>
      );
    case "cancelled":
      return p(
        i18n.t(
          view.reason === "mismatch"
            ? "security.verification.mismatch"
            : view.reason === "timeout"
            ? "security.verification.timedOut"
            : "security.verification.cancelled",
        ),
      );
    case "failed":
      return (
        <p class="text-sm text-red-800 dark:text-red-200">{i18n.t(view.problem, view.params)}</p>
      );
  }
}

function Actions(props: { view: VerificationView }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const model = verificationModel(app);
  const { view } = props;
  const row = "flex flex-wrap justify-end gap-2";
  switch (view.step) {
    case "incoming":
      return (
        <div class={row}>
          <Button variant="quiet" onClick={() => void model.decline()}>
            {i18n.t("security.verification.decline")}
          </Button>
          <Button onClick={() => void model.accept()}>
            {i18n.t("security.verification.accept")}
          </Button>
        </div>
      );
    case "compare":
      return (
        <div class={row}>
          <Button variant="quiet" busy={view.confirming} onClick={() => model.denyMatch()}>
            {i18n.t("security.verification.noMatch")}
          </Button>
          <Button busy={view.confirming} onClick={() => void model.confirmMatch()}>
            {i18n.t("security.verification.match")}
          </Button>
        </div>
      );
    case "waiting":
    case "starting":
      return (
        <div class={row}>
          <Button variant="quiet" onClick={() => void model.close()}>
            {i18n.t("security.verification.cancel")}
          </Button>
        </div>
      );
    default:
      return (
        <div class={row}>
          <Button onClick={() => void model.close()}>
            {i18n.t("security.verification.close")}
          </Button>
        </div>
      );
  }
}
