/** @jsxImportSource preact */
/**
 * Reporting a person from the room's member list: a button beside Ignore, and a dialog that asks
 * for a reason and sends it to the server's administrators. Part of the room dialogs' chunk.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useState } from "preact/hooks";
import type { MessageParams } from "../../i18n/index.ts";
import { type MemberReportKey, memberReportText } from "../../i18n/member_report.ts";
import { MAX_USER_REPORT_REASON, reportUser } from "../../state/report_user.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";
import { DialogButtons } from "./parts.tsx";

function useText(): (key: MemberReportKey, params?: MessageParams) => string {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return (key, params) => memberReportText(locale, key, params);
}

/** "Report" beside a member, and its dialog; `class` is the member row's button class. */
export function ReportUserButton(
  props: { userId: string; name: string; class: string },
): JSX.Element {
  const t = useText();
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class={props.class}
        aria-label={t("memberReport.actionLabel", { name: props.name })}
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
      >
        {t("memberReport.action")}
      </button>
      {open && (
        <ReportUserDialog
          userId={props.userId}
          name={props.name}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}

function ReportUserDialog(
  props: { userId: string; name: string; onClose: () => void },
): JSX.Element {
  const { i18n, session } = useApp();
  const t = useText();
  const ids = useId();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; key: MemberReportKey } | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    const client = session.clientReady.value;
    if (busy || result?.ok || !client) return;
    setBusy(true);
    try {
      await reportUser(client, props.userId, reason.trim());
      setResult({ ok: true, key: "memberReport.done" });
    } catch (err) {
      console.warn("gemeng: the report was not sent", err);
      const elsewhere = (err as { code?: string }).code === "elsewhere";
      setResult({ ok: false, key: elsewhere ? "memberReport.elsewhere" : "memberReport.failed" });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={t("memberReport.title", { name: props.name })}
      onClose={props.onClose}
      describedBy={`${ids}-body`}
      focusKey={result?.ok ? "done" : "form"}
    >
      <form class="flex flex-col gap-3" onSubmit={(event) => void submit(event)}>
        <p id={`${ids}-body`} class="text-sm">{t("memberReport.body")}</p>
        {!result?.ok && (
          <>
            <label for={`${ids}-reason`} class="text-sm font-semibold">
              {t("memberReport.reason")}
            </label>
            <textarea
              id={`${ids}-reason`}
              name="reason"
              rows={3}
              maxLength={MAX_USER_REPORT_REASON}
              value={reason}
              data-autofocus
              onInput={(event) => setReason((event.currentTarget as HTMLTextAreaElement).value)}
              class="w-full rounded-md border border-slate-400 bg-white p-2 text-sm focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:bg-slate-800"
            />
          </>
        )}
        <p
          role={result?.ok === false ? "alert" : "status"}
          class={`text-sm empty:hidden ${
            result?.ok === false
              ? "text-red-800 dark:text-red-300"
              : "text-emerald-800 dark:text-emerald-300"
          }`}
        >
          {result ? t(result.key) : ""}
        </p>
        <DialogButtons>
          {result?.ok ? <Button onClick={props.onClose}>{t("memberReport.close")}</Button> : (
            <>
              <Button variant="quiet" onClick={props.onClose}>{i18n.t("rooms.cancel")}</Button>
              <Button type="submit" busy={busy}>{t("memberReport.send")}</Button>
            </>
          )}
        </DialogButtons>
      </form>
    </Dialog>
  );
}
