/** @jsxImportSource preact */
/**
 * The account's devices in the security settings: this device first, each marked verified or
 * not, with Verify, Rename and Sign out device.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { formatDateTime } from "../../i18n/format.ts";
import { securityModel } from "../../state/security.ts";
import type { DeviceRow } from "../../state/security_devices.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";

const SECTION =
  "flex flex-col gap-3 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900";

/** The devices section. */
export function DeviceList(): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const devices = securityModel(app).devices;
  const rows = devices.rows.value;
  const error = devices.error.value;
  const action = devices.action.value;
  const headingId = useId();
  useEffect(() => devices.watch(), [devices]);
  return (
    <section class={SECTION} aria-labelledby={headingId}>
      <h2 id={headingId} class="text-base font-bold">{i18n.t("security.devices")}</h2>
      <div role="alert" class="empty:hidden">
        {error && (
          <p class="text-sm text-red-800 dark:text-red-200">
            {i18n.t("security.devicesFailed", { message: error })}
          </p>
        )}
        {action?.state === "failed" && (
          <p class="text-sm text-red-800 dark:text-red-200">
            {i18n.t("security.actionFailed", { message: action.message ?? "" })}
          </p>
        )}
      </div>
      {rows === null
        ? <p class="text-sm">{i18n.t("security.devicesLoading")}</p>
        : (
          <ul class="flex flex-col gap-2">
            {rows.map((row) => <DeviceItem key={row.deviceId} row={row} />)}
          </ul>
        )}
    </section>
  );
}

function DeviceItem(props: { row: DeviceRow }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const devices = securityModel(app).devices;
  const { row } = props;
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState("");
  const nameId = useId();
  const nameField = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (renaming) nameField.current?.focus();
  }, [renaming]);
  const action = devices.action.value;
  const busy = action?.deviceId === row.deviceId && action.state === "busy";
  const title = row.displayName || i18n.t("security.unnamedDevice");
  const when = row.lastSeenTs ? formatDateTime(i18n.locale.value, row.lastSeenTs) : null;
  const mark = row.trust === "verified"
    ? { text: i18n.t("security.markVerified"), style: "text-green-800 dark:text-green-300" }
    : row.trust === "unverified"
    ? { text: i18n.t("security.markUnverified"), style: "text-red-800 dark:text-red-300" }
    : { text: i18n.t("security.markNoKeys"), style: "text-slate-600 dark:text-slate-300" };
  return (
    <li
      class="flex flex-col gap-2 rounded-md border border-slate-300 p-3 text-sm dark:border-slate-700"
      aria-label={title}
      data-device-id={row.deviceId}
    >
      <div class="flex flex-wrap items-baseline justify-between gap-2">
        <span class="font-semibold break-all">
          {title}
          {row.current && (
            <span class="ml-2 rounded bg-sky-100 px-1.5 py-0.5 text-xs font-semibold text-sky-900 dark:bg-sky-900 dark:text-sky-100">
              {i18n.t("security.thisDevice")}
            </span>
          )}
        </span>
        <span class={`text-xs font-semibold ${mark.style}`} data-trust={row.trust}>
          {mark.text}
        </span>
      </div>
      <span class="text-xs text-slate-600 dark:text-slate-300">
        {i18n.t("security.deviceId", { deviceId: row.deviceId })}
        {when && <>{" · "}{i18n.t("security.lastSeen", { date: when })}</>}
      </span>
      {renaming && (
        <form
          class="flex flex-wrap items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            setRenaming(false);
            void devices.rename(row.deviceId, name);
          }}
        >
          <div class="flex min-w-0 flex-1 flex-col gap-1">
            <label for={nameId} class="text-xs font-medium">{i18n.t("security.deviceName")}</label>
            <input
              id={nameId}
              class="rounded-md border border-slate-400 bg-white px-2 py-1.5 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
              value={name}
              maxLength={100}
              required
              onInput={(event) => setName(event.currentTarget.value)}
              ref={nameField}
            />
          </div>
          <Button type="submit">{i18n.t("security.save")}</Button>
          <Button variant="quiet" onClick={() => setRenaming(false)}>
            {i18n.t("security.cancel")}
          </Button>
        </form>
      )}
      <div class="flex flex-wrap gap-2">
        {!row.current && row.trust === "unverified" && (
          <Button
            busy={busy}
            onClick={() => void devices.verify(row.deviceId)}
          >
            {i18n.t("security.verify")}
          </Button>
        )}
        {!renaming && (
          <Button
            variant="quiet"
            busy={busy}
            onClick={() => {
              setName(row.displayName ?? "");
              setRenaming(true);
            }}
          >
            {i18n.t("security.rename")}
          </Button>
        )}
        {!row.current && (
          <Button
            variant="quiet"
            busy={busy}
            onClick={() => void devices.signOut(row.deviceId)}
          >
            {i18n.t("security.signOutDevice")}
          </Button>
        )}
      </div>
    </li>
  );
}
