/** @jsxImportSource preact */
/**
 * Secure messaging as part of the first sign-in, on the conversations screen (as Element's
 * "Set up secure backup" and "Verify this device" prompts): an account without it is offered to
 * set it up in one step (the recovery key is shown once, to copy or download, until the user
 * says they saved it); a new device of an account that has it is offered to verify with another
 * device or the recovery key. "Not now" leaves a one-line reminder in the conversation list. A
 * recovery key shown but never confirmed as saved (the page was closed) is offered anew.
 * Not modal: the app stays usable. Loaded only when there is something to offer.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import { type SecureKey, secureText } from "../../i18n/secure_setup.ts";
import { securityModel } from "../../state/security.ts";
import { verificationModel } from "../../state/verification.ts";
import { useApp } from "../context.ts";
import { AppLink, Button } from "../controls.tsx";
import { PasswordDialog, RecoveryKeyDialog, RestoreDialog } from "./recovery_dialogs.tsx";

const CARD =
  "mx-2 mb-2 flex flex-col gap-2 rounded-lg border border-sky-300 bg-sky-50 p-3 text-sm text-slate-900 dark:border-sky-800 dark:bg-slate-800 dark:text-slate-100";
const REMINDER =
  "mx-2 mb-2 flex flex-wrap items-center justify-between gap-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50";

/** The "done" notes the user closed (the states stay until the next sign-in). */
const closedNotes = new WeakSet<object>();

/** The set-up or verify prompt, its reminder, and the dialogs it opens. */
export function SecurePrompt(): JSX.Element | null {
  const app = useApp();
  const model = securityModel(app);
  const setup = model.setup.value;
  const [keyHidden, setKeyHidden] = useState(false);
  useEffect(() => {
    if (setup.step !== "showKey") setKeyHidden(false);
  }, [setup.step]);
  return (
    <>
      <PromptCard keyHidden={keyHidden} onShowKey={() => setKeyHidden(false)} />
      {setup.step === "showKey" && !keyHidden && (
        <RecoveryKeyDialog
          recoveryKey={setup.recoveryKey}
          onHide={() => setKeyHidden(true)}
        />
      )}
      <RestoreDialog />
      <PasswordDialog />
    </>
  );
}

