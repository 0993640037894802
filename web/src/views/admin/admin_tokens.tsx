/** @jsxImportSource preact */
/**
 * Registration tokens (create, list, revoke) and server notices (to every user or to chosen
 * ones) in the admin console.
 *
 * @module
 */

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { ADMIN, type AdminApi, query, seg } from "../../state/admin_api.ts";
import {
  AskBtn,
  Btn,
  Check,
  Done,
  Form,
  Input,
  Panel,
  Problem,
  TextArea,
  useAction,
  useAdminApi,
  useConfirm,
  useGet,
  useText,
} from "./admin_parts.tsx";
import { Table } from "./admin_lists.tsx";

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
  const tokens = useGet("/v1/registration_tokens");
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
          head={["token", "used", "pending", "expires", ""]}
          rows={list.map((item) => ({
            key: item.token,
            cells: [
              <code key="k94" class="break-all">{item.token}</code>,
              item.uses_allowed === null
                ? t("usedUnlimited", { used: num(item.completed) })
                : t("usedOf", { used: num(item.completed), allowed: num(item.uses_allowed) }),
              num(item.pending),
              item.expiry_time === null ? t("never") : time(item.expiry_time),
              <AskBtn
                key="k100"
                kind="danger"
                named
                ask={confirm.ask}
                asking={{
                  title: t("revokeToken", { token: item.token }),
                  text: t("revokeText"),
                  confirm: t("revoke"),
                  onConfirm: async () => {
                    await api.call("DELETE", `${ADMIN}/v1/registration_tokens/${seg(item.token)}`);
                    tokens.reload();
                  },
                }}
              />,
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
        <TextArea
          label={t("noticeText")}
          rows={4}
          maxLength={10000}
          value={message}
          onInput={(value) => [setMessage(value), setRun(Date.now().toString(36))]}
        />
        <Check label={t("noticeToAll")} checked={toAll} onChange={setToAll} />
        {!toAll && (
          <TextArea
            label={t("noticeUsers")}
            rows={3}
            value={chosen}
            onInput={setChosen}
          />
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
