/** @jsxImportSource preact */
/**
 * The dialogs of secure messaging: the new recovery key (copy, download, confirm saved), the
 * recovery key on a new device, and the account password when the server asks for it.
 *
 * @module
 */

import { type SsoKey, ssoText } from "../../i18n/sso.ts";
import type { JSX } from "preact";
import { useId, useRef, useState } from "preact/hooks";
import { secureText } from "../../i18n/secure_setup.ts";
import { securityModel } from "../../state/security.ts";
import { useApp } from "../context.ts";
import { Button, ProblemBanner } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";

const FIELD =
  "rounded-md border border-slate-400 bg-white px-3 py-2 font-mono text-base text-slate-900 focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100";
const ROW = "flex flex-wrap justify-end gap-2";

/** Shows the new recovery key until the user says they saved it (Escape only hides it). */
export function RecoveryKeyDialog(props: { recoveryKey: string; onHide: () => void }) {
  const app = useApp();
  const { i18n } = app;
  const model = securityModel(app);
  const fieldId = useId();
  const hintId = useId();
  const field = useRef<HTMLTextAreaElement>(null);
  const [copy, setCopy] = useState<"idle" | "copied" | "failed">("idle");
  const copyKey = async () => {
    try {
      await navigator.clipboard.writeText(props.recoveryKey);
      setCopy("copied");
    } catch {
      field.current?.select();
      setCopy("failed");
    }
  };
  const download = () => {
    const user = app.session.userId.value ?? "";
    const text = `${i18n.t("security.recoveryKeyTitle")} (${user})\n\n${props.recoveryKey}\n\n` +
      `${secureText(i18n.locale.value, "secure.keyWhere")}\n`;
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "recovery-key.txt";
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  return (
    <Dialog title={i18n.t("security.recoveryKeyTitle")} onClose={props.onHide} describedBy={hintId}>
      <div id={hintId} class="flex flex-col gap-2 text-sm">
        <p>{i18n.t("security.recoveryKeyHint")}</p>
        <p>{secureText(i18n.locale.value, "secure.keyWhere")}</p>
      </div>
      <div class="flex flex-col gap-1">
        <label for={fieldId} class="text-sm font-medium">{i18n.t("security.recoveryKey")}</label>
        <textarea
          id={fieldId}
          ref={field}
          readOnly
          rows={2}
          class={`${FIELD} resize-none break-all`}
          value={props.recoveryKey}
          onFocus={(event) =>
            event.currentTarget.select()}
        />
      </div>
      <p role="status" class="text-sm empty:hidden">
        {copy === "copied" ? i18n.t("security.copied") : ""}
        {copy === "failed" ? i18n.t("security.copyFailed") : ""}
      </p>
      <div class={ROW}>
        <Button
          variant="quiet"
          onClick={() =>
            void copyKey()}
        >
          {i18n.t("security.copyRecoveryKey")}
        </Button>
        <Button variant="quiet" onClick={download}>
          {secureText(i18n.locale.value, "secure.downloadKey")}
        </Button>
        <Button
          onClick={() =>
            model.confirmRecoveryKeySaved()}
        >
          {i18n.t("security.savedRecoveryKey")}
        </Button>
      </div>
    </Dialog>
  );
}

/** Asks for the recovery key on a device that is not verified yet. */
export function RestoreDialog(): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const model = securityModel(app);
  const state = model.restore.value;
  const fieldId = useId();
  const hintId = useId();
  const [text, setText] = useState("");
  if (state.step === "idle" || state.step === "done") return null;
  const working = state.step === "working";
  const problem = state.step === "enterKey" && state.problem
    ? { key: state.problem }
    : state.step === "failed"
    ? { key: "security.restoreFailed" as const, params: { message: state.message } }
    : null;
  return (
    <Dialog title={i18n.t("security.restoreTitle")} onClose={() => model.closeRestore()}>
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          void model.restoreWithKey(text);
        }}
      >
        <div class="flex flex-col gap-1">
          <label for={fieldId} class="text-sm font-medium">{i18n.t("security.recoveryKey")}</label>
          <input
            id={fieldId}
            type="text"
            class={FIELD}
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
            autocomplete="off"
            autocapitalize="none"
            spellcheck={false}
            required
            aria-describedby={hintId}
            aria-invalid={problem !== null}
            data-autofocus
          />
          <p id={hintId} class="text-sm text-slate-600 dark:text-slate-300">
            {i18n.t("security.recoveryKeyFieldHint")}
          </p>
        </div>
        <ProblemBanner problem={problem} />
        <p role="status" class="text-sm empty:hidden">
          {working ? i18n.t("security.restoring") : ""}
        </p>
        <div class={ROW}>
          <Button variant="quiet" busy={working} onClick={() => model.closeRestore()}>
            {i18n.t("security.cancel")}
          </Button>
          <Button type="submit" busy={working}>{i18n.t("security.continue")}</Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The account password, when the server asks for it (user-interactive auth). */
