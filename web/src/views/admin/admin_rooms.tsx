/** @jsxImportSource preact */
/**
 * Rooms in the admin console: the list with members and size, a room's details and members,
 * blocking, purging the history before a date (admin_room_purge.tsx), and deletion (with purge), whose background task the console follows.
 *
 * @module
 */

import type { JSX } from "preact";
import { useRef, useState } from "preact/hooks";
import { ADMIN, type AdminApi, query, seg } from "../../state/admin_api.ts";
import {
  Btn,
  CheckInto,
  Done,
  Panel,
  Problem,
  useAction,
  useAdminApi,
  useConfirm,
  useGet,
  useLoad,
  useText,
  waitForTask,
} from "./admin_parts.tsx";
import { Facts, More, OpenBtn, SearchForm, Table, useSearchPages } from "./admin_lists.tsx";
import { usePurgeHistory } from "./admin_room_purge.tsx";

/** A room as the list shows one. */
interface Room {
  room_id: string;
  name: string | null;
  canonical_alias: string | null;
  joined_members: number;
  joined_local_members: number;
  events?: number;
  size_bytes?: number;
  public: boolean;
  encryption: string | null;
}

/** Deletes a room (v2) and waits for its task to end; the final status. */
async function deleteRoom(
  api: AdminApi,
  roomId: string,
  options: { purge: boolean; block: boolean },
): Promise<string> {
  const { delete_id: id } = await api.call("DELETE", `${ADMIN}/v2/rooms/${seg(roomId)}`, {
    purge: options.purge,
    block: options.block,
    force_purge: options.purge,
  });
  const task = await waitForTask(api, `/v2/rooms/delete_status/${seg(id)}`);
  return task ? task.status : "active";
}

/** Opens the delete confirmation for a room; `onDeleted` runs when the task completed. */
export function useDeleteRoom(onDeleted: (message: string) => void) {
  const api = useAdminApi();
  const { t } = useText();
  const confirm = useConfirm();
  const choices = useRef({ purge: true, block: false });
  /** Asks about `roomId`, named by `name` (its name, else its ID). */
  const ask = (roomId: string, name = roomId) => {
    choices.current = { purge: true, block: false };
    confirm.ask({
      title: t("deleteRoomTitle", { roomId: name }),
      text: t("deleteRoomText"),
      confirm: t("deleteRoom"),
      children: (
        <div class="flex flex-col gap-2">
          <CheckInto label={t("purge")} into={choices.current} name="purge" />
          <CheckInto label={t("blockToo")} into={choices.current} name="block" />
        </div>
      ),
      onConfirm: async () => {
        const status = await deleteRoom(api, roomId, choices.current);
        onDeleted(
          t(status === "complete" ? "roomDeleted" : "roomDeleting", { roomId: name }),
        );
      },
    });
  };
  return { ask, dialog: confirm.dialog };
}

