/** @jsxImportSource preact */
/**
 * Settings: secure messaging (cross-signing, recovery key, key backup) with its status lines,
 * setting it up or restoring it on a new device, the account's devices, and verifying someone.
 * The verification overlay shows here too (the settings screen has no shell around it).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import { secureText } from "../../i18n/secure_setup.ts";
import { securityModel, type SecurityStatus } from "../../state/security.ts";
import { startUserVerification, verificationModel } from "../../state/verification.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { DeviceList } from "./device_list.tsx";
import {
  PasswordDialog,
  RecoveryKeyDialog,
  ResetDialog,
  RestoreDialog,
} from "./recovery_dialogs.tsx";
import { VerificationOverlay } from "./verification_overlay.tsx";

const SECTION =
  "flex flex-col gap-3 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900";

/** Settings: cross-signing, secure backup with a recovery key, this account's devices. */
export function SecuritySettings(): JSX.Element | null {
  const app = useApp();
  const model = securityModel(app);
  const signedIn = app.session.clientReady.value !== null;
  useEffect(() => {
    if (signedIn) void model.refresh();
  }, [signedIn]);
  const [keyHidden, setKeyHidden] = useState(false);
  const setup = model.setup.value;
  useEffect(() => {
    if (setup.step !== "showKey") setKeyHidden(false);
  }, [setup.step]);
  return (
    <>
      <SecureMessaging onShowKey={() => setKeyHidden(false)} keyHidden={keyHidden} />
      {model.mode.value !== "unavailable" && <WarnSetting />}
      {model.mode.value !== "unavailable" && <DeviceList />}
      {model.mode.value !== "unavailable" && <VerifySomeone />}
      {setup.step === "showKey" && !keyHidden && (
        <RecoveryKeyDialog
          recoveryKey={setup.recoveryKey}
          onHide={() => setKeyHidden(true)}
        />
      )}
      <RestoreDialog />
      {model.resetAsked.value && <ResetDialog />}
      <PasswordDialog />
      <VerificationOverlay />
    </>
  );
}

function SecureMessaging(props: { keyHidden: boolean; onShowKey: () => void }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const model = securityModel(app);
  const mode = model.mode.value;
  const status = model.status.value;
  const setup = model.setup.value;
  const restore = model.restore.value;
  const headingId = useId();
  const line = (text: string) => <p class="text-sm">{text}</p>;
  return (
    <section class={SECTION} aria-labelledby={headingId}>
      <h2 id={headingId} class="text-base font-bold">{i18n.t("security.title")}</h2>
      <p class="text-sm text-slate-600 dark:text-slate-300">{i18n.t("security.intro")}</p>
      <div role="status" class="flex flex-col gap-1">
        {mode === "unavailable" && line(i18n.t("security.unavailable"))}
        {mode === "checking" && line(i18n.t("security.checking"))}
        {status && mode !== "unavailable" && <StatusLines status={status} />}
        {setup.step === "working" && line(i18n.t("security.setUpWorking"))}
        {setup.step === "done" && line(i18n.t("security.setUpDone"))}
        {restore.step === "done" && line(i18n.plural("security.restored", restore.imported))}
      </div>
      <div role="alert" class="empty:hidden">
        {setup.step === "failed" && (
          <p class="text-sm text-red-800 dark:text-red-200">
            {i18n.t("security.setUpFailed", { message: setup.message })}
          </p>
        )}
      </div>
      {setup.step === "showKey" && props.keyHidden && (
        <div class="flex flex-col items-start gap-2">
          {line(i18n.t("security.notSavedYet"))}
          <Button onClick={props.onShowKey}>{i18n.t("security.showRecoveryKey")}</Button>
        </div>
      )}
      {mode === "setUp" && setup.step !== "showKey" && (
        <div class="flex flex-col items-start gap-2">
          <p class="text-sm">{i18n.t("security.setUpHint")}</p>
          <Button busy={setup.step === "working"} onClick={() => void model.setUp()}>
            {i18n.t("security.setUp")}
          </Button>
        </div>
      )}
      {mode === "restore" && status && (
        <div class="flex flex-col items-start gap-2">
          <p class="text-sm">{i18n.t("security.unverifiedHint")}</p>
          <div class="flex flex-wrap gap-2">
            <Button onClick={() => void verificationModel(app).startSelf()}>
              {i18n.t("security.verifyWithDevice")}
            </Button>
            {status.accountHasSecretStorage && (
              <Button
                variant="quiet"
                onClick={() => model.openRestore()}
              >
                {i18n.t("security.useRecoveryKey")}
              </Button>
            )}
            <Button variant="quiet" onClick={() => model.askReset()}>
              {i18n.t("security.reset")}
            </Button>
          </div>
        </div>
      )}
    </section>
  );
}