export function PasswordDialog(): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const prompt = securityModel(app).password;
  const state = prompt.state.value;
  const fieldId = useId();
  const hintId = useId();
  const [password, setPassword] = useState("");
  if (!state) return null;
  if (state.ssoUrl) return <SsoConfirmDialog />;
  return (
    <Dialog
      title={i18n.t("security.passwordTitle")}
      onClose={() => {
        setPassword("");
        prompt.cancel();
      }}
      describedBy={hintId}
    >
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          prompt.submit(password);
          setPassword("");
        }}
      >
        <p id={hintId} class="text-sm">{i18n.t("security.passwordHint")}</p>
        <div class="flex flex-col gap-1">
          <label for={fieldId} class="text-sm font-medium">{i18n.t("security.password")}</label>
          <input
            id={fieldId}
            type="password"
            class={FIELD}
            value={password}
            onInput={(event) => setPassword(event.currentTarget.value)}
            autocomplete="current-password"
            required
            aria-invalid={state.problem !== null}
            data-autofocus
          />
        </div>
        <ProblemBanner problem={state.problem ? { key: state.problem } : null} />
        <div class={ROW}>
          <Button
            variant="quiet"
            onClick={() => {
              setPassword("");
              prompt.cancel();
            }}
          >
            {i18n.t("security.cancel")}
          </Button>
          <Button type="submit" busy={state.busy}>{i18n.t("security.continue")}</Button>
        </div>
      </form>
    </Dialog>
  );
}

/** For an account without a password: confirm at the identity provider, in a new window. */
function SsoConfirmDialog(): JSX.Element | null {
  const app = useApp();
  const locale = app.i18n.locale.value;
  const t = (key: SsoKey) => ssoText(locale, key);
  const prompt = securityModel(app).password;
  const state = prompt.state.value;
  const hintId = useId();
  if (!state) return null;
  return (
    <Dialog title={t("sso.confirmTitle")} onClose={() => prompt.cancel()} describedBy={hintId}>
      <div class="flex flex-col gap-4">
        <p id={hintId} class="text-sm">{t("sso.confirmHint")}</p>
        {state.ssoFailed && (
          <p role="alert" class="text-sm text-red-800 dark:text-red-200">{t("sso.notConfirmed")}</p>
        )}
        <div class={ROW}>
          <Button variant="quiet" onClick={() => prompt.cancel()}>
            {app.i18n.t("security.cancel")}
          </Button>
          <Button busy={state.busy} onClick={() => prompt.openSso()}>{t("sso.confirm")}</Button>
        </div>
      </div>
    </Dialog>
  );
}

/** Confirms a reset of secure messaging, saying what it costs. */
export function ResetDialog(): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const model = securityModel(app);
  const hintId = useId();
  return (
    <Dialog
      title={i18n.t("security.resetTitle")}
      onClose={() => model.cancelReset()}
      describedBy={hintId}
    >
      <p id={hintId} class="text-sm">{i18n.t("security.resetHint")}</p>
      <div class={ROW}>
        <Button variant="quiet" onClick={() => model.cancelReset()}>
          {i18n.t("security.cancel")}
        </Button>
        <Button onClick={() => void model.setUp({ reset: true })}>
          {i18n.t("security.resetConfirm")}
        </Button>
      </div>
    </Dialog>
  );
}
