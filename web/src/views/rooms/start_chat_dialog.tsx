/** @jsxImportSource preact */
/**
 * Starting a direct chat: find the person, pick them; the chat opens (an existing one, or a new
 * encrypted one).
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import type { RoomActions, StartChatForm } from "../../state/room_actions.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";
import { DialogButtons, ProblemText } from "./parts.tsx";
import { UserPickerField } from "./user_picker.tsx";

/** The start-a-chat dialog. */
export function StartChatDialog(
  props: { form: StartChatForm; actions: RoomActions },
): JSX.Element {
  const { i18n } = useApp();
  const { form, actions } = props;
  const descriptionId = useId();
  const busy = form.task.busy.value;
  const close = () => actions.close(form);
  return (
    <Dialog title={i18n.t("rooms.startChat.title")} onClose={close} describedBy={descriptionId}>
      <p id={descriptionId} class="text-sm">{i18n.t("rooms.startChat.intro")}</p>
      <UserPickerField
        picker={form.picker}
        pickHint="rooms.startChat.pick"
        onPick={(user) =>
          void form.start(user)}
        busy={busy}
      />
      <p role="status" class="text-sm empty:hidden">
        {busy ? i18n.t("rooms.startChat.opening") : ""}
      </p>
      <ProblemText problem={form.task.problem.value} />
      <DialogButtons>
        <Button variant="quiet" onClick={close}>{i18n.t("rooms.cancel")}</Button>
      </DialogButtons>
    </Dialog>
  );
}