function RoomDetail(props: { roomId: string; onChanged: (message: string) => void }) {
  const api = useAdminApi();
  const { t, num, bytes } = useText();
  const action = useAction();
  const path = `/v1/rooms/${seg(props.roomId)}`;
  const room = useLoad(
    () =>
      Promise.all([
        api.get(path),
        api.get(`${path}/members`),
        api.get(`${path}/block`),
      ]),
    [path],
  );
  const remove = useDeleteRoom(props.onChanged);
  const [purged, setPurged] = useState<string | null>(null);
  const purge = usePurgeHistory((message) => {
    setPurged(message);
    room.reload();
  });
  const [details, members, block] = room.data ?? [];
  return (
    <Panel title={t("roomTitle", { room: details?.name ?? props.roomId })}>
      <Problem text={room.problem} />
      {details && (
        <>
          <Facts
            rows={[
              ["roomId", details.room_id, "break-all"],
              ["alias", details.canonical_alias ?? "–", "break-all"],
              ["topic", details.topic ?? "–"],
              ["roomVersion", details.version],
              [
                "joinRule",
                `${details.join_rules ?? "–"}${details.public ? ` · ${t("inDirectory")}` : ""}`,
              ],
              ["encrypted", details.encryption ? t("yes") : t("no")],
              ["creator", details.creator ?? "–", "break-all"],
              [
                "size",
                t("eventsSize", {
                  events: num(details.events ?? 0),
                  size: bytes(details.size_bytes ?? 0),
                }),
              ],
              ["blocked", block?.block ? t("yes") : t("no")],
            ]}
          />
          <h3 class="text-sm font-bold">
            {t("membersCount", { count: num(members?.total ?? 0) })}
          </h3>
          <ul class="flex flex-col text-sm">
            {(members?.members as string[] ?? []).map((userId) => <li key={userId}>{userId}</li>)}
          </ul>
          <div class="flex flex-wrap gap-2">
            <Btn
              busy={action.busy}
              onClick={() =>
                action.run(async () => {
                  setPurged(null);
                  await api.call("PUT", `${ADMIN}${path}/block`, { block: !block?.block });
                  room.reload();
                  props.onChanged("");
                  return t(block?.block ? "roomUnblocked" : "roomBlocked");
                })}
            >
              {t(block?.block ? "unblock" : "block")}
            </Btn>
            <Btn
              kind="danger"
              onClick={() => purge.ask(props.roomId, details.name ?? props.roomId)}
            >
              {t("purgeHistory")}
            </Btn>
            <Btn
              kind="danger"
              onClick={() => remove.ask(props.roomId, details.name ?? props.roomId)}
            >
              {t("deleteRoom")}
            </Btn>
          </div>
          <Problem text={action.problem} />
          <Done text={purged ?? action.done} />
        </>
      )}
      {remove.dialog}
      {purge.dialog}
    </Panel>
  );
}

/** The rooms section. */
export function RoomsSection(): JSX.Element {
  const { t, num, bytes } = useText();
  const pages = useSearchPages();
  const [order, setOrder] = useState("name");
  const [selected, setSelected] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const rooms = useGet(
    `/v1/rooms${query({ search_term: pages.shown, order_by: order, limit: pages.limit })}`,
  );
  const list: Room[] = rooms.data?.rooms ?? [];
  const changed = (text: string) => {
    rooms.reload();
    if (text) [setMessage(text), setSelected(null)];
  };
  return (
    <>
      <Panel title={t("rooms")}>
        <SearchForm pages={pages} label={t("searchRooms")}>
          <label class="flex flex-col gap-1 text-sm font-medium">
            {t("order")}
            <select
              class="rounded-md border border-slate-400 bg-white px-2 py-2 text-base dark:border-slate-500 dark:bg-slate-800"
              value={order}
              onChange={(event) => setOrder(event.currentTarget.value)}
            >
              <option value="name">{t("byName")}</option>
              <option value="joined_members">{t("byMembers")}</option>
              <option value="size_bytes">{t("bySize")}</option>
            </select>
          </label>
        </SearchForm>
        <Done text={message} />
        <Problem text={rooms.problem} />
        <Table
          caption={t("rooms")}
          head={["room", "members", "localMembers", "size", ""]}
          rows={list.map((room) => ({
            key: room.room_id,
            cells: [
              <div key="k224">
                <span class="block font-semibold">{room.name ?? room.canonical_alias ?? "–"}</span>
                <span class="block text-xs break-all">{room.room_id}</span>
              </div>,
              num(room.joined_members),
              num(room.joined_local_members),
              t("eventsSize", {
                events: num(room.events ?? 0),
                size: bytes(room.size_bytes ?? 0),
              }),
              <OpenBtn
                key="k234"
                label={t("openRoom", { room: room.name ?? room.room_id })}
                onClick={() => setSelected(room.room_id)}
              />,
            ],
          }))}
        />
        <More
          show={(rooms.data?.total_rooms ?? 0) > list.length}
          onMore={pages.more}
        />
      </Panel>
      {selected && <RoomDetail key={selected} roomId={selected} onChanged={changed} />}
    </>
  );
}
