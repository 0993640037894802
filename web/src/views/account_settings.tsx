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
import { accountModel } from "../state/account.ts";
import { MAX_DISPLAY_NAME, profileModel } from "../state/profile.ts";
import { Avatar } from "./avatar.tsx";
import { useApp } from "./context.ts";
import { Button } from "./controls.tsx";
import { Dialog } from "./dialog.tsx";
import { DialogButtons, INPUT_CLASS, ProblemText } from "./rooms/parts.tsx";

const SECTION =
  "flex flex-col gap-3 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900";
const NOTE = "text-sm text-slate-600 dark:text-slate-300";
const FILE_INPUT =
  "max-w-full text-sm file:mr-3 file:rounded-md file:border file:border-slate-400 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-semibold file:text-slate-800 dark:file:border-slate-500 dark:file:bg-slate-800 dark:file:text-slate-100";

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
  const { i18n, session } = app;
  const profile = profileModel(app);
  const client = session.clientReady.value;
  const userId = session.userId.value ?? "";
  const pictureId = useId();
  useEffect(() => void profile.load(), [client, userId]);
  const notice = profile.notice.value;
  const pictureBusy = profile.pictureTask.busy.value;
  return (
    <Section title={i18n.t("account.profile")}>
      <form
        class="flex flex-col gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          void profile.saveName();
        }}
      >
        <Field
          label={i18n.t("account.displayName")}
          hint={i18n.t("account.displayNameHint")}
          value={profile.name.value}
          onInput={(value) => profile.name.value = value}
          autocomplete="nickname"
          maxLength={MAX_DISPLAY_NAME}
          disabled={!profile.loaded.value}
        />
        <div>
          <Button type="submit" busy={profile.nameTask.busy.value || !profile.loaded.value}>
            {i18n.t("account.saveName")}
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
          <label for={pictureId} class="text-sm font-medium">{i18n.t("account.picture")}</label>
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
            {i18n.t("account.removePicture")}
          </Button>
        </div>
      )}
      <ProblemText problem={profile.pictureTask.problem.value} />
      <Status
        text={notice === "nameSaved"
          ? i18n.t("account.nameSaved")
          : notice === "pictureSaved"
          ? i18n.t("account.pictureSaved")
          : ""}
      />
    </Section>
  );
}

function PasswordForm(): JSX.Element {
  const app = useApp();
  const waiting = useWaiting();
  const { i18n } = app;
  const account = accountModel(app);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const done = account.notice.value?.kind === "passwordChanged";
  return (
    <Section title={i18n.t("account.passwordTitle")}>
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
          label={i18n.t("account.currentPassword")}
          type="password"
          value={current}
          onInput={setCurrent}
          autocomplete="current-password"
        />
        <Field
          label={i18n.t("account.newPassword")}
          type="password"
          value={next}
          onInput={setNext}
          autocomplete="new-password"
          hint={i18n.t("account.passwordHint")}
        />
        <Field
          label={i18n.t("account.confirmNewPassword")}
          type="password"
          value={confirm}
          onInput={setConfirm}
          autocomplete="new-password"
        />
        <div>
          <Button type="submit" busy={account.password.busy.value || waiting}>
            {i18n.t("account.changePassword")}
          </Button>
        </div>
        <ProblemText problem={account.password.problem.value} />
        <Status text={done ? i18n.t("account.passwordChanged") : ""} />
      </form>
    </Section>
  );
}

function OtherDevices(): JSX.Element {
  const app = useApp();
  const waiting = useWaiting();
  const { i18n } = app;
  const account = accountModel(app);
  const [password, setPassword] = useState("");
  const notice = account.notice.value;
  const done = notice?.kind === "signedOutOthers"
    ? notice.count === 0
      ? i18n.t("account.noOtherDevices")
      : i18n.plural("account.signedOutOthers", notice.count)
    : "";
  return (
    <Section title={i18n.t("account.devicesTitle")}>
      <p class={NOTE}>{i18n.t("account.devicesHint")}</p>
      <form
        class="flex flex-col gap-3"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await account.signOutOthers(password)) setPassword("");
        }}
      >
        <Field
          label={i18n.t("account.currentPassword")}
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="current-password"
        />
        <div>
          <Button type="submit" variant="quiet" busy={account.devices.busy.value || waiting}>
            {i18n.t("account.signOutOthers")}
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
  const { i18n } = app;
  const account = accountModel(app);
  const [password, setPassword] = useState("");
  const [erase, setErase] = useState(false);
  const warningId = useId();
  const eraseId = useId();
  const busy = account.deactivation.busy.value || useWaiting();
  return (
    <Dialog
      title={i18n.t("account.deactivateDialog")}
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
        <p id={warningId} class="text-sm">{i18n.t("account.deactivateWarning")}</p>
        <div class="flex items-start gap-2">
          <input
            id={eraseId}
            type="checkbox"
            class="mt-1 size-4 shrink-0"
            checked={erase}
            onChange={(event) => setErase(event.currentTarget.checked)}
          />
          <label for={eraseId} class="text-sm">{i18n.t("account.erase")}</label>
        </div>
        <Field
          label={i18n.t("account.currentPassword")}
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="current-password"
        />
        <ProblemText problem={account.deactivation.problem.value} />
        <DialogButtons>
          <Button variant="quiet" onClick={props.onClose}>{i18n.t("account.cancel")}</Button>
          <button
            type="submit"
            disabled={busy}
            aria-busy={busy}
            class="inline-flex min-h-10 items-center justify-center rounded-md bg-red-700 px-4 py-2 text-sm font-semibold text-white hover:bg-red-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-70"
          >
            {i18n.t("account.deactivateConfirm")}
          </button>
        </DialogButtons>
      </form>
    </Dialog>
  );
}

function Deactivation(): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const account = accountModel(app);
  const [open, setOpen] = useState(false);
  return (
    <Section title={i18n.t("account.deactivateTitle")}>
      <p class={NOTE}>{i18n.t("account.deactivateHint")}</p>
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
          {i18n.t("account.deactivate")}
        </button>
      </div>
      {open && <DeactivateDialog onClose={() => setOpen(false)} />}
    </Section>
  );
}

/** Password, other devices and deactivation. */
export function AccountSettings(): JSX.Element {
  return (
    <>
      <PasswordForm />
      <OtherDevices />
      <Deactivation />
    </>
  );
}
