/** @jsxImportSource preact */
/**
 * The profile and account parts of the settings: display name and picture, password, signing
 * out the other devices, and deactivation. Loaded with the settings screen, not before the
 * first screen.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import {
  type AccountKey,
  accountPlural,
  type AccountPluralKey,
  accountText,
} from "../i18n/account.ts";
import type { MessageParams } from "../i18n/index.ts";
import { accountModel, type AccountProblem } from "../state/account.ts";
import { MAX_DISPLAY_NAME, profileModel } from "../state/profile.ts";
import { Avatar } from "./avatar.tsx";
import { useApp } from "./context.ts";
import { Dialog } from "./dialog.tsx";
import { DialogButtons, INPUT_CLASS } from "./rooms/parts.tsx";

const SECTION =
  "flex flex-col gap-3 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900";
const NOTE = "text-sm text-slate-600 dark:text-slate-300";
const FILE_INPUT =
  "max-w-full text-sm file:mr-3 file:rounded-md file:border file:border-slate-400 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-semibold file:text-slate-800 dark:file:border-slate-500 dark:file:bg-slate-800 dark:file:text-slate-100";

/** This part's messages in the app's language (they load with it, not with the catalogues). */
function useText() {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return {
    t: (key: AccountKey, params?: MessageParams) => accountText(locale, key, params),
    plural: (base: AccountPluralKey, count: number) => accountPlural(locale, base, count),
  };
}

/** Why the last attempt failed, announced to screen readers. */
function ProblemText(props: { problem: AccountProblem | null }): JSX.Element {
  const { t } = useText();
  const problem = props.problem;
  return (
    <div role="alert" class="empty:hidden">
      {problem && (
        <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
          {t(problem.key)}
          {problem.message && <span class="block text-xs break-words">{problem.message}</span>}
        </p>
      )}
    </div>
  );
}

/** A labelled input with its own state in the parent. */
function Field(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: "text" | "password";
  autocomplete: string;
  hint?: string;
  maxLength?: number;
  disabled?: boolean;
}): JSX.Element {
  const id = useId();
  return (
    <div class="flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{props.label}</label>
      <input
        id={id}
        // Preact's input typings split by type; both kinds take the same attributes here.
        type={(props.type ?? "text") as "text"}
        class={INPUT_CLASS}
        value={props.value}
        maxLength={props.maxLength ?? 1024}
        disabled={props.disabled}
        autocomplete={props.autocomplete}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {props.hint && <p id={`${id}-hint`} class={NOTE}>{props.hint}</p>}
    </div>
  );
}

function Section(props: { title: string; children: ComponentChildren }): JSX.Element {
  const id = useId();
  return (
    <section class={SECTION} aria-labelledby={id}>
      <h2 id={id} class="text-base font-bold">{props.title}</h2>
      {props.children}
    </section>
  );
}

const BUTTON_STYLES = {
  primary:
    "bg-sky-700 text-white hover:bg-sky-800 disabled:opacity-70 dark:bg-sky-700 dark:hover:bg-sky-600",
  quiet:
    "border border-slate-400 text-slate-800 hover:bg-slate-100 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800",
};

/**
 * The app's button (as `Button` in controls.tsx, which this chunk does not import: controls.tsx
 * brings the catalogues, and sharing them with this chunk costs the first screen).
 */
function Button(props: {
  children: ComponentChildren;
  onClick?: () => void;
  type?: "button" | "submit";
  variant?: "primary" | "quiet";
  busy?: boolean;
}): JSX.Element {
  return (
    <button
      type={props.type ?? "button"}
      class={`inline-flex min-h-10 items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-semibold focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ${
        BUTTON_STYLES[props.variant ?? "primary"]
      }`}
      onClick={props.onClick}
      disabled={props.busy}
      aria-busy={props.busy}
    >
      {props.children}
    </button>
  );
}

/** True until the client is up: the forms wait for it (a reload restores it in the background). */
function useWaiting(): boolean {
  return useApp().session.clientReady.value === null;
}

function Status(props: { text: string }): JSX.Element {
  return <p role="status" class={`${NOTE} empty:hidden`}>{props.text}</p>;
}

/** Display name and picture. */
export function ProfileSettings(): JSX.Element {
  const app = useApp();
  const { session } = app;
  const { t } = useText();
  const profile = profileModel(app);
  const client = session.clientReady.value;
  const userId = session.userId.value ?? "";
  const pictureId = useId();
  useEffect(() => void profile.load(), [client, userId]);
  const notice = profile.notice.value;
  const pictureBusy = profile.pictureTask.busy.value;
  return (
    <Section title={t("account.profile")}>
      <form
        class="flex flex-col gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          void profile.saveName();
        }}
      >
        <Field
          label={t("account.displayName")}
          hint={t("account.displayNameHint")}
          value={profile.name.value}
          onInput={(value) => profile.name.value = value}
          autocomplete="nickname"
          maxLength={MAX_DISPLAY_NAME}
          disabled={!profile.loaded.value}
        />
        <div>
          <Button type="submit" busy={profile.nameTask.busy.value || !profile.loaded.value}>
            {t("account.saveName")}
          </Button>
        </div>
        <ProblemText problem={profile.nameTask.problem.value} />
      </form>
      <div class="flex items-center gap-3">
        <Avatar
          mxc={profile.avatarUrl.value}
          name={profile.name.value || userId}
          colourKey={userId}
          size={64}
        />
        <div class="flex min-w-0 flex-1 flex-col gap-1">
          <label for={pictureId} class="text-sm font-medium">{t("account.picture")}</label>
          <input
            id={pictureId}
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            disabled={pictureBusy || !client}
            class={FILE_INPUT}
            onChange={(event) => {
              const file = event.currentTarget.files?.[0];
              event.currentTarget.value = "";
              if (file) void profile.setPicture(file);
            }}
          />
        </div>
      </div>
      {profile.avatarUrl.value && (
        <div>
          <Button variant="quiet" busy={pictureBusy} onClick={() => void profile.removePicture()}>
            {t("account.removePicture")}
          </Button>
        </div>
      )}
      <ProblemText problem={profile.pictureTask.problem.value} />
      <Status
        text={notice === "nameSaved"
          ? t("account.nameSaved")
          : notice === "pictureSaved"
          ? t("account.pictureSaved")
          : ""}
      />
    </Section>
  );
}

