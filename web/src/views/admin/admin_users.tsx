/** @jsxImportSource preact */
/**
 * Users in the admin console: list and search, create, and per user: admin flag, lock,
 * suspension, password reset, deactivation (with or without erasure) and their devices.
 *
 * @module
 */

import type { JSX } from "preact";
import { useRef, useState } from "preact/hooks";
import { ADMIN, query, seg } from "../../state/admin_api.ts";
import {
  AskBtn,
  Btn,
  Check,
  CheckInto,
  Done,
  Form,
  Input,
  Panel,
  Problem,
  useAction,
  useAdminApi,
  useConfirm,
  useGet,
  useText,
} from "./admin_parts.tsx";
import { More, OpenBtn, SearchForm, Table, useSearchPages } from "./admin_lists.tsx";

/** A user as the v2 list shows one. */
interface User {
  name: string;
  displayname: string | null;
  admin: boolean;
  deactivated: boolean;
  erased: boolean;
  locked: boolean;
  suspended: boolean;
  last_seen_ts: number | null;
}

function useStateText() {
  const { t } = useText();
  return (user: User) =>
    [
      user.deactivated ? t(user.erased ? "erased" : "deactivated") : t("active"),
      user.locked && t("locked"),
      user.suspended && t("suspended"),
    ].filter(Boolean).join(", ");
}

/** A required field for a new password. */
function NewPassword(
  props: { label: string; value: string; onInput: (value: string) => void },
): JSX.Element {
  return <Input {...props} type="password" autocomplete="new-password" required />;
}

function CreateUser(props: { onCreated: (userId: string) => void }): JSX.Element {
  const api = useAdminApi();
  const { t } = useText();
  const action = useAction();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [admin, setAdmin] = useState(false);
  const create = () =>
    action.run(async () => {
      const localpart = name.trim().replace(/^@/, "").split(":")[0];
      // The v2 PUT also changes an existing account: ask first so "create" never does that.
      await api.get(`/v1/username_available${query({ username: localpart })}`);
      const userId = `@${localpart}:${api.serverName}`;
      await api.call("PUT", `${ADMIN}/v2/users/${seg(userId)}`, {
        password,
        admin,
        ...(displayName.trim() ? { displayname: displayName.trim() } : {}),
      });
      setName("");
      setPassword("");
      setDisplayName("");
      props.onCreated(userId);
      return t("userCreated", { userId });
    });
  return (
    <Panel title={t("createUser")}>
      <Form onSubmit={create} label={t("createUser")}>
        <Input label={t("username")} value={name} onInput={setName} required />
        <NewPassword label={t("password")} value={password} onInput={setPassword} />
        <Input label={t("displayName")} value={displayName} onInput={setDisplayName} />
        <Check label={t("makeAdmin")} checked={admin} onChange={setAdmin} />
        <Btn submit kind="main" busy={action.busy}>{t("create")}</Btn>
      </Form>
      <Problem text={action.problem} />
      <Done text={action.done} />
    </Panel>
  );
}

function Devices(props: { userId: string }): JSX.Element {
  const api = useAdminApi();
  const { t, time } = useText();
  const confirm = useConfirm();
  const path = `/v2/users/${seg(props.userId)}/devices`;
  const devices = useGet(path);
  const list: {
    device_id: string;
    display_name: string | null;
    last_seen_ip: string | null;
    last_seen_ts: number | null;
  }[] = devices.data?.devices ?? [];
  return (
    <>
      <Problem text={devices.problem} />
      <Table
        caption={t("devicesOf", { userId: props.userId })}
        head={["device", "name", "lastSeen", "address", ""]}
        rows={list.map((device) => ({
          key: device.device_id,
          cells: [
            device.device_id,
            device.display_name ?? "",
            time(device.last_seen_ts),
            device.last_seen_ip ?? "",
            <AskBtn
              key="k122"
              kind="danger"
              named
              ask={confirm.ask}
              asking={{
                title: t("signOutDevice", { device: device.device_id }),
                text: t("signOutDeviceText"),
                confirm: t("signOut"),
                onConfirm: async () => {
                  await api.call("DELETE", `${ADMIN}${path}/${seg(device.device_id)}`);
                  devices.reload();
                },
              }}
            />,
          ],
        }))}
      />
      {confirm.dialog}
    </>
  );
}

