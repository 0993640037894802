/** @jsxImportSource preact */
/**
 * The room settings dialog: picture, name and topic, encryption (turned on for good), whether
 * the room is internal to its server, and the members with their roles. What the user lacks the power for is disabled, and says why.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import type { RoomActions } from "../../state/room_actions.ts";
import type { RoomSettings, RoomSnapshot } from "../../state/room_settings.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";
import { MembersPanel } from "./members_panel.tsx";
import { DialogButtons, INPUT_CLASS, ProblemText, useRoomName } from "./parts.tsx";
import { RoomAvatar } from "./room_avatar.tsx";
import { InternalRoomPanel } from "./internal_room_panel.tsx";

const SECTION = "flex flex-col gap-3 border-t border-slate-300 pt-4 dark:border-slate-700";
const NOTE = "text-sm text-slate-600 dark:text-slate-300";

function AvatarField(props: { settings: RoomSettings; snapshot: RoomSnapshot; name: string }) {
  const { i18n } = useApp();
  const { settings, snapshot } = props;
  const id = useId();
  const busy = settings.avatar.busy.value;
  return (
    <div class="flex flex-col gap-2">
      <div class="flex items-center gap-3">
        <RoomAvatar
          mxc={snapshot.avatarUrl}
          name={props.name}
          roomId={settings.roomId}
          size={56}
        />
        <div class="flex min-w-0 flex-1 flex-col gap-1">
          <label for={id} class="text-sm font-medium">{i18n.t("rooms.settings.avatar")}</label>
          <input
            id={id}
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            disabled={!snapshot.canAvatar || busy}
            aria-describedby={snapshot.canAvatar ? undefined : `${id}-note`}
            class="max-w-full text-sm file:mr-3 file:rounded-md file:border file:border-slate-400 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-semibold file:text-slate-800 dark:file:border-slate-500 dark:file:bg-slate-800 dark:file:text-slate-100"
            onChange={(event) => {
              const file = event.currentTarget.files?.[0];
              event.currentTarget.value = "";
              if (file) void settings.setAvatar(file);
            }}
          />
        </div>
      </div>
      {!snapshot.canAvatar && (
        <p id={`${id}-note`} class={NOTE}>{i18n.t("rooms.settings.needPower")}</p>
      )}
      {snapshot.avatarUrl && snapshot.canAvatar && (
        <div>
          <Button variant="quiet" busy={busy} onClick={() => void settings.removeAvatar()}>
            {i18n.t("rooms.settings.removeAvatar")}
          </Button>
        </div>
      )}
      <p role="status" class={`${NOTE} empty:hidden`}>
        {busy ? i18n.t("rooms.settings.uploading") : ""}
      </p>
      <ProblemText problem={settings.avatar.problem.value} />
    </div>
  );
}

function GeneralForm(props: { settings: RoomSettings; snapshot: RoomSnapshot }): JSX.Element {
  const { i18n } = useApp();
  const { settings, snapshot } = props;
  const id = useId();
  const busy = settings.general.busy.value;
  const canEdit = snapshot.canName || snapshot.canTopic;
  return (
    <form
      class="flex flex-col gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        void settings.saveGeneral();
      }}
    >
      <div class="flex flex-col gap-1">
        <label for={`${id}-name`} class="text-sm font-medium">
          {i18n.t("rooms.settings.name")}
        </label>
        <input
          id={`${id}-name`}
          class={INPUT_CLASS}
          data-autofocus
          maxLength={255}
          disabled={!snapshot.canName}
          aria-describedby={snapshot.canName ? undefined : `${id}-note`}
          value={settings.name.value}
          onInput={(event) => settings.editName(event.currentTarget.value)}
        />
      </div>
      <div class="flex flex-col gap-1">
        <label for={`${id}-topic`} class="text-sm font-medium">
          {i18n.t("rooms.settings.topic")}
        </label>
        <textarea
          id={`${id}-topic`}
          class={INPUT_CLASS}
          rows={2}
          disabled={!snapshot.canTopic}
          aria-describedby={snapshot.canTopic ? undefined : `${id}-note`}
          value={settings.topic.value}
          onInput={(event) => settings.editTopic(event.currentTarget.value)}
        />
      </div>
      {(!snapshot.canName || !snapshot.canTopic) && (
        <p id={`${id}-note`} class={NOTE}>{i18n.t("rooms.settings.needPower")}</p>
      )}
      <ProblemText problem={settings.general.problem.value} />
      {canEdit && (
        <div class="flex items-center gap-3">
          <Button type="submit" busy={busy}>
            {busy ? i18n.t("rooms.settings.saving") : i18n.t("rooms.settings.save")}
          </Button>
          <p role="status" class={NOTE}>
            {settings.saved.value ? i18n.t("rooms.settings.upToDate") : ""}
          </p>
        </div>
      )}
    </form>
  );
}

function EncryptionPanel(props: { settings: RoomSettings; snapshot: RoomSnapshot }) {
  const { i18n } = useApp();
  const { settings, snapshot } = props;
  const headingId = useId();
  const busy = settings.encryption.busy.value;
  return (
    <section aria-labelledby={headingId} class={SECTION}>
      <h3 id={headingId} class="text-base font-bold">{i18n.t("rooms.settings.encryption")}</h3>
      <p class="text-sm" role="status">
        {i18n.t(snapshot.encrypted ? "rooms.settings.encryptedOn" : "rooms.settings.encryptedOff")}
      </p>
      {!snapshot.encrypted && !settings.confirmingEncryption.value && (
        <div class="flex flex-col gap-2">
          <div>
            <button
              type="button"
              class="inline-flex min-h-10 items-center rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:bg-slate-500 dark:disabled:bg-slate-600"
              disabled={!snapshot.canEncrypt}
              aria-describedby={`${headingId}-note`}
              onClick={() => settings.confirmingEncryption.value = true}
            >
              {i18n.t("rooms.settings.encrypt")}
            </button>
          </div>
          <p id={`${headingId}-note`} class={NOTE}>
            {i18n.t(
              snapshot.canEncrypt ? "rooms.settings.encryptForGood" : "rooms.settings.needPower",
            )}
          </p>
        </div>
      )}
      {!snapshot.encrypted && settings.confirmingEncryption.value && (
        <div class="flex flex-col gap-2 rounded-md border border-amber-700 bg-amber-50 p-3 text-amber-950 dark:border-amber-400 dark:bg-amber-950 dark:text-amber-50">
          <p class="text-sm">{i18n.t("rooms.settings.encryptWarning")}</p>
          <DialogButtons>
            <Button variant="quiet" onClick={() => settings.confirmingEncryption.value = false}>
              {i18n.t("rooms.cancel")}
            </Button>
            <Button busy={busy} onClick={() => void settings.enableEncryption()}>
              {i18n.t("rooms.settings.encryptConfirm")}
            </Button>
          </DialogButtons>
        </div>
      )}
      <ProblemText problem={settings.encryption.problem.value} />
    </section>
  );
}

/** The room settings dialog. */
export function RoomSettingsDialog(props: {
  settings: RoomSettings;
  actions: RoomActions;
}): JSX.Element {
  const { i18n } = useApp();
  const { settings, actions } = props;
  const room = useRoomName(settings.roomId);
  const snapshot = settings.snapshot.value;
  const close = () => actions.close(settings);
  return (
    <Dialog title={i18n.t("rooms.settings.title", { room })} onClose={close} wide>
      {snapshot
        ? (
          <>
            <AvatarField settings={settings} snapshot={snapshot} name={room} />
            <GeneralForm settings={settings} snapshot={snapshot} />
            <EncryptionPanel settings={settings} snapshot={snapshot} />
            <InternalRoomPanel settings={settings} snapshot={snapshot} />
            <div class={SECTION}>
              <MembersPanel settings={settings} snapshot={snapshot} actions={actions} />
            </div>
          </>
        )
        : <p class="text-sm" role="status">{i18n.t("rooms.settings.unavailable")}</p>}
      <DialogButtons>
        <Button variant="quiet" onClick={close}>{i18n.t("rooms.close")}</Button>
      </DialogButtons>
    </Dialog>
  );
}