function PasswordForm(): JSX.Element {
  const app = useApp();
  const waiting = useWaiting();
  const { t } = useText();
  const account = accountModel(app);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const done = account.notice.value?.kind === "passwordChanged";
  return (
    <Section title={t("account.passwordTitle")}>
      <form
        class="flex flex-col gap-3"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await account.changePassword({ current, next, confirm })) {
            setCurrent("");
            setNext("");
            setConfirm("");
          }
        }}
      >
        <Field
          label={t("account.currentPassword")}
          type="password"
          value={current}
          onInput={setCurrent}
          autocomplete="current-password"
        />
        <Field
          label={t("account.newPassword")}
          type="password"
          value={next}
          onInput={setNext}
          autocomplete="new-password"
          hint={t("account.passwordHint")}
        />
        <Field
          label={t("account.confirmNewPassword")}
          type="password"
          value={confirm}
          onInput={setConfirm}
          autocomplete="new-password"
        />
        <div>
          <Button type="submit" busy={account.password.busy.value || waiting}>
            {t("account.changePassword")}
          </Button>
        </div>
        <ProblemText problem={account.password.problem.value} />
        <Status text={done ? t("account.passwordChanged") : ""} />
      </form>
    </Section>
  );
}

function OtherDevices(): JSX.Element {
  const app = useApp();
  const waiting = useWaiting();
  const { t, plural } = useText();
  const account = accountModel(app);
  const [password, setPassword] = useState("");
  const notice = account.notice.value;
  const done = notice?.kind === "signedOutOthers"
    ? notice.count === 0
      ? t("account.noOtherDevices")
      : plural("account.signedOutOthers", notice.count)
    : "";
  return (
    <Section title={t("account.devicesTitle")}>
      <p class={NOTE}>{t("account.devicesHint")}</p>
      <form
        class="flex flex-col gap-3"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await account.signOutOthers(password)) setPassword("");
        }}
      >
        <Field
          label={t("account.currentPassword")}
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="current-password"
        />
        <div>
          <Button type="submit" variant="quiet" busy={account.devices.busy.value || waiting}>
            {t("account.signOutOthers")}
          </Button>
        </div>
        <ProblemText problem={account.devices.problem.value} />
        <Status text={done} />
      </form>
    </Section>
  );
}

function DeactivateDialog(props: { onClose: () => void }): JSX.Element {
  const app = useApp();
  const { t } = useText();
  const account = accountModel(app);
  const [password, setPassword] = useState("");
  const [erase, setErase] = useState(false);
  const warningId = useId();
  const eraseId = useId();
  const waiting = useWaiting();
  // While the server deactivates, the dialog stays: closing it would hide the outcome.
  const busy = account.deactivation.busy.value;
  return (
    <Dialog
      title={t("account.deactivateDialog")}
      describedBy={warningId}
      onClose={busy ? undefined : props.onClose}
    >
      <form
        class="flex flex-col gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          void account.deactivate(password, { erase });
        }}
      >
        <p id={warningId} class="text-sm">{t("account.deactivateWarning")}</p>
        <div class="flex items-start gap-2">
          <input
            id={eraseId}
            type="checkbox"
            class="mt-1 size-4 shrink-0"
            checked={erase}
            onChange={(event) => setErase(event.currentTarget.checked)}
          />
          <label for={eraseId} class="text-sm">{t("account.erase")}</label>
        </div>
        <Field
          label={t("account.currentPassword")}
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="current-password"
        />
        <ProblemText problem={account.deactivation.problem.value} />
        <DialogButtons>
          <Button variant="quiet" onClick={props.onClose}>{t("account.cancel")}</Button>
          <button
            type="submit"
            disabled={busy || waiting}
            aria-busy={busy || waiting}
            class="inline-flex min-h-10 items-center justify-center rounded-md bg-red-700 px-4 py-2 text-sm font-semibold text-white hover:bg-red-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-70"
          >
            {t("account.deactivateConfirm")}
          </button>
        </DialogButtons>
      </form>
    </Dialog>
  );
}

/** Deactivating the account: last on the settings screen, behind a confirmation. */
export function Deactivation(): JSX.Element {
  const app = useApp();
  const { t } = useText();
  const account = accountModel(app);
  const [open, setOpen] = useState(false);
  return (
    <Section title={t("account.deactivateTitle")}>
      <p class={NOTE}>{t("account.deactivateHint")}</p>
      <div>
        <button
          type="button"
          aria-haspopup="dialog"
          class="inline-flex min-h-10 items-center justify-center rounded-md border border-red-700 px-4 py-2 text-sm font-semibold text-red-800 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:border-red-400 dark:text-red-300 dark:hover:bg-red-950"
          onClick={() => {
            account.deactivation.clear();
            setOpen(true);
          }}
        >
          {t("account.deactivate")}
        </button>
      </div>
      {open && <DeactivateDialog onClose={() => setOpen(false)} />}
    </Section>
  );
}

/** Password and other devices. */
export function AccountSettings(): JSX.Element {
  return (
    <>
      <PasswordForm />
      <OtherDevices />
    </>
  );
}