function UserDetail(props: { userId: string; onChanged: () => void }): JSX.Element {
  const api = useAdminApi();
  const { t } = useText();
  const stateText = useStateText();
  const confirm = useConfirm();
  const action = useAction();
  const [password, setPassword] = useState("");
  const [logout, setLogout] = useState(true);
  const choice = useRef({ erase: false });
  const path = `/v2/users/${seg(props.userId)}`;
  const user = useGet(path);
  const changed = (message: string) => {
    user.reload();
    props.onChanged();
    return message;
  };
  /** PUTs `body` to an admin path about this user; `done` says what changed. */
  const change = (at: string, body: Record<string, unknown>, done: string) =>
    action.run(async () => {
      await api.call("PUT", `${ADMIN}${at}`, body);
      return changed(done);
    });
  const u: User | null = user.data;
  const id = props.userId;
  return (
    <Panel title={t("userTitle", { userId: id })}>
      <Problem text={user.problem} />
      {u && (
        <>
          <p class="text-sm">
            {u.displayname ?? ""} · {stateText(u)} · {u.admin ? t("isAdmin") : t("notAdmin")}
          </p>
          <div class="flex flex-wrap gap-2">
            <Btn
              busy={action.busy}
              onClick={() =>
                change(
                  `/v1/users/${seg(id)}/admin`,
                  { admin: !u.admin },
                  t(u.admin ? "adminRemoved" : "adminGranted"),
                )}
            >
              {t(u.admin ? "removeAdmin" : "makeAdmin")}
            </Btn>
            <Btn
              busy={action.busy}
              onClick={() =>
                change(
                  path,
                  { locked: !u.locked },
                  t(u.locked ? "unlockedDone" : "lockedDone"),
                )}
            >
              {t(u.locked ? "unlock" : "lock")}
            </Btn>
            <Btn
              busy={action.busy}
              onClick={() =>
                change(
                  `/v1/suspend/${seg(id)}`,
                  { suspend: !u.suspended },
                  t(u.suspended ? "unsuspendedDone" : "suspendedDone"),
                )}
            >
              {t(u.suspended ? "unsuspend" : "suspend")}
            </Btn>
            {!u.deactivated && (
              <Btn
                kind="danger"
                onClick={() => {
                  choice.current = { erase: false };
                  confirm.ask({
                    title: t("deactivateTitle", { userId: id }),
                    text: t("deactivateText"),
                    confirm: t("deactivate"),
                    children: <CheckInto label={t("erase")} into={choice.current} name="erase" />,
                    onConfirm: async () => {
                      await api.call("POST", `${ADMIN}/v1/deactivate/${seg(id)}`, {
                        erase: choice.current.erase,
                      });
                      changed("");
                    },
                  });
                }}
              >
                {t("deactivate")}
              </Btn>
            )}
          </div>
          <Form
            label={t("resetPassword")}
            onSubmit={() =>
              action.run(async () => {
                await api.call("POST", `${ADMIN}/v1/reset_password/${seg(id)}`, {
                  new_password: password,
                  logout_devices: logout,
                });
                setPassword("");
                return changed(t("passwordReset"));
              })}
          >
            <NewPassword label={t("newPassword")} value={password} onInput={setPassword} />
            <Check label={t("logoutDevices")} checked={logout} onChange={setLogout} />
            <Btn submit busy={action.busy}>{t("resetPassword")}</Btn>
          </Form>
          <Problem text={action.problem} />
          <Done text={action.done} />
          <h3 class="text-sm font-bold">{t("sessions")}</h3>
          <Devices userId={id} />
        </>
      )}
      {confirm.dialog}
    </Panel>
  );
}

/** The users section. */
export function UsersSection(): JSX.Element {
  const { t, time } = useText();
  const stateText = useStateText();
  const pages = useSearchPages();
  const { shown, limit } = pages;
  const [withDeactivated, setWithDeactivated] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const users = useGet(
    `/v2/users${query({ name: shown, deactivated: withDeactivated, locked: true, limit })}`,
  );
  const list: User[] = users.data?.users ?? [];
  return (
    <>
      <Panel title={t("users")}>
        <SearchForm pages={pages} label={t("searchUsers")}>
          <Check
            label={t("withDeactivated")}
            checked={withDeactivated}
            onChange={setWithDeactivated}
          />
        </SearchForm>
        <Problem text={users.problem} />
        <Table
          caption={t("users")}
          head={["user", "name", "adminColumn", "state", "lastSeen", ""]}
          rows={list.map((user) => ({
            key: user.name,
            cells: [
              user.name,
              user.displayname ?? "",
              user.admin ? t("yes") : t("no"),
              stateText(user),
              time(user.last_seen_ts),
              <OpenBtn
                key="k331"
                label={t("manage", { userId: user.name })}
                onClick={() => setSelected(user.name)}
              />,
            ],
          }))}
        />
        <More show={!!users.data?.next_token} onMore={pages.more} />
      </Panel>
      {selected && <UserDetail key={selected} userId={selected} onChanged={users.reload} />}
      <CreateUser onCreated={(id) => [users.reload(), setSelected(id)]} />
    </>
  );
}
