/** @jsxImportSource preact */
/**
 * Joining a room by its address: a room alias, a room ID with servers to join through, or a
 * link. The room opens once joined; a failure says why in plain words.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import type { JoinRoomForm } from "../../state/join_room.ts";
import type { RoomActions } from "../../state/room_actions.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";
import { DialogButtons, INPUT_CLASS, ProblemText } from "./parts.tsx";

const HINT_CLASS = "text-sm text-slate-600 dark:text-slate-300";

/** The join-a-room dialog. */
export function JoinRoomDialog(props: { form: JoinRoomForm; actions: RoomActions }): JSX.Element {
  const { i18n } = useApp();
  const { form, actions } = props;
  const id = useId();
  const busy = form.task.busy.value;
  const close = () => actions.close(form);
  return (
    <Dialog title={i18n.t("rooms.join.title")} onClose={close} describedBy={`${id}-intro`}>
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          void form.join();
        }}
      >
        <p id={`${id}-intro`} class="text-sm">{i18n.t("rooms.join.intro")}</p>
        <div class="flex flex-col gap-1">
          <label for={`${id}-address`} class="text-sm font-medium">
            {i18n.t("rooms.join.address")}
          </label>
          <input
            id={`${id}-address`}
            class={INPUT_CLASS}
            data-autofocus
            autocomplete="off"
            spellcheck={false}
            placeholder="#town-hall:example.org"
            aria-describedby={`${id}-address-hint`}
            readOnly={busy}
            value={form.address.value}
            onInput={(event) => form.address.value = event.currentTarget.value}
          />
          <p id={`${id}-address-hint`} class={HINT_CLASS}>{i18n.t("rooms.join.addressHint")}</p>
        </div>
        <div class="flex flex-col gap-1">
          <label for={`${id}-via`} class="text-sm font-medium">{i18n.t("rooms.join.via")}</label>
          <input
            id={`${id}-via`}
            class={INPUT_CLASS}
            autocomplete="off"
            spellcheck={false}
            aria-describedby={`${id}-via-hint`}
            readOnly={busy}
            value={form.via.value}
            onInput={(event) => form.via.value = event.currentTarget.value}
          />
          <p id={`${id}-via-hint`} class={HINT_CLASS}>{i18n.t("rooms.join.viaHint")}</p>
        </div>
        <p role="status" class="text-sm empty:hidden">{busy ? i18n.t("rooms.join.joining") : ""}</p>
        <ProblemText problem={form.task.problem.value} />
        <DialogButtons>
          <Button variant="quiet" onClick={close}>{i18n.t("rooms.cancel")}</Button>
          <Button type="submit" busy={busy}>{i18n.t("rooms.join.submit")}</Button>
        </DialogButtons>
      </form>
    </Dialog>
  );
}
