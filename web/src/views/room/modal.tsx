/** @jsxImportSource preact */
/**
 * The timeline's delete confirmation, on the shared `<dialog>`-based modal.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { ModalDialog } from "../modal_dialog.tsx";

/** Asks before deleting a message. */
export function ConfirmDelete(props: { onConfirm: () => void; onClose: () => void }): JSX.Element {
  const { i18n } = useApp();
  const bodyId = useId();
  return (
    <ModalDialog
      title={i18n.t("timeline.delete.title")}
      onClose={props.onClose}
      alert
      describedBy={bodyId}
    >
      <p id={bodyId}>{i18n.t("timeline.delete.body")}</p>
      <div class="flex flex-wrap justify-end gap-2">
        <Button variant="quiet" onClick={props.onClose}>{i18n.t("timeline.delete.cancel")}</Button>
        <Button
          onClick={() => {
            props.onConfirm();
            props.onClose();
          }}
        >
          {i18n.t("timeline.delete.confirm")}
        </Button>
      </div>
    </ModalDialog>
  );
}
