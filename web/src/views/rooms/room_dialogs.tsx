/** @jsxImportSource preact */
/**
 * The open room dialogs, drawn over the shell (topmost last), and the two small ones: inviting
 * people into a room and confirming leaving it.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import {
  type InviteForm,
  type LeaveForm,
  type RoomActions,
  roomActions,
} from "../../state/room_actions.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { CreateRoomDialog } from "./create_room_dialog.tsx";
import { Dialog } from "../dialog.tsx";
import { JoinRoomDialog } from "./join_room_dialog.tsx";
import { DialogButtons, ProblemText, useRoomName } from "./parts.tsx";
import { RoomSettingsDialog } from "./room_settings_view.tsx";
import { StartChatDialog } from "./start_chat_dialog.tsx";
import { UserPickerField } from "./user_picker.tsx";

function InviteDialog(props: { form: InviteForm; actions: RoomActions }): JSX.Element {
  const { i18n } = useApp();
  const { form, actions } = props;
  const room = useRoomName(form.roomId);
  const busy = form.task.busy.value;
  const close = () => actions.close(form);
  return (
    <Dialog title={i18n.t("rooms.invite.title", { room })} onClose={close}>
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          void form.invite();
        }}
      >
        <UserPickerField picker={form.picker} pickHint="rooms.picker.add" busy={busy} />
        <ProblemText problem={form.task.problem.value} />
        <DialogButtons>
          <Button variant="quiet" onClick={close}>{i18n.t("rooms.cancel")}</Button>
          <Button type="submit" busy={busy}>
            {busy ? i18n.t("rooms.invite.sending") : i18n.t("rooms.invite.send")}
          </Button>
        </DialogButtons>
      </form>
    </Dialog>
  );
}

function LeaveDialog(props: { form: LeaveForm; actions: RoomActions }): JSX.Element {
  const { i18n } = useApp();
  const { form, actions } = props;
  const room = useRoomName(form.roomId);
  const descriptionId = useId();
  const busy = form.task.busy.value;
  const close = () => actions.close(form);
  return (
    <Dialog
      title={i18n.t("rooms.leave.title", { room })}
      onClose={close}
      describedBy={descriptionId}
    >
      <p id={descriptionId} class="text-sm">{i18n.t("rooms.leave.warning")}</p>
      <ProblemText problem={form.task.problem.value} />
      <DialogButtons>
        <Button variant="quiet" onClick={close}>{i18n.t("rooms.cancel")}</Button>
        <Button busy={busy} onClick={() => void form.leave()}>
          {busy ? i18n.t("rooms.leave.leaving") : i18n.t("rooms.leave.confirm")}
        </Button>
      </DialogButtons>
    </Dialog>
  );
}

/** The open room dialogs. */
export function RoomDialogs(): JSX.Element {
  const app = useApp();
  const actions = roomActions(app);
  return (
    <>
      {actions.dialogs.value.map((dialog, index) => {
        switch (dialog.kind) {
          case "startChat":
            return <StartChatDialog key={index} form={dialog} actions={actions} />;
          case "newGroup":
            return <CreateRoomDialog key={index} form={dialog} actions={actions} />;
          case "join":
            return <JoinRoomDialog key={index} form={dialog} actions={actions} />;
          case "invite":
            return <InviteDialog key={index} form={dialog} actions={actions} />;
          case "leave":
            return <LeaveDialog key={index} form={dialog} actions={actions} />;
          case "settings":
            return <RoomSettingsDialog key={index} settings={dialog} actions={actions} />;
        }
      })}
    </>
  );
}