function StatusLines(props: { status: SecurityStatus }): JSX.Element {
  const { i18n } = useApp();
  const { status } = props;
  const crossSigning = status.crossSigningReady
    ? { ok: true, text: i18n.t("security.crossSigningReady") }
    : status.accountHasCrossSigning
    ? { ok: false, text: i18n.t("security.crossSigningElsewhere") }
    : { ok: false, text: i18n.t("security.crossSigningMissing") };
  const backup = status.backupVersion
    ? { ok: true, text: i18n.t("security.backupOn", { version: status.backupVersion }) }
    : status.serverBackupVersion
    ? {
      ok: false,
      text: i18n.t("security.backupElsewhere", { version: status.serverBackupVersion }),
    }
    : { ok: false, text: i18n.t("security.backupOff") };
  const device = status.thisDeviceVerified
    ? { ok: true, text: i18n.t("security.deviceVerified") }
    : { ok: false, text: i18n.t("security.deviceUnverified") };
  return (
    <ul class="flex flex-col gap-1 text-sm">
      {[crossSigning, backup, device].map((item) => (
        <li key={item.text} class="flex items-start gap-2">
          <span
            aria-hidden="true"
            class={item.ok
              ? "font-bold text-green-800 dark:text-green-300"
              : "font-bold text-amber-800 dark:text-amber-300"}
          >
            {item.ok ? "✓" : "!"}
          </span>
          <span>{item.text}</span>
        </li>
      ))}
    </ul>
  );
}

/** The opt-in warning about people the user has not verified. */
function WarnSetting(): JSX.Element {
  const app = useApp();
  const prefs = securityModel(app).prefs;
  const locale = app.i18n.locale.value;
  const fieldId = useId();
  const hintId = useId();
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <section class={SECTION} aria-label={secureText(locale, "secure.warnLabel")}>
      <div class="flex items-start gap-3">
        <input
          id={fieldId}
          type="checkbox"
          class="mt-1 h-4 w-4"
          checked={prefs.warnUnverified.value}
          aria-describedby={hintId}
          onChange={(event) => {
            setProblem(null);
            prefs.setWarnUnverified(event.currentTarget.checked).catch((err) =>
              setProblem(err instanceof Error ? err.message : String(err))
            );
          }}
        />
        <div class="flex flex-col gap-1">
          <label for={fieldId} class="text-sm font-medium">
            {secureText(locale, "secure.warnLabel")}
          </label>
          <p id={hintId} class="text-sm text-slate-600 dark:text-slate-300">
            {secureText(locale, "secure.warnHint")}
          </p>
        </div>
      </div>
      <div role="alert" class="empty:hidden">
        {problem && (
          <p class="text-sm text-red-800 dark:text-red-200">
            {app.i18n.t("security.actionFailed", { message: problem })}
          </p>
        )}
      </div>
    </section>
  );
}

const USER_ID = /^@[^:\s]+:\S+$/;

function VerifySomeone(): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const headingId = useId();
  const fieldId = useId();
  const hintId = useId();
  const [userId, setUserId] = useState("");
  const [invalid, setInvalid] = useState(false);
  return (
    <section class={SECTION} aria-labelledby={headingId}>
      <h2 id={headingId} class="text-base font-bold">{i18n.t("security.verifyUserTitle")}</h2>
      <p id={hintId} class="text-sm text-slate-600 dark:text-slate-300">
        {i18n.t("security.verifyUserHint")}
      </p>
      <form
        class="flex flex-wrap items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          const value = userId.trim();
          if (!USER_ID.test(value)) return setInvalid(true);
          setInvalid(false);
          void startUserVerification(app, value);
        }}
      >
        <div class="flex min-w-0 flex-1 flex-col gap-1">
          <label for={fieldId} class="text-sm font-medium">{i18n.t("security.userId")}</label>
          <input
            id={fieldId}
            class="rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
            value={userId}
            autocapitalize="none"
            spellcheck={false}
            aria-describedby={hintId}
            aria-invalid={invalid}
            onInput={(event) => setUserId(event.currentTarget.value)}
          />
        </div>
        <Button type="submit">{i18n.t("security.verifyUser")}</Button>
      </form>
      <div role="alert" class="empty:hidden">
        {invalid && (
          <p class="text-sm text-red-800 dark:text-red-200">{i18n.t("security.invalidUserId")}</p>
        )}
      </div>
    </section>
  );
}
