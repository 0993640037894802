/** @jsxImportSource preact */
/**
 * Creating a group: its name and topic, whether it is encrypted (on by default, and for good),
 * and the people to invite. The new room opens.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import type { NewGroupForm, RoomActions } from "../../state/room_actions.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";
import { DialogButtons, INPUT_CLASS, ProblemText } from "./parts.tsx";
import { UserPickerField } from "./user_picker.tsx";

/** The new-group dialog. */
export function CreateRoomDialog(props: { form: NewGroupForm; actions: RoomActions }): JSX.Element {
  const { i18n } = useApp();
  const { form, actions } = props;
  const id = useId();
  const busy = form.task.busy.value;
  const close = () => actions.close(form);
  return (
    <Dialog title={i18n.t("rooms.group.title")} onClose={close}>
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          void form.create();
        }}
      >
        <div class="flex flex-col gap-1">
          <label for={`${id}-name`} class="text-sm font-medium">{i18n.t("rooms.group.name")}</label>
          <input
            id={`${id}-name`}
            class={INPUT_CLASS}
            data-autofocus
            required
            maxLength={255}
            value={form.name.value}
            onInput={(event) => form.name.value = event.currentTarget.value}
          />
        </div>
        <div class="flex flex-col gap-1">
          <label for={`${id}-topic`} class="text-sm font-medium">
            {i18n.t("rooms.group.topic")}
          </label>
          <textarea
            id={`${id}-topic`}
            class={INPUT_CLASS}
            rows={2}
            value={form.topic.value}
            onInput={(event) => form.topic.value = event.currentTarget.value}
          />
        </div>
        <div class="flex flex-col gap-1">
          <label class="flex items-center gap-2 text-sm font-medium">
            <input
              type="checkbox"
              class="h-4 w-4"
              checked={form.encrypted.value}
              disabled={form.encryptionForced.value}
              aria-describedby={`${id}-encryption`}
              onChange={(event) => form.encrypted.value = event.currentTarget.checked}
            />
            {i18n.t("rooms.group.encrypted")}
          </label>
          <p id={`${id}-encryption`} class="text-sm text-slate-600 dark:text-slate-300">
            {i18n.t(
              form.encryptionForced.value
                ? "rooms.group.encryptedForced"
                : form.encrypted.value
                ? "rooms.group.encryptedHint"
                : "rooms.group.plainHint",
            )}
          </p>
        </div>
        <UserPickerField picker={form.picker} pickHint="rooms.picker.add" busy={busy} />
        <ProblemText problem={form.task.problem.value} />
        <DialogButtons>
          <Button variant="quiet" onClick={close}>{i18n.t("rooms.cancel")}</Button>
          <Button type="submit" busy={busy}>
            {busy ? i18n.t("rooms.group.creating") : i18n.t("rooms.group.create")}
          </Button>
        </DialogButtons>
      </form>
    </Dialog>
  );
}
