/** @jsxImportSource preact */
/**
 * The composer's share-location button and its dialog: share this device's current position
 * (the browser asks for permission), or put a pin on the map (click, drag or arrow keys) with
 * an optional description, then send.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useMemo, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { locationModel, ShareLocationForm } from "../../state/location.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { ModalDialog } from "../modal_dialog.tsx";
import { COMPOSER_BUTTON, INPUT_CLASS } from "../polls/styles.ts";
import { PollsIcon } from "../polls/poll_icons.tsx";
import { formatCoordinates, TileMap } from "./tile_map.tsx";

/** The composer's share-location button and dialog. */
export function LocationAction(props: { room: Room }): JSX.Element {
  const { i18n } = useApp();
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class={COMPOSER_BUTTON}
        aria-label={i18n.t("location.share")}
        title={i18n.t("location.share")}
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
      >
        <PollsIcon name="pin" />
      </button>
      {open && <ShareLocationDialog room={props.room} onClose={() => setOpen(false)} />}
    </>
  );
}

const CHOICE =
  "flex min-h-12 w-full items-center gap-3 rounded-lg border border-slate-400 px-3 py-2 text-left text-sm font-semibold text-slate-900 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800";

function ShareLocationDialog(props: { room: Room; onClose: () => void }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const location = locationModel(app);
  const settings = location.settings.value;
  const form = useMemo(() => new ShareLocationForm(), []);
  const ids = useId();
  const step = form.step.value;
  const point = form.point.value;
  const problem = form.problem.value;
  const sending = form.sending.value;

  const send = async () => {
    const client = app.session.clientReady.value;
    if (!client) return;
    const sent = await form.send(
      client,
      props.room.roomId,
      (uri, description) =>
        step === "mine"
          ? i18n.t("location.text.self", { uri })
          : description
          ? i18n.t("location.text.described", { description, uri })
          : i18n.t("location.text.pin", { uri }),
    );
    if (sent) props.onClose();
  };

  return (
    <ModalDialog title={i18n.t("location.dialog.title")} onClose={props.onClose} wide>
      {(step === "choose" || step === "locating") && (
        <div class="flex flex-col gap-3">
          <p class="text-sm text-slate-700 dark:text-slate-300">
            {i18n.t("location.dialog.intro")}
          </p>
          <button
            type="button"
            class={CHOICE}
            disabled={step === "locating"}
            aria-busy={step === "locating"}
            onClick={() => void form.locate()}
          >
            <PollsIcon name="crosshair" class="h-5 w-5 shrink-0" />
            {step === "locating" ? i18n.t("location.locating") : i18n.t("location.mine")}
          </button>
          <button type="button" class={CHOICE} onClick={() => form.pickOnMap()}>
            <PollsIcon name="pin" class="h-5 w-5 shrink-0" />
            {i18n.t("location.pick")}
          </button>
        </div>
      )}
      {(step === "mine" || step === "pin") && point && location.ready.value && (
        <div class="flex flex-col gap-3">
          <p id={`${ids}-help`} class="text-sm text-slate-700 dark:text-slate-300">
            {step === "pin" ? i18n.t("location.pinHint") : i18n.t("location.mineHint")}
          </p>
          <TileMap
            key={settings.tileUrl}
            center={point}
            zoom={Math.min(form.zoom.value, settings.maxZoom)}
            settings={settings}
            height={260}
            accuracy={step === "mine" ? point.accuracy : undefined}
            label={step === "pin" ? i18n.t("location.picker") : i18n.t("location.map")}
            onZoom={(zoom) => form.zoom.value = zoom}
            onMove={step === "pin" ? (next) => form.movePin(next) : undefined}
            describedBy={step === "pin" ? `${ids}-help` : undefined}
          />
          <p class="text-sm tabular-nums" aria-live="polite">
            {i18n.t("location.selected", {
              coordinates: i18n.t("location.coordinates", formatCoordinates(point)),
            })}
          </p>
          {step === "pin" && (
            <div class="flex flex-col gap-1">
              <label for={`${ids}-d`} class="text-sm font-medium">
                {i18n.t("location.description")}
              </label>
              <input
                id={`${ids}-d`}
                class={INPUT_CLASS}
                value={form.description.value}
                maxLength={200}
                onInput={(event) => form.description.value = event.currentTarget.value}
              />
            </div>
          )}
        </div>
      )}
      <div role="alert" class="empty:hidden">
        {problem && (
          <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
            {i18n.t(problem.key, problem.params)}
          </p>
        )}
      </div>
      <div class="flex flex-wrap justify-end gap-2">
        {(step === "mine" || step === "pin") && (
          <Button variant="quiet" onClick={() => form.back()}>{i18n.t("location.back")}</Button>
        )}
        <Button variant="quiet" onClick={props.onClose}>{i18n.t("location.cancel")}</Button>
        {(step === "mine" || step === "pin") && (
          <Button onClick={() => void send()} busy={sending}>
            {sending ? i18n.t("location.sending") : i18n.t("location.send")}
          </Button>
        )}
      </div>
    </ModalDialog>
  );
}
