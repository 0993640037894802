/** @jsxImportSource preact */
/**
 * Registration tokens (create, list, revoke) and server notices (to every user or to chosen
 * ones) in the admin console.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useState } from "preact/hooks";
import { ADMIN, type AdminApi, query, seg } from "../../state/admin_api.ts";
import { INPUT_CLASS } from "../rooms/parts.tsx";
import {
  Btn,
  Check,
  Done,
  Form,
  Input,
  Panel,
  Problem,
  Table,
  useAction,
  useAdminApi,
  useConfirm,
  useLoad,
  useText,
} from "./admin_parts.tsx";

/** A registration token. */
interface Token {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
}

/** The registration tokens section. */
export function TokensSection(): JSX.Element {
  const api = useAdminApi();
  const { t, time, num } = useText();
  const action = useAction();
  const confirm = useConfirm();
  const [token, setToken] = useState("");
  const [uses, setUses] = useState("");
  const [expiry, setExpiry] = useState("");
  const tokens = useLoad(() => api.get("/v1/registration_tokens"), []);
  const list: Token[] = tokens.data?.registration_tokens ?? [];
  const create = () =>
    action.run(async () => {
      const made: Token = await api.call("POST", `${ADMIN}/v1/registration_tokens/new`, {
        ...(token.trim() ? { token: token.trim() } : {}),
        ...(uses.trim() ? { uses_allowed: Number(uses) } : {}),
        // The end of the chosen day, in the admin's time zone.
        ...(expiry ? { expiry_time: new Date(`${expiry}T23:59:59`).getTime() } : {}),
      });
      setToken("");
      setUses("");
      setExpiry("");
      tokens.reload();
      return t("tokenCreated", { token: made.token });
    });
  return (
    <>
      <Panel title={t("createToken")}>
        <Form onSubmit={create} label={t("createToken")}>
          <Input
            label={t("token")}
            value={token}
            onInput={setToken}
            hint={t("tokenHint")}
          />
          <Input label={t("usesAllowed")} type="number" value={uses} onInput={setUses} />
          <Input label={t("expires")} type="date" value={expiry} onInput={setExpiry} />
          <Btn submit kind="main" busy={action.busy}>{t("create")}</Btn>
        </Form>
        <Problem text={action.problem} />
        <Done text={action.done} />
      </Panel>
      <Panel title={t("tokens")}>
        <Problem text={tokens.problem} />
        <Table
          caption={t("tokens")}
          head={[
            t("token"),
            t("used"),
            t("pending"),
            t("expires"),
            "",
          ]}
          rows={list.map((item) => ({
            key: item.token,
            cells: [
              <code key="k94" class="break-all">{item.token}</code>,
              item.uses_allowed === null
                ? t("usedUnlimited", { used: num(item.completed) })
                : t("usedOf", { used: num(item.completed), allowed: num(item.uses_allowed) }),
              num(item.pending),
              item.expiry_time === null ? t("never") : time(item.expiry_time),
              <Btn
                key="k100"
                kind="danger"
                label={t("revokeToken", { token: item.token })}
                onClick={() =>
                  confirm.ask({
                    title: t("revokeToken", { token: item.token }),
                    text: t("revokeText"),
                    confirm: t("revoke"),
                    onConfirm: async () => {
                      await api.call(
                        "DELETE",
                        `${ADMIN}/v1/registration_tokens/${seg(item.token)}`,
                      );
                      tokens.reload();
                    },
                  })}
              >
                {t("revoke")}
              </Btn>,
            ],
          }))}
        />
        {confirm.dialog}
      </Panel>
    </>
  );
}

/** Every active local user (guests and the notices' own account left out), page by page. */
async function everyUser(api: AdminApi): Promise<string[]> {
  const info = await api.get("/v1/gemeng/server_info");
  const system: string | undefined = info.server_notices?.system_user_id;
  const users: string[] = [];
  let from: string | undefined = "0";
  while (from !== undefined) {
    const page: { users: { name: string }[]; next_token?: string } = await api.get(
      `/v2/users${query({ from, limit: 500, guests: false })}`,
    );
    users.push(...page.users.map((user) => user.name).filter((name) => name !== system));
    from = page.next_token;
  }
  return users;
}

/** The server notices section. */
export function NoticesSection(): JSX.Element {
  const api = useAdminApi();
  const { t, num } = useText();
  const action = useAction();
  const messageId = useId();
  const usersId = useId();
  const [message, setMessage] = useState("");
  const [toAll, setToAll] = useState(true);
  const [chosen, setChosen] = useState("");
  const [progress, setProgress] = useState<string | null>(null);
  const [failed, setFailed] = useState<string[]>([]);
  // One run's transaction IDs stay while the text does, so sending again after a failure
  // does not notify anyone twice.
  const [run, setRun] = useState(() => Date.now().toString(36));
  const send = () =>
    action.run(async () => {
      const body = message.trim();
      if (!body) throw new Error(t("noticeEmpty"));
      const users = toAll
        ? await everyUser(api)
        : chosen.split(/[\s,]+/).filter((id) => id.startsWith("@"));
      const failures: string[] = [];
      let sent = 0;
      for (const userId of users) {
        try {
          await api.call(
            "PUT",
            `${ADMIN}/v1/send_server_notice/${seg(`console-${run}-${userId}`)}`,
            { user_id: userId, content: { msgtype: "m.text", body } },
          );
          sent++;
        } catch {
          failures.push(userId);
        }
        setProgress(t("noticeProgress", { sent: num(sent), total: num(users.length) }));
      }
      setFailed(failures);
      if (failures.length === 0) setRun(Date.now().toString(36));
      return t("noticeSent", { sent: num(sent), total: num(users.length) });
    });
  return (
    <Panel title={t("notices")}>
      <form
        class="flex flex-col gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <div class="flex flex-col gap-1">
          <label for={messageId} class="text-sm font-medium">{t("noticeText")}</label>
          <textarea
            id={messageId}
            class={INPUT_CLASS}
            rows={4}
            maxLength={10000}
            value={message}
            onInput={(
              event,
            ) => [setMessage(event.currentTarget.value), setRun(Date.now().toString(36))]}
          />
        </div>
        <Check label={t("noticeToAll")} checked={toAll} onChange={setToAll} />
        {!toAll && (
          <div class="flex flex-col gap-1">
            <label for={usersId} class="text-sm font-medium">{t("noticeUsers")}</label>
            <textarea
              id={usersId}
              class={INPUT_CLASS}
              rows={3}
              value={chosen}
              onInput={(event) => setChosen(event.currentTarget.value)}
            />
          </div>
        )}
        <div>
          <Btn submit kind="main" busy={action.busy}>{t("sendNotice")}</Btn>
        </div>
      </form>
      {action.busy && <p role="status" class="text-sm">{progress}</p>}
      <Problem text={action.problem} />
      <Done text={action.done} />
      {failed.length > 0 && (
        <p role="alert" class="text-sm text-red-800 dark:text-red-300">
          {t("noticeFailed", { users: failed.join(", ") })}
        </p>
      )}
    </Panel>
  );
}