function PromptCard(props: { keyHidden: boolean; onShowKey: () => void }): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const model = securityModel(app);
  const mode = model.mode.value;
  const setup = model.setup.value;
  const restore = model.restore.value;
  const putOff = model.prefs.later.value === app.session.userId.value;
  const [expanded, setExpanded] = useState(false);
  const [, setClosed] = useState(false);
  const titleId = useId();
  const t = (key: SecureKey, params?: Record<string, string>) =>
    secureText(i18n.locale.value, key, params);
  const later = () => {
    setExpanded(false);
    model.prefs.remindLater(app.session.userId.value ?? "");
  };

  if (setup.step === "showKey" && props.keyHidden) {
    return (
      <aside aria-labelledby={titleId} class={CARD}>
        <h3 id={titleId} class="font-semibold">{i18n.t("security.recoveryKeyTitle")}</h3>
        <p>{i18n.t("security.notSavedYet")}</p>
        <Button onClick={props.onShowKey}>{i18n.t("security.showRecoveryKey")}</Button>
      </aside>
    );
  }
  const finished = setup.step === "done" || restore.step === "done";
  if (finished) {
    if (closedNotes.has(setup) || closedNotes.has(restore)) return null;
    return (
      <aside aria-labelledby={titleId} class={CARD}>
        <h3 id={titleId} class="font-semibold">{i18n.t("security.title")}</h3>
        <p role="status">
          {setup.step === "done" ? t("secure.done") : i18n.t("security.deviceVerified")}
          {restore.step === "done" && ` ${i18n.plural("security.restored", restore.imported)}`}
        </p>
        <Button
          variant="quiet"
          onClick={() => {
            closedNotes.add(setup).add(restore);
            setClosed(true);
          }}
        >
          {i18n.t("security.close")}
        </Button>
      </aside>
    );
  }
  const working = setup.step === "working";
  const unsaved = model.prefs.unsaved.value === app.session.userId.value;
  if (mode === "ready" && unsaved && (setup.step === "idle" || setup.step === "failed")) {
    return (
      <aside aria-labelledby={titleId} class={CARD}>
        <h3 id={titleId} class="font-semibold">{t("secure.unsavedTitle")}</h3>
        <p>{t("secure.unsavedText")}</p>
        <div role="alert" class="empty:hidden">
          {setup.step === "failed" && (
            <p class="text-red-800 dark:text-red-200">
              {i18n.t("security.setUpFailed", { message: setup.message })}
            </p>
          )}
        </div>
        <Button onClick={() => void model.setUp()}>{t("secure.newKey")}</Button>
      </aside>
    );
  }
  if (mode === "setUp" || working) {
    if (putOff && !expanded && !working && setup.step !== "failed") {
      return (
        <Reminder
          text={t("secure.reminderSetUp")}
          action={t("secure.reminderSetUpAction")}
          onAction={() => setExpanded(true)}
        />
      );
    }
    return (
      <aside aria-labelledby={titleId} class={CARD}>
        <h3 id={titleId} class="font-semibold">{t("secure.setUpTitle")}</h3>
        <p>{t("secure.setUpIntro")}</p>
        <p>{t("secure.setUpKey")}</p>
        <p role="status" class="empty:hidden">{working ? i18n.t("security.setUpWorking") : ""}</p>
        <div role="alert" class="empty:hidden">
          {setup.step === "failed" && (
            <p class="text-red-800 dark:text-red-200">
              {i18n.t("security.setUpFailed", { message: setup.message })}
            </p>
          )}
        </div>
        <div class="flex flex-wrap gap-2">
          <Button busy={working} onClick={() => void model.setUp()}>
            {i18n.t("security.setUp")}
          </Button>
          {!working && <Button variant="quiet" onClick={later}>{t("secure.notNow")}</Button>}
        </div>
      </aside>
    );
  }
  if (mode !== "restore") return null;
  if (putOff && !expanded && restore.step === "idle") {
    return (
      <Reminder
        text={t("secure.reminderVerify")}
        action={t("secure.verifyTitle")}
        onAction={() => setExpanded(true)}
      />
    );
  }
  const status = model.status.value;
  return (
    <aside aria-labelledby={titleId} class={CARD}>
      <h3 id={titleId} class="font-semibold">{t("secure.verifyTitle")}</h3>
      <p>{t("secure.verifyIntro")}</p>
      <div class="flex flex-wrap gap-2">
        <Button onClick={() => void verificationModel(app).startSelf()}>
          {i18n.t("security.verifyWithDevice")}
        </Button>
        {status?.accountHasSecretStorage && (
          <Button
            variant="quiet"
            onClick={() => model.openRestore()}
          >
            {i18n.t("security.useRecoveryKey")}
          </Button>
        )}
        <Button variant="quiet" onClick={later}>{t("secure.notNow")}</Button>
      </div>
      <p class="text-xs">
        {t("secure.lostKey")}{" "}
        <AppLink
          href="/settings"
          onNavigate={() => app.go("settings")}
          class="font-semibold underline underline-offset-2"
        >
          {t("secure.resetInSettings")}
        </AppLink>
      </p>
    </aside>
  );
}

function Reminder(props: { text: string; action: string; onAction: () => void }): JSX.Element {
  const id = useId();
  return (
    <aside aria-labelledby={id} class={REMINDER}>
      <p id={id}>{props.text}</p>
      <button
        type="button"
        class="font-semibold underline underline-offset-2 focus-visible:outline-2 focus-visible:outline-sky-600"
        onClick={props.onAction}
      >
        {props.action}
      </button>
    </aside>
  );
}
